"""The sample rate every speech model works at, and resampling of mono audio to it (soxr)."""

from __future__ import annotations

import numpy as np

__all__ = ["RATE"]

RATE = 16_000


def _to_rate(x: np.ndarray, sample_rate: int) -> np.ndarray:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    if sample_rate == RATE or x.size == 0:
        return x
    import soxr

    return soxr.resample(x, int(sample_rate), RATE).astype(np.float32, copy=False)
