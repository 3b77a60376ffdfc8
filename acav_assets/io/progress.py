"""Progress of a loop over a shard's clips: clips done, seconds of audio per second of wall time
and, when the number of clips is known, the time left; every ``every_s`` seconds and once at the end.

Decoding, tagging, every per-clip expert and the captions report the same numbers in the same words,
so a slow stage reads the same way in every run's log. Each report goes to the run's log and to the
``acav_assets.progress`` logger, which the CLI shows live; the final report carries the stage's
totals (``record.stage_totals``) for benchmarks.
"""

from __future__ import annotations

import logging
import time

__all__ = ["PROGRESS_LOGGER", "ShardProgress"]

PROGRESS_LOGGER = "acav_assets.progress"
logger = logging.getLogger(PROGRESS_LOGGER)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


class ShardProgress:
    """Counts clips and their audio seconds as ``name`` goes through a shard (``total`` clips
    when known) and logs the rate to ``log``."""

    def __init__(self, name: str, total: int | None = None, log: logging.Logger = logger,
                 every_s: float = 15.0) -> None:
        self.name = name
        self.total = total
        self.log = log
        self.every_s = every_s
        self.clips = 0
        self.audio_seconds = 0.0
        self.started = self._last_report = time.monotonic()

    def _report(self, message: str, *args, totals: dict | None = None) -> None:
        self.log.info(message, *args)
        if self.log is not logger:
            logger.info(message, *args, extra={"stage_totals": totals} if totals else None)

    def add(self, audio_seconds: float, clips: int = 1) -> None:
        """Count ``clips`` more clips holding ``audio_seconds`` of audio; log when a report is due."""
        self.clips += clips
        self.audio_seconds += audio_seconds
        now = time.monotonic()
        if now - self._last_report < self.every_s:
            return
        self._last_report = now
        elapsed = max(now - self.started, 1e-9)
        done, left = str(self.clips), ""
        if self.total:
            done = f"{self.clips}/{self.total}"
            left = f", about {_duration((self.total - self.clips) * elapsed / self.clips)} left"
        self._report("%s: %s clips, %.0f s of audio, %.1f audio-s per s%s",
                     self.name, done, self.audio_seconds, self.audio_seconds / elapsed, left)

    def finish(self, failed: int) -> None:
        """Log the totals, with the number of clips that ``failed``."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        totals = {"stage": self.name, "clips": self.clips, "failed": failed, "audio_seconds": self.audio_seconds,
                  "seconds": elapsed}
        self._report("%s: %d clips (%d failed), %.0f s of audio in %.1f s (%.1f audio-s per s)",
                     self.name, self.clips, failed, self.audio_seconds, elapsed, self.audio_seconds / elapsed,
                     totals=totals)
