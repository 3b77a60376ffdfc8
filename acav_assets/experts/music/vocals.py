"""Vocals of a music clip: singing evidence, REPET-SIM separation, vocal presence and sung words.

The tagger decides whether vocals are worth looking at. ``vocal_presence`` blends the best
singing-related tag score with the separated vocal energy share, and ``has_vocals`` needs it
at 0.5; below ``MIN_SINGING_SCORE`` no energy share can get there, so the separation is not
run at all and the presence is the tag score alone (as for a silent clip).

Separation: a REPET-SIM style split of the harmonic part of the shared spectrogram (what
does not repeat over the clip is foreground), restricted to the voice band. The energy share
alone cannot tell a voice from a lead instrument, which is why the tags gate it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import librosa
import numpy as np

from acav_assets.experts.music.labels import VOCAL_LABELS

__all__ = [
    "HAS_VOCALS_THRESHOLD",
    "MIN_SINGING_SCORE",
    "VOCAL_ANALYSIS_STATES",
    "singing_score",
    "transcribe_vocals",
    "vocal_mask",
    "vocal_presence",
]

# REPET-SIM neighbours lie at least this far apart in time (a quarter of the clip when shorter),
# and the median of the ~2*sqrt(candidates) most similar frames is the repeating part.
_REPEAT_MIN_GAP_S = 2.0
_MAX_NEIGHBOURS = 41  # the cap only bites beyond ~10 s clips
_FRAME_BLOCK = 512
_VOCAL_MARGIN = 1.0  # soft mask: foreground^2 / (foreground^2 + (margin x repeating)^2)
_VOICE_BAND_HZ = (80.0, 150.0)  # vocal mask ramps from 0 to 1 over this range

# vocal_presence = 0.7 x max(singing-related tag scores) + 0.3 x min(vocal energy share / 0.3, 1);
# the tag score alone when the energy share is not measured. has_vocals: presence >= 0.5, i.e.
# a singing tag of about 0.72 on its own, or about 0.29 with a vocal energy share of 0.3 or more.
_VOCAL_TAG_WEIGHT = 0.7
_VOCAL_ENERGY_FULL = 0.3
HAS_VOCALS_THRESHOLD = 0.5
# Below this singing score has_vocals is false whatever the energy share: no separation.
MIN_SINGING_SCORE = (HAS_VOCALS_THRESHOLD - (1.0 - _VOCAL_TAG_WEIGHT)) / _VOCAL_TAG_WEIGHT

# Why vocal_energy_ratio is or is not measured (the ``vocal_analysis`` column).
SEPARATED = "separated"
NO_SINGING_TAGS = "no_singing_tags"  # singing score below MIN_SINGING_SCORE
NO_TAGS = "no_tags"  # no tagger scores given
SILENT_OR_SHORT = "silent_or_short"
VOCAL_ANALYSIS_STATES = (SEPARATED, NO_SINGING_TAGS, NO_TAGS, SILENT_OR_SHORT)

_ASR_RATE = 16_000
_ASR_PAD_S = 0.2  # VAD regions are widened by this before ASR, as the speech expert does


def singing_score(tags: Mapping[str, float] | None) -> float | None:
    """Best singing-related tag score in [0, 1]; None without tags."""
    if tags is None:
        return None
    return float(np.clip(max((tags.get(label, 0.0) for label in VOCAL_LABELS), default=0.0), 0.0, 1.0))


def vocal_presence(singing: float | None, energy_ratio: float | None) -> float | None:
    """Blend of singing-tag evidence and separated vocal energy (see ``_VOCAL_TAG_WEIGHT``)."""
    if energy_ratio is None:
        return singing
    energy = min(energy_ratio / _VOCAL_ENERGY_FULL, 1.0)
    # Without tags the singing term is 0: vocal energy alone cannot tell a voice from a lead instrument.
    return _VOCAL_TAG_WEIGHT * (singing or 0.0) + (1.0 - _VOCAL_TAG_WEIGHT) * energy


def _softmask(foreground: np.ndarray, background: np.ndarray, power: float = 2.0) -> np.ndarray:
    """Wiener-like soft mask f^p / (f^p + b^p), 0 where both are 0."""
    f, b = foreground**power, background**power
    total = f + b
    return np.divide(f, total, out=np.zeros_like(total), where=total > 0)


def _repeating_part(magnitude: np.ndarray, min_gap: int) -> np.ndarray:
    """REPET-SIM: per frame, the median of its most similar frames at least ``min_gap`` frames away.

    Cosine similarity between magnitude frames picks the neighbours; the median over them
    keeps what repeats (accompaniment) and drops what is unique to the frame (a voice).
    """
    n_frames = magnitude.shape[1]
    norms = np.linalg.norm(magnitude, axis=0)
    unit = magnitude / np.where(norms > 0, norms, 1.0)
    similarity = unit.T @ unit
    near = np.tri(n_frames, n_frames, min_gap - 1, dtype=bool) & ~np.tri(n_frames, n_frames, -min_gap, dtype=bool)
    similarity[near] = -np.inf  # |i - j| < min_gap
    eligible = n_frames - 2 * min_gap + 1  # fewest frames any one frame may be compared with
    k = min(2 * math.ceil(math.sqrt(eligible)) + 1, _MAX_NEIGHBOURS, eligible)
    k -= 1 - k % 2  # odd, so the median is one order statistic (a single partition)
    neighbours = np.argpartition(-similarity, k - 1, axis=1)[:, :k]  # (frames, k)
    repeating = np.empty_like(magnitude)
    for start in range(0, n_frames, _FRAME_BLOCK):  # bounds the (bins, frames, k) gather for long input
        block = magnitude[:, neighbours[start : start + _FRAME_BLOCK]]
        repeating[:, start : start + _FRAME_BLOCK] = np.partition(block, k // 2, axis=2)[:, :, k // 2]
    return np.minimum(magnitude, repeating)


def vocal_mask(magnitude: np.ndarray, harmonic_mask: np.ndarray, sample_rate: int, n_fft: int,
               hop: int) -> np.ndarray:
    """Soft mask of the vocal part of a (bins, frames) magnitude: harmonic x non-repeating x voice band."""
    n_frames = magnitude.shape[1]
    min_gap = min(round(_REPEAT_MIN_GAP_S * sample_rate / hop), n_frames // 4)
    if min_gap < 1:
        return np.zeros_like(magnitude)
    harmonic = magnitude * harmonic_mask
    repeating = _repeating_part(harmonic, min_gap)
    foreground = _softmask(harmonic - repeating, _VOCAL_MARGIN * repeating)
    freqs = librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft)
    low, high = _VOICE_BAND_HZ
    band = np.clip((freqs - low) / (high - low), 0.0, 1.0)[:, None]
    return harmonic_mask * foreground * band


def _widened(spans: list[tuple[float, float]], pad: float, duration: float) -> list[tuple[float, float]]:
    """Each span padded by ``pad`` within the clip, overlaps merged."""
    out: list[list[float]] = []
    for start, end in spans:
        start, end = max(0.0, start - pad), min(duration, end + pad)
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(start, end) for start, end in out]


def transcribe_vocals(vocals: np.ndarray, vad, asr, sample_rate: int = _ASR_RATE) -> dict:
    """Sung words of a separated vocal track: ``{"transcript", "language", "speech_seconds"}``.

    ``vad`` (a ``VoiceActivityDetector``) finds the voiced regions; ``asr`` (a
    ``SpeechRecognizer``) transcribes them, widened and joined, and is not called when there
    are none. Pitch and voice gender, which no music caption uses, are not measured.
    """
    x = np.asarray(vocals, dtype=np.float32)
    if sample_rate != _ASR_RATE:
        x = librosa.resample(x, orig_sr=sample_rate, target_sr=_ASR_RATE)
    spans = [(float(s), float(e)) for s, e in vad.segments(x, _ASR_RATE)] if x.size else []
    seconds = float(sum(e - s for s, e in spans))
    if seconds <= 0:
        return {"transcript": "", "language": None, "speech_seconds": 0.0}
    pieces = [x[round(s * _ASR_RATE) : round(e * _ASR_RATE)]
              for s, e in _widened(spans, _ASR_PAD_S, x.size / _ASR_RATE)]
    transcript = asr.transcribe(np.concatenate(pieces))
    return {"transcript": transcript.text, "language": transcript.language, "speech_seconds": round(seconds, 3)}
