"""Wall and CPU seconds per named part of an analysis, summed over calls (for benchmarks and logs)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

__all__ = ["PartTimes", "timed"]


class PartTimes:
    """``with times("hpss"): ...`` adds the block's wall and process-CPU seconds to ``wall["hpss"]``, ``cpu["hpss"]``.

    Not thread-safe: one instance per thread.
    """

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, part: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[part] = self.wall.get(part, 0.0) + time.perf_counter() - wall
            self.cpu[part] = self.cpu.get(part, 0.0) + time.process_time() - cpu


def timed(times: PartTimes | None, part: str) -> contextlib.AbstractContextManager:
    """``times(part)``, or a no-op when not measuring."""
    return contextlib.nullcontext() if times is None else times(part)
