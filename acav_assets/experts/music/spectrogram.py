"""One STFT per clip, shared by the onset envelope (tempo, beats), HPSS, vocal separation and tuning.

The STFT has an 8 ms hop, fine enough for tempo (about 1 BPM of lag resolution at 128 BPM);
every second frame of it is exactly the 16 ms-hop STFT that HPSS and separation use, so
the signal is transformed once.
"""

from __future__ import annotations

import math
from functools import cached_property, lru_cache

import librosa
import numpy as np
import scipy.sparse

__all__ = ["FRAME_S", "ONSET_HOP_S", "SharedSpectrogram"]

FRAME_S = 0.064  # STFT window (1024 samples at 16 kHz)
ONSET_HOP_S = 0.008
_ONSET_MELS = 64


class SharedSpectrogram:
    """The clip's complex STFT at an ``ONSET_HOP_S`` hop and what is derived from it."""

    def __init__(self, x: np.ndarray, sample_rate: int):
        self.sample_rate = sample_rate
        self.length = x.size
        self.n_fft = 1 << round(math.log2(FRAME_S * sample_rate))
        self.onset_hop = max(1, round(ONSET_HOP_S * sample_rate))
        self.stft = librosa.stft(x, n_fft=self.n_fft, hop_length=self.onset_hop)

    @property
    def hop(self) -> int:
        """Hop of the coarse (HPSS / separation) frames: every second onset frame."""
        return 2 * self.onset_hop

    @cached_property
    def coarse(self) -> np.ndarray:
        """Complex STFT at ``hop``: the same frames as ``librosa.stft(x, n_fft, hop)``."""
        return np.ascontiguousarray(self.stft[:, ::2])

    @cached_property
    def magnitude(self) -> np.ndarray:
        """|coarse|, float32."""
        return np.abs(self.coarse)

    @cached_property
    def onset_envelope(self) -> np.ndarray:
        """Mel spectral flux, as ``librosa.onset.onset_strength(y=x, n_mels=64, fmax=sr/2)`` with this STFT."""
        power = self.stft.real**2 + self.stft.imag**2
        log_mel = librosa.power_to_db(_mel_basis(self.sample_rate, self.n_fft) @ power)
        envelope = librosa.onset.onset_strength(S=log_mel, sr=self.sample_rate, n_fft=self.n_fft,
                                                hop_length=self.onset_hop)
        return envelope.astype(np.float64)

    @property
    def frame_rate(self) -> float:
        """Onset envelope frames per second."""
        return self.sample_rate / self.onset_hop


@lru_cache(maxsize=8)
def _mel_basis(sample_rate: int, n_fft: int) -> scipy.sparse.csr_array:
    """The onset envelope's mel filters, sparse: each band covers a few bins (10x faster than dense BLAS)."""
    dense = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=_ONSET_MELS, fmax=sample_rate / 2)
    return scipy.sparse.csr_array(dense)
