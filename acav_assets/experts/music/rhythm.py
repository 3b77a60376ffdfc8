"""Tempo, octave ambiguity, beat confidence and beat times from an onset envelope.

* **Tempo**: autocorrelation of the mel spectral-flux onset envelope (8 ms hop), weighted by a
  log-normal tempo prior centred on 120 BPM (1 octave wide) to pick the metrical level, with
  the peak lag refined by parabolic interpolation and then by a least-squares fit of the
  beat times that librosa's dynamic-programming beat tracker finds at that tempo.
* **Beat confidence**: the normalised (unbiased) autocorrelation of the onset envelope at the
  beat period, clipped to [0, 1]: about 1 for a steady pulse, about 0.1 for noise or speech;
  below 0.2 no tempo is reported.
"""

from __future__ import annotations

import math

import librosa
import numpy as np

__all__ = ["MAX_BPM", "MIN_BEAT_CONFIDENCE", "MIN_BPM", "rhythm"]

MIN_BPM, MAX_BPM = 40.0, 240.0
_PRIOR_BPM = 120.0
_PRIOR_OCTAVES = 1.0  # std of the log2-tempo prior
# Half or double tempo counts as an equally plausible reading when its prior-weighted
# autocorrelation reaches this share of the chosen one's.
_OCTAVE_AMBIGUITY = 0.8
_REFINE_TOLERANCE = 0.04  # beat-fit tempo replaces the autocorrelation one within 4 %
# Below this beat confidence there is no steady pulse (noise reads ~0.1, speech 0.05-0.2):
# tempo and beats are null / empty, beat_confidence is still reported.
MIN_BEAT_CONFIDENCE = 0.2


def _tempo_prior(bpm: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * (np.log2(bpm / _PRIOR_BPM) / _PRIOR_OCTAVES) ** 2)


def _interpolate(values: np.ndarray, position: float) -> float:
    """Linear interpolation of ``values`` at a fractional index (0 outside)."""
    if not 0 <= position <= values.size - 1:
        return 0.0
    return float(np.interp(position, np.arange(values.size), values))


def _normalised_autocorrelation(envelope: np.ndarray) -> np.ndarray | None:
    """Unbiased autocorrelation (r[0] = 1, every lag averaged over its overlap); None when flat."""
    n = envelope.size
    centred = envelope - envelope.mean()
    energy = float(np.dot(centred, centred))
    if energy <= 1e-12:
        return None
    spectrum = np.fft.rfft(centred, 2 * n)
    acf = np.fft.irfft(np.abs(spectrum) ** 2)[:n]
    return acf / (n - np.arange(n)) / (energy / n)


def rhythm(envelope: np.ndarray, frame_rate: float, sample_rate: int, hop: int) -> dict:
    """Tempo, octave ambiguity, beat confidence and beat times (empty dict when undefined).

    ``envelope`` is the onset strength at ``frame_rate`` frames per second (``hop`` samples
    at ``sample_rate``).
    """
    n = envelope.size
    min_lag = math.ceil(60.0 / MAX_BPM * frame_rate)
    max_lag = math.ceil(min(60.0 / MIN_BPM * frame_rate, n / 2))
    acf = _normalised_autocorrelation(envelope)
    if acf is None or max_lag <= min_lag + 2:
        return {}

    lags = np.arange(min_lag, max_lag + 1)
    candidates = lags[(acf[lags] >= acf[lags - 1]) & (acf[lags] > acf[lags + 1])]
    if candidates.size == 0:
        return {}
    weighted = acf[candidates] * _tempo_prior(60.0 * frame_rate / candidates)
    peak = int(candidates[np.argmax(weighted)])
    a, b, c = acf[peak - 1], acf[peak], acf[peak + 1]
    curvature = a - 2 * b + c
    offset = 0.5 * (a - c) / curvature if curvature < 0 else 0.0
    lag = peak + float(np.clip(offset, -0.5, 0.5))
    tempo = 60.0 * frame_rate / lag
    strength = min(max(_interpolate(acf, lag), 0.0), 1.0)
    if strength < MIN_BEAT_CONFIDENCE:  # no steady pulse: the best lag is noise
        return {"beat_confidence": strength}

    chosen_score = strength * float(_tempo_prior(np.array(tempo)))
    alternatives = []
    for factor in (2.0, 0.5):  # lag x2 = half tempo, lag /2 = double tempo
        alt_lag = lag * factor
        # The local maximum near the alternative lag, as the exact multiple may miss the peak.
        lo, hi = math.floor(alt_lag) - 1, math.ceil(alt_lag) + 2
        alt = float(acf[max(lo, 1):min(hi, n)].max()) if lo < n - 1 else 0.0
        alternatives.append(alt * float(_tempo_prior(np.array(tempo / factor))))
    ambiguous = chosen_score > 0 and max(alternatives) >= _OCTAVE_AMBIGUITY * chosen_score

    _, beats = librosa.beat.beat_track(
        onset_envelope=envelope, sr=sample_rate, hop_length=hop, bpm=tempo, units="time", trim=True
    )
    beats = np.asarray(beats, dtype=np.float64)
    if beats.size >= 4:
        period = 60.0 / tempo
        index = np.round((beats - beats[0]) / period)
        if np.ptp(index) > 0:
            fitted_period = float(np.polyfit(index, beats, 1)[0])
            if fitted_period > 0 and abs(period / fitted_period - 1.0) <= _REFINE_TOLERANCE:
                tempo = 60.0 / fitted_period
    return {
        "tempo_bpm": float(tempo),
        "tempo_octave_ambiguous": bool(ambiguous),
        "beat_confidence": strength,
        "beat_times_s": [round(float(t), 3) for t in beats],
    }
