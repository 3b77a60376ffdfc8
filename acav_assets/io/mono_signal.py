"""A mono clip as the signal experts take it: checked and converted once, and its loudness.

The acoustics, music and speech experts each take one 1-D clip and its sample rate and refuse,
with ``ValueError``, what they cannot measure. What differs between them (the lowest usable
rate, empty clips, non-float samples, a ``(1, n)`` array, the float width they compute in) is a
parameter of :func:`validated_mono`, so each keeps its own contract while the checks live once.
Acoustics and music report the same BS.1770 integrated loudness: :func:`integrated_loudness_lufs`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pyloudnorm

__all__ = ["integrated_loudness_lufs", "validated_mono"]


def validated_mono(
    audio: np.ndarray,
    sample_rate: int,
    *,
    min_rate: int = 1,
    dtype: type[np.floating] = np.float64,
    allow_empty: bool = False,
    floats_only: bool = True,
    squeeze: bool = False,
) -> np.ndarray:
    """``audio`` as a 1-D ``dtype`` array of finite samples; ``ValueError`` for anything else.

    ``sample_rate`` must be an integer (not a bool) of at least ``min_rate``. ``allow_empty``
    lets a clip of no samples through; ``floats_only=False`` converts any samples numpy can
    cast to ``dtype`` instead of refusing non-float ones; ``squeeze`` takes a ``(1, n)`` or
    ``(n, 1)`` array as mono. Finiteness is checked after the conversion, so the samples
    returned are always finite.
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate < min_rate:
        raise ValueError(f"sample_rate must be an integer >= {min_rate}, got {sample_rate!r}")
    x = np.asarray(audio)
    if squeeze and x.ndim == 2 and 1 in x.shape:
        x = x.reshape(-1)
    if x.ndim != 1:
        raise ValueError(f"audio must be 1-D mono, got shape {x.shape}")
    if x.size == 0 and not allow_empty:
        raise ValueError("audio is empty")
    if x.size and floats_only and not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"audio must be float samples in [-1, 1], got dtype {x.dtype}")
    x = x.astype(dtype, copy=False)
    if not np.all(np.isfinite(x)):
        raise ValueError("audio contains NaN or infinite samples")
    return x


def integrated_loudness_lufs(x: np.ndarray, sample_rate: int) -> float | None:
    """Integrated loudness of a mono clip, ITU-R BS.1770 (pyloudnorm), in LUFS, measured in float64.

    ``None`` for a clip shorter than one 400 ms gating block, or one gated out entirely (silence).
    """
    meter = pyloudnorm.Meter(sample_rate)
    if x.size < meter.block_size * sample_rate:
        return None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        lufs = float(meter.integrated_loudness(np.asarray(x, dtype=np.float64)))
    return lufs if math.isfinite(lufs) else None
