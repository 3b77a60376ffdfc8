"""The CLI's side of its run workers (``defs/run_worker.py``): a few long-lived processes that
execute many runs each, so that models load once per worker rather than once per shard.

A worker that dies (a native crash, the kernel's OOM killer) fails only the run it was in; the
next run starts a fresh worker. Progress reports from the stages are shown as they arrive, and
after each run the pool says how many are left and about how long they will take.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

STDERR_LINES = 20
WORKER_COMMAND = (sys.executable, "-m", "acav_assets.defs.run_worker")


@dataclass(frozen=True)
class RunRequest:
    """One run: a selection in Dagster's selection syntax, for one partition or none."""

    selection: str
    partition: str | None = None
    label: str = ""


@dataclass
class RunOutcome:
    request: RunRequest
    success: bool
    seconds: float
    problems: list[str] = field(default_factory=list)
    run_id: str | None = None


class _Worker:
    def __init__(self, command: Sequence[str]) -> None:
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(list(command), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.stderr, text=True, bufsize=1)

    def run(self, request: RunRequest, show: Callable[[str], None], stages: list[dict]) -> RunOutcome:
        started = time.monotonic()
        try:
            self.process.stdin.write(json.dumps({"selection": request.selection, "partition": request.partition}) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the worker is gone; reported below
        for line in self.process.stdout:
            message = json.loads(line)
            if message["event"] == "progress":
                show(f"  {request.label}: {message['text']}")
                if message.get("totals"):
                    stages.append({"run": request.label, **message["totals"]})
            elif message["event"] == "done":
                return RunOutcome(request, message["success"], time.monotonic() - started, message["problems"],
                                  message["run_id"])
        code = self.process.wait()
        return RunOutcome(request, False, time.monotonic() - started,
                          [f"the worker process died (exit code {code}); its last output:", *self.stderr_tail()])

    def alive(self) -> bool:
        return self.process.poll() is None

    def stderr_tail(self) -> list[str]:
        self.stderr.seek(0)
        return [f"  {line}" for line in self.stderr.read().splitlines()[-STDERR_LINES:]]

    def close(self) -> None:
        if self.alive():
            self.process.stdin.close()
            self.process.wait()
        self.stderr.close()


class RunPool:
    """``workers`` worker processes, started on first use and kept until :meth:`close`."""

    def __init__(self, workers: int = 1, show: Callable[[str], None] = print,
                 command: Sequence[str] = WORKER_COMMAND) -> None:
        self.size = max(1, workers)
        self.show = show
        self.command = command
        self.stage_totals: list[dict] = []  # each stage's final report: clips, audio and wall seconds
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def __enter__(self) -> RunPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._idle:
            worker.close()
        self._idle.clear()

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
                worker.close()
        return _Worker(self.command)

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if worker.alive():
                self._idle.append(worker)
            else:
                worker.close()

    def run(self, requests: Sequence[RunRequest]) -> list[RunOutcome]:
        """Execute ``requests`` on up to ``workers`` processes at once; outcomes in request order."""
        pending = list(enumerate(requests))
        outcomes: dict[int, RunOutcome] = {}
        started = time.monotonic()

        def serve() -> None:
            while True:
                with self._lock:
                    if not pending:
                        return
                    index, request = pending.pop(0)
                worker = self._take()
                outcome = worker.run(request, self.show, self.stage_totals)
                self._give_back(worker)
                with self._lock:
                    outcomes[index] = outcome
                    self._report(outcome, len(outcomes), len(requests), time.monotonic() - started)

        threads = [threading.Thread(target=serve, daemon=True) for _ in range(min(self.size, len(requests)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [outcomes[i] for i in range(len(requests))]

    def _report(self, outcome: RunOutcome, done: int, total: int, elapsed: float) -> None:
        label = outcome.request.label or outcome.request.selection
        if outcome.success:
            line = f"materialised {label} in {outcome.seconds:.0f} s"
        else:
            line = f"FAILED {label} after {outcome.seconds:.0f} s:\n" + "\n".join(f"  {p}" for p in outcome.problems)
        if total > 1:
            left = total - done
            line += f" [{done}/{total}" + (f", about {elapsed / done * left:.0f} s left]" if left else "]")
        self.show(line)
