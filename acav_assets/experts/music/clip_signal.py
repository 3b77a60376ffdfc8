"""Input checks shared by the music analyses: validated mono samples and whether a clip can be analysed."""

from __future__ import annotations

import math

import numpy as np

from acav_assets.io.mono_signal import validated_mono

__all__ = ["MIN_SECONDS", "SILENCE_DBFS", "is_analysable", "validated"]

SILENCE_DBFS = -60.0  # as the acoustics expert: quieter clips carry no analysable content
MIN_SECONDS = 0.5  # shorter clips get no tempo, key, HPSS or vocal measures


def validated(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Float32 mono samples; empty clips and any numeric dtype pass, rates below 4 kHz do not."""
    return validated_mono(audio, sample_rate, min_rate=4000, dtype=np.float32, allow_empty=True, floats_only=False)


def _rms_dbfs(x: np.ndarray) -> float:
    mean_square = float(np.mean(np.square(x, dtype=np.float64))) if x.size else 0.0
    return 10.0 * math.log10(2.0 * mean_square) if mean_square > 0 else -math.inf  # AES17


def is_analysable(x: np.ndarray, sample_rate: int) -> bool:
    """At least ``MIN_SECONDS`` long and at least ``SILENCE_DBFS`` loud."""
    return x.size >= MIN_SECONDS * sample_rate and _rms_dbfs(x) >= SILENCE_DBFS
