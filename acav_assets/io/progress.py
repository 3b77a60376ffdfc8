"""Progress of a loop over a shard's clips in the run log: clips done and seconds of audio per
second of wall time, every ``every_s`` seconds and once at the end.

Decoding, tagging and every per-clip expert report the same numbers in the same words, so a
slow stage reads the same way in every run's log.
"""

from __future__ import annotations

import logging
import time

__all__ = ["ShardProgress"]

logger = logging.getLogger(__name__)


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

    def add(self, audio_seconds: float, clips: int = 1) -> None:
        """Count ``clips`` more clips holding ``audio_seconds`` of audio; log when a report is due."""
        self.clips += clips
        self.audio_seconds += audio_seconds
        now = time.monotonic()
        if now - self._last_report >= self.every_s:
            self._last_report = now
            done = self.clips if self.total is None else f"{self.clips}/{self.total}"
            self.log.info("%s: %s clips, %.0f s of audio, %.1f audio-s per s",
                          self.name, done, self.audio_seconds, self.audio_seconds / max(now - self.started, 1e-9))

    def finish(self, failed: int) -> None:
        """Log the totals, with the number of clips that ``failed``."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        self.log.info("%s: %d clips (%d failed), %.0f s of audio in %.1f s (%.1f audio-s per s)",
                      self.name, self.clips, failed, self.audio_seconds, elapsed, self.audio_seconds / elapsed)
