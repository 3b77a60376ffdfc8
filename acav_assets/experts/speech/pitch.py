"""Pitch statistics of speech: F0 median, 10th and 90th percentiles and voiced ratio (librosa pYIN)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from acav_assets.experts.speech.resampling import RATE, _to_rate

__all__ = ["PitchStats", "measure_pitch"]

PITCH_FMIN_HZ = 60.0
PITCH_FMAX_HZ = 400.0
_PITCH_FRAME = 1024  # 64 ms: two periods of the 60 Hz floor fit
_PITCH_HOP = 320  # 20 ms; halves pyin's cost against 10 ms with the same statistics
# Quarter-semitone pitch bins: pyin's Viterbi runs over a third of the default's states (3x faster
# on speech), percentiles within 1 % of the 0.1-semitone default; a few weak frames fewer count as voiced.
_PITCH_RESOLUTION = 0.25


class PitchStats(NamedTuple):
    median_hz: float | None
    p10_hz: float | None
    p90_hz: float | None
    voiced_ratio: float | None


def measure_pitch(
    audio: np.ndarray, sample_rate: int = RATE, segments: Sequence[tuple[float, float]] | None = None
) -> PitchStats:
    """F0 statistics (pYIN, 60-400 Hz) over ``segments`` (default: the whole clip).

    ``voiced_ratio`` is the fraction of analysed 20 ms frames pYIN calls voiced. Regions
    shorter than one 64 ms analysis frame are skipped; all ``None`` when nothing was analysed.
    """
    import librosa

    x = _to_rate(np.asarray(audio, dtype=np.float32).reshape(-1), sample_rate)
    if segments is None:
        segments = [(0.0, x.size / RATE)]
    f0s, voiced_flags = [], []
    for start, end in segments:
        chunk = x[int(round(start * RATE)) : int(round(end * RATE))]
        if chunk.size < _PITCH_FRAME:
            continue
        f0, voiced, _ = librosa.pyin(
            chunk, fmin=PITCH_FMIN_HZ, fmax=PITCH_FMAX_HZ, sr=RATE,
            frame_length=_PITCH_FRAME, hop_length=_PITCH_HOP, resolution=_PITCH_RESOLUTION,
        )
        f0s.append(f0)
        voiced_flags.append(voiced)
    if not f0s:
        return PitchStats(None, None, None, None)
    f0 = np.concatenate(f0s)
    voiced = np.concatenate(voiced_flags) & np.isfinite(f0)
    voiced_ratio = float(np.count_nonzero(voiced)) / voiced.size
    if not voiced.any():
        return PitchStats(None, None, None, voiced_ratio)
    p10, median, p90 = np.percentile(f0[voiced], [10, 50, 90])
    return PitchStats(float(median), float(p10), float(p90), voiced_ratio)
