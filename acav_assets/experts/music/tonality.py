"""Key and mode: energy-weighted CQT chroma of the clip against the Krumhansl-Kessler key profiles.

The summed chroma is correlated (Pearson) with the 24 rotations of the major and minor
profiles; the best key wins and its correlation (clipped to [0, 1]) is the confidence; below
0.5 (drums, clicks) no key is named. Relative and dominant keys are the usual confusions.
The whole signal is used: broadband drums and noise add a near-constant chroma offset, to
which Pearson's r is blind. A nearly flat chroma (no pitched content) has no key.
"""

from __future__ import annotations

import functools
import math

import librosa
import numpy as np

__all__ = ["MIN_CHROMA_CONTRAST", "MIN_KEY_CONFIDENCE", "PITCH_CLASSES", "key"]

# A summed chroma whose std/mean is below this is flat (applause, noise): no key at all.
MIN_CHROMA_CONTRAST = 0.1
# Below this correlation no key is named (key_confidence is still reported): drum kits and
# clicks read about 0.3, speech 0.3-0.7, tonal music 0.7-0.97.
MIN_KEY_CONFIDENCE = 0.5
# Krumhansl & Kessler (1982) probe-tone key profiles, tonic first.
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_FMIN = 32.70319566257483  # C1, Hz
_BINS_PER_OCTAVE = 36
PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def _zscore(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = x - x.mean(axis=axis, keepdims=True)
    return x / np.linalg.norm(x, axis=axis, keepdims=True)


# Rows: C major ... B major, C minor ... B minor; each z-scored so that a dot product with a
# z-scored chroma vector is Pearson's r.
_KEY_PROFILES = _zscore(
    np.stack([np.roll(_KK_MAJOR, k) for k in range(12)] + [np.roll(_KK_MINOR, k) for k in range(12)])
)


def chroma_profile(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Summed magnitude CQT chroma of the clip, C first: ``librosa.feature.chroma_cqt(y=x, hop_length≈32 ms,
    fmin=C1, n_octaves≤7, norm=None).sum(axis=1)`` up to float rounding, without rebuilding the filters per clip."""
    n_octaves = min(7, math.floor(math.log2(0.45 * sample_rate / _FMIN)))
    hop = 1 << round(math.log2(0.032 * sample_rate))
    tuning = float(librosa.estimate_tuning(y=x, sr=sample_rate, bins_per_octave=_BINS_PER_OCTAVE))
    magnitudes = _cqt_magnitude_sums(x, float(sample_rate), hop, n_octaves, tuning)
    to_chroma = librosa.filters.cq_to_chroma(magnitudes.size, bins_per_octave=_BINS_PER_OCTAVE, n_chroma=12, fmin=_FMIN)
    return to_chroma @ magnitudes


def _cqt_magnitude_sums(x: np.ndarray, sample_rate: float, hop: int, n_octaves: int, tuning: float) -> np.ndarray:
    """Per CQT bin (lowest first), |librosa.cqt(x, hop, fmin=C1, 36 bins per octave, tuning)| summed over frames.

    As librosa does: optional early downsampling, then octave by octave from the top, the
    same filters on the signal halved in rate each time (the hop is a power of two, so it
    halves exactly).
    """
    y, rate = x, sample_rate
    nyquist = sample_rate / 2.0
    _, cutoff = _bin_lengths(sample_rate, tuning, n_octaves)
    early = min(max(0, int(np.ceil(np.log2(nyquist / cutoff)) - 1) - 1),
                max(0, _two_factors(hop) - n_octaves + 1))
    if early > 0:
        factor = 2**early
        y = librosa.resample(y, orig_sr=factor, target_sr=1, res_type="soxr_hq", scale=True)
        rate, hop = sample_rate / factor, hop // factor
    basis, n_fft = _top_octave_filters(rate, tuning, n_octaves)
    octave_rate, responses = rate, []
    for octave in range(n_octaves):
        if octave:
            hop //= 2
            octave_rate /= 2.0
            y = librosa.resample(y, orig_sr=2, target_sr=1, res_type="soxr_hq", scale=True)
        spectrum = librosa.stft(y, n_fft=n_fft, hop_length=hop, window="ones", pad_mode="constant")
        responses.append(np.abs(basis.dot(spectrum) * np.sqrt(rate / octave_rate)))
    frames = min(response.shape[1] for response in responses)
    sums = np.concatenate([response[:, :frames].sum(axis=1) for response in reversed(responses)])
    lengths, _ = _bin_lengths(rate, tuning, n_octaves)
    return sums / np.sqrt(lengths)


def _two_factors(n: int) -> int:
    count = 0
    while n > 0 and n % 2 == 0:
        n //= 2
        count += 1
    return count


def _frequencies(tuning: float, n_octaves: int) -> tuple[np.ndarray, np.ndarray]:
    """CQT bin frequencies and their relative bandwidths, as librosa's ``vqt`` computes them."""
    freqs = librosa.interval_frequencies(n_bins=n_octaves * _BINS_PER_OCTAVE,
                                         fmin=_FMIN * 2.0 ** (tuning / _BINS_PER_OCTAVE), intervals="equal",
                                         bins_per_octave=_BINS_PER_OCTAVE, sort=True)
    log_f = np.log2(freqs)
    local_bpo = np.empty_like(freqs)
    local_bpo[0], local_bpo[-1] = 1 / (log_f[1] - log_f[0]), 1 / (log_f[-1] - log_f[-2])
    local_bpo[1:-1] = 2 / (log_f[2:] - log_f[:-2])
    return freqs, (2.0 ** (2 / local_bpo) - 1) / (2.0 ** (2 / local_bpo) + 1)


def _bin_lengths(sample_rate: float, tuning: float, n_octaves: int) -> tuple[np.ndarray, float]:
    freqs, alpha = _frequencies(tuning, n_octaves)
    return librosa.filters.wavelet_lengths(freqs=freqs, sr=sample_rate, window="hann", filter_scale=1, gamma=0,
                                           alpha=alpha)


@functools.lru_cache(maxsize=128)  # tunings are estimated in steps of 0.01 bin: at most 100 per rate
def _top_octave_filters(sample_rate: float, tuning: float, n_octaves: int):
    """Sparse FFT-domain filters of the top CQT octave and their FFT size (librosa's construction)."""
    freqs, alpha = _frequencies(tuning, n_octaves)
    top = slice(-_BINS_PER_OCTAVE, None)
    basis, lengths = librosa.filters.wavelet(freqs=freqs[top], sr=sample_rate, filter_scale=1, norm=1,
                                             pad_fft=True, window="hann", gamma=0, alpha=alpha[top])
    n_fft = basis.shape[1]
    basis *= lengths[:, np.newaxis] / float(n_fft)
    fft_basis = librosa.get_fftlib().fft(basis, n=n_fft, axis=1)[:, : n_fft // 2 + 1]
    return librosa.util.sparsify_rows(fft_basis, quantile=0.01, dtype=np.complex64), n_fft


def key_of_profile(profile: np.ndarray) -> dict:
    """``musical_key``, ``mode`` and ``key_confidence`` of a summed chroma (empty when flat)."""
    mean = float(profile.mean())
    if not (np.all(np.isfinite(profile)) and mean > 0) or profile.std() / mean < MIN_CHROMA_CONTRAST:
        return {}
    scores = _KEY_PROFILES @ _zscore(profile)
    best = int(np.argmax(scores))
    confidence = float(np.clip(scores[best], 0.0, 1.0))
    if confidence < MIN_KEY_CONFIDENCE:
        return {"key_confidence": confidence}
    return {
        "musical_key": PITCH_CLASSES[best % 12],
        "mode": "major" if best < 12 else "minor",
        "key_confidence": confidence,
    }


def key(x: np.ndarray, sample_rate: int) -> dict:
    """Best Krumhansl-Kessler key of the clip (empty when undefined)."""
    return key_of_profile(chroma_profile(x, sample_rate))
