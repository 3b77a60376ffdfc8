"""The music expert as it was before issue 16, kept only as the slow side of speed benchmarks.

Every clip gets its own STFT for the onset envelope, another for HPSS and separation and a
third inside the CQT chroma; scipy's median filters; the CQT filters rebuilt per clip; and the
REPET-SIM vocal separation on every clip whatever the tags say. Its numbers equal the current
expert's except for the vocal fields that the current one leaves out without singing evidence.
Nothing in the pipeline uses it.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping

import librosa
import numpy as np
import pyarrow as pa

# The tag label lists and their helpers did not change: the current expert's are used.
from acav_assets.experts.music.labels import (
    GENRE_LABELS,
    INSTRUMENT_LABELS,
    MOOD_LABELS,
    VOCAL_LABELS,
    clean_scores,
    labels_above,
)
from acav_assets.io.mono_signal import integrated_loudness_lufs, validated_mono
from acav_assets.io.table_fields import described_field as _field

__all__ = ["analyse_music", "analyse_music_and_vocals", "naive_music_seconds", "separate_vocals"]

# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------

SILENCE_DBFS = -60.0  # as the acoustics expert: quieter clips carry no analysable content
MIN_SECONDS = 0.5  # shorter clips get no tempo, key, HPSS or vocal measures

_FRAME_S = 0.064  # STFT window for HPSS, separation (1024 samples at 16 kHz), hop = 1/4
_ONSET_HOP_S = 0.008  # onset envelope hop: 8 ms gives ~1 BPM lag resolution at 128 BPM
_ONSET_MELS = 64

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

_HPSS_KERNEL = 31  # frames (~0.5 s) x bins (~480 Hz) of the median filters

# REPET-SIM neighbours lie at least this far apart in time (a quarter of the clip when shorter),
# and the median of the ~2*sqrt(candidates) most similar frames is the repeating part.
_REPEAT_MIN_GAP_S = 2.0
_MAX_NEIGHBOURS = 41  # the cap only bites beyond ~10 s clips
_FRAME_BLOCK = 512
_VOCAL_MARGIN = 1.0  # soft mask: foreground^2 / (foreground^2 + (margin x repeating)^2)
_VOICE_BAND_HZ = (80.0, 150.0)  # vocal mask ramps from 0 to 1 over this range

# vocal_presence = 0.7 x max(singing-related tag scores) + 0.3 x min(vocal energy share / 0.3, 1)
# (singing term 0 without tags; tag term alone when the energy is undefined). has_vocals:
# presence >= 0.5, i.e. a singing tag of about 0.72 on its own, or about 0.29 with a vocal
# energy share of 0.3 or more. Tags are needed: the energy term alone stays below 0.5.
_VOCAL_TAG_WEIGHT = 0.7
_VOCAL_ENERGY_FULL = 0.3
HAS_VOCALS_THRESHOLD = 0.5

# A summed chroma whose std/mean is below this is flat (applause, noise): no key at all.
MIN_CHROMA_CONTRAST = 0.1
# Below this correlation no key is named (key_confidence is still reported): drum kits and
# clicks read about 0.3, speech 0.3-0.7, tonal music 0.7-0.97.
MIN_KEY_CONFIDENCE = 0.5
# Krumhansl & Kessler (1982) probe-tone key profiles, tonic first.
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def _zscore(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = x - x.mean(axis=axis, keepdims=True)
    return x / np.linalg.norm(x, axis=axis, keepdims=True)


# Rows: C major ... B major, C minor ... B minor; each z-scored so that a dot product with a
# z-scored chroma vector is Pearson's r.
_KEY_PROFILES = _zscore(
    np.stack([np.roll(_KK_MAJOR, k) for k in range(12)] + [np.roll(_KK_MINOR, k) for k in range(12)])
)

# --------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------

_LABEL_LIST = pa.list_(pa.struct([pa.field("label", pa.string()), pa.field("score", pa.float64())]))


MUSIC_FIELDS: list[pa.Field] = [
    _field("tempo_bpm", pa.float64(), "BPM",
           "Tempo from the onset-envelope autocorrelation (log-normal prior at 120 BPM picks the "
           "metrical level), refined by a least-squares fit of the tracked beats; null when silent, "
           "shorter than 0.5 s or without a steady pulse (beat_confidence < 0.2)."),
    _field("tempo_octave_ambiguous", pa.bool_(), "flag",
           "True when half or double the tempo scores at least 80 % of the chosen tempo "
           "(prior-weighted autocorrelation): the metrical level is uncertain. Null with tempo."),
    _field("beat_confidence", pa.float64(), "score [0,1]",
           "Normalised onset-envelope autocorrelation at the beat period, clipped to [0, 1]: ~1 for "
           "a steady pulse, ~0.1 for noise or speech. Null when silent or shorter than 0.5 s."),
    _field("beat_times_s", pa.list_(pa.float64()), "s",
           "Beat times from librosa's dynamic-programming beat tracker at the estimated tempo; "
           "empty when there is no tempo."),
    _field("musical_key", pa.string(), "pitch class",
           "Tonic of the best-matching key, one of C C# D Eb E F F# G Ab A Bb B; null when silent, "
           "too short, without pitched content (summed chroma std/mean < 0.1) or when key_confidence < 0.5."),
    _field("mode", pa.string(), "major | minor", "Mode of the best-matching key; null with key."),
    _field("key_confidence", pa.float64(), "Pearson r [0,1]",
           "Pearson correlation of the energy-weighted (summed magnitude) CQT chroma with the "
           "best of the 24 rotated Krumhansl-Kessler profiles, clipped at 0. Relative major/minor "
           "keys often score close. Null when silent, too short or the chroma is flat."),
    _field("loudness_lufs", pa.float64(), "LUFS",
           "Integrated loudness, ITU-R BS.1770 (pyloudnorm); null for clips under 0.4 s or fully gated."),
    _field("harmonic_ratio", pa.float64(), "fraction",
           "Share of the spectrogram energy in the harmonic part of a soft-mask HPSS "
           "(harmonic_ratio + percussive_ratio = 1); null when silent or too short."),
    _field("percussive_ratio", pa.float64(), "fraction",
           "Share of the spectrogram energy in the percussive part of the HPSS; null with harmonic_ratio."),
    _field("vocal_energy_ratio", pa.float64(), "fraction",
           "Share of the spectrogram energy in the separated vocal part (non-repeating harmonic "
           "voice-band foreground, REPET-SIM style); lead instruments count too. Null when silent or too short."),
    _field("vocal_presence", pa.float64(), "score [0,1]",
           "0.7 x max singing-related tag score (Singing, Choir, Rapping, Vocal music, A capella, ...) "
           "+ 0.3 x min(vocal_energy_ratio / 0.3, 1); singing term 0 when no tags are given, tag term "
           "alone when the energy is undefined; null when neither is available."),
    _field("has_vocals", pa.bool_(), "flag", "vocal_presence >= 0.5 (false when vocal_presence is null)."),
    _field("genres", _LABEL_LIST, "tag score",
           "AudioSet 'Music genre' classes scoring above the label threshold, best first."),
    _field("moods", _LABEL_LIST, "tag score",
           "AudioSet 'Music mood' classes scoring above the label threshold, best first."),
    _field("instruments", _LABEL_LIST, "tag score",
           "AudioSet 'Musical instrument' classes scoring above the label threshold, best first."),
]

# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def analyse_music(
    audio: np.ndarray,
    sample_rate: int = 16000,
    tag_scores: Mapping[str, float] | None = None,
    label_threshold: float = 0.1,
) -> dict:
    """All music measures of one mono clip, keyed and ordered as ``MUSIC_FIELDS``.

    ``tag_scores`` maps AudioSet display names to clip-level probabilities (the tagger's
    output); only the music-subtree and singing-related classes are used. Never raises on
    finite 1-D input, silent, very short or non-music clips included; raises ``ValueError``
    for multi-dimensional or non-finite input or a bad sample rate.
    """
    x = _validated(audio, sample_rate)
    result: dict = {field.name: None for field in MUSIC_FIELDS}
    result["beat_times_s"] = []
    result["loudness_lufs"] = integrated_loudness_lufs(x, sample_rate)

    analysable = x.size >= MIN_SECONDS * sample_rate and _rms_dbfs(x) >= SILENCE_DBFS
    if analysable:
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")
            result.update(_rhythm(x, sample_rate))
            stft, n_fft = _stft(x, sample_rate)
            magnitude = np.abs(stft)
            harmonic_mask = _harmonic_mask(magnitude)
            power = magnitude**2
            total = float(power.sum())
            if total > 0:
                harmonic = float((power * harmonic_mask**2).sum())
                percussive = float((power * (1.0 - harmonic_mask) ** 2).sum())
                result["harmonic_ratio"] = harmonic / (harmonic + percussive)
                result["percussive_ratio"] = percussive / (harmonic + percussive)
                vocal_mask = _vocal_mask(magnitude, harmonic_mask, sample_rate, n_fft)
                result["vocal_energy_ratio"] = float((power * vocal_mask**2).sum()) / total
            result.update(_key(x, sample_rate))

    tags = {} if tag_scores is None else clean_scores(tag_scores)
    presence = _vocal_presence(None if tag_scores is None else tags, result["vocal_energy_ratio"])
    result["vocal_presence"] = presence
    result["has_vocals"] = presence is not None and presence >= HAS_VOCALS_THRESHOLD
    result["genres"] = labels_above(tags, GENRE_LABELS, label_threshold)
    result["moods"] = labels_above(tags, MOOD_LABELS, label_threshold)
    result["instruments"] = labels_above(tags, INSTRUMENT_LABELS, label_threshold)
    return {field.name: _finite(result[field.name]) for field in MUSIC_FIELDS}


def separate_vocals(audio: np.ndarray, sample_rate: int = 16000) -> tuple[np.ndarray, np.ndarray]:
    """Split a music clip into (vocals, accompaniment), both float32 of the input's length.

    The vocal part is the harmonic (HPSS), non-repeating (REPET-SIM nearest-neighbour
    median), voice-band share of each time-frequency bin; the accompaniment is everything
    else, so the two sum to the input up to STFT round-off. Silent or very short clips give
    silent vocals and the whole input as accompaniment.
    """
    x = _validated(audio, sample_rate)
    if x.size < MIN_SECONDS * sample_rate or _rms_dbfs(x) < SILENCE_DBFS:
        return np.zeros_like(x), x.copy()
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        stft, n_fft = _stft(x, sample_rate)
        magnitude = np.abs(stft)
        mask = _vocal_mask(magnitude, _harmonic_mask(magnitude), sample_rate, n_fft)
        vocals = librosa.istft(stft * mask, hop_length=n_fft // 4, n_fft=n_fft, length=x.size)
        accompaniment = librosa.istft(stft * (1.0 - mask), hop_length=n_fft // 4, n_fft=n_fft, length=x.size)
    return vocals.astype(np.float32), accompaniment.astype(np.float32)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _validated(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Float32 mono samples; empty clips and any numeric dtype pass, rates below 4 kHz do not."""
    return validated_mono(audio, sample_rate, min_rate=4000, dtype=np.float32, allow_empty=True, floats_only=False)


def _finite(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _rms_dbfs(x: np.ndarray) -> float:
    mean_square = float(np.mean(np.square(x, dtype=np.float64))) if x.size else 0.0
    return 10.0 * math.log10(2.0 * mean_square) if mean_square > 0 else -math.inf  # AES17


def _stft(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
    n_fft = 1 << round(math.log2(_FRAME_S * sample_rate))
    return librosa.stft(x, n_fft=n_fft, hop_length=n_fft // 4), n_fft


# ---- rhythm --------------------------------------------------------------------------------


def _tempo_prior(bpm: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * (np.log2(bpm / _PRIOR_BPM) / _PRIOR_OCTAVES) ** 2)


def _interpolate(values: np.ndarray, position: float) -> float:
    """Linear interpolation of ``values`` at a fractional index (0 outside)."""
    if not 0 <= position <= values.size - 1:
        return 0.0
    return float(np.interp(position, np.arange(values.size), values))


def _rhythm(x: np.ndarray, sample_rate: int) -> dict:
    """Tempo, octave ambiguity, beat confidence and beat times (empty dict when undefined)."""
    hop = max(1, round(_ONSET_HOP_S * sample_rate))
    n_fft = 1 << round(math.log2(_FRAME_S * sample_rate))
    frame_rate = sample_rate / hop
    envelope = librosa.onset.onset_strength(
        y=x, sr=sample_rate, hop_length=hop, n_fft=n_fft, n_mels=_ONSET_MELS, fmax=sample_rate / 2
    ).astype(np.float64)
    n = envelope.size
    centred = envelope - envelope.mean()
    energy = float(np.dot(centred, centred))
    min_lag = int(math.ceil(60.0 / MAX_BPM * frame_rate))
    max_lag = int(math.ceil(min(60.0 / MIN_BPM * frame_rate, n / 2)))
    if energy <= 1e-12 or max_lag <= min_lag + 2:
        return {}
    # Unbiased, normalised autocorrelation via FFT: r[0] = 1, every lag averaged over its overlap.
    spectrum = np.fft.rfft(centred, 2 * n)
    acf = np.fft.irfft(np.abs(spectrum) ** 2)[:n]
    acf = acf / (n - np.arange(n)) / (energy / n)

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
        lo, hi = int(math.floor(alt_lag)) - 1, int(math.ceil(alt_lag)) + 2
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


# ---- tonality ------------------------------------------------------------------------------


def _key(x: np.ndarray, sample_rate: int) -> dict:
    """Best Krumhansl-Kessler key of the energy-weighted CQT chroma (empty when undefined).

    The whole signal is used: broadband drums and noise add a near-constant chroma offset,
    to which Pearson's r is blind. A nearly flat chroma (no pitched content) has no key.
    """
    fmin = librosa.note_to_hz("C1")
    n_octaves = min(7, int(math.floor(math.log2(0.45 * sample_rate / fmin))))
    hop = 1 << round(math.log2(0.032 * sample_rate))
    chroma = librosa.feature.chroma_cqt(
        y=x, sr=sample_rate, hop_length=hop, fmin=fmin, n_octaves=n_octaves, norm=None
    )
    profile = chroma.sum(axis=1)
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


# ---- HPSS and vocal separation -------------------------------------------------------------


def _softmask(foreground: np.ndarray, background: np.ndarray, power: float = 2.0) -> np.ndarray:
    """Wiener-like soft mask f^p / (f^p + b^p), 0 where both are 0."""
    f, b = foreground**power, background**power
    total = f + b
    return np.divide(f, total, out=np.zeros_like(total), where=total > 0)


def _harmonic_mask(magnitude: np.ndarray) -> np.ndarray:
    """Soft harmonic mask of librosa's median-filter HPSS (the percussive mask is 1 - it)."""
    harmonic, _ = librosa.decompose.hpss(magnitude, kernel_size=_HPSS_KERNEL, mask=True)
    return harmonic


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


def _vocal_mask(magnitude: np.ndarray, harmonic_mask: np.ndarray, sample_rate: int, n_fft: int) -> np.ndarray:
    """Soft mask of the vocal part: harmonic x non-repeating x voice band."""
    n_frames = magnitude.shape[1]
    hop_s = n_fft / 4 / sample_rate
    min_gap = min(int(round(_REPEAT_MIN_GAP_S / hop_s)), n_frames // 4)
    if min_gap < 1:
        return np.zeros_like(magnitude)
    harmonic = magnitude * harmonic_mask
    repeating = _repeating_part(harmonic, min_gap)
    foreground = _softmask(harmonic - repeating, _VOCAL_MARGIN * repeating)
    freqs = librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft)
    low, high = _VOICE_BAND_HZ
    band = np.clip((freqs - low) / (high - low), 0.0, 1.0)[:, None]
    return harmonic_mask * foreground * band


# ---- vocals and labels ---------------------------------------------------------------------


def _vocal_presence(tags: dict[str, float] | None, energy_ratio: float | None) -> float | None:
    """Blend of singing-tag evidence and separated vocal energy (see ``_VOCAL_TAG_WEIGHT``)."""
    if tags is None and energy_ratio is None:
        return None
    # Without tags the singing term is 0: vocal energy alone cannot tell a voice from a lead
    # instrument, and a false positive would send an instrumental to speech recognition.
    singing = 0.0 if tags is None else max((tags.get(label, 0.0) for label in VOCAL_LABELS), default=0.0)
    singing = float(np.clip(singing, 0.0, 1.0))
    if energy_ratio is None:  # silent or too short: only the tagger speaks
        return singing
    energy = min(energy_ratio / _VOCAL_ENERGY_FULL, 1.0)
    return _VOCAL_TAG_WEIGHT * singing + (1.0 - _VOCAL_TAG_WEIGHT) * energy


VOCAL_FIELDS: list[pa.Field] = [
    _field("vocal_transcript", pa.string(), "text", "Speech expert's transcript of the separated vocals (when has_vocals)."),
    _field("vocal_language", pa.string(), "ISO 639-1", "Language of the sung words (when has_vocals)."),
    _field("vocal_speech_seconds", pa.float64(), "s", "Voice activity found in the separated vocals."),
]


def analyse_music_and_vocals(
    audio: np.ndarray,
    sample_rate: int = 16_000,
    tag_scores: Mapping[str, float] | None = None,
    analyse_vocals: Callable[[np.ndarray], dict] | None = None,
) -> dict:
    """``analyse_music`` plus, when singing is detected, the speech expert (``analyse_vocals``,
    e.g. a bound ``analyse_speech``) run on the separated vocal track; keys as
    ``MUSIC_FIELDS + VOCAL_FIELDS``."""
    result = analyse_music(audio, sample_rate, tag_scores=tag_scores)
    result.update(vocal_transcript=None, vocal_language=None, vocal_speech_seconds=None)
    if result["has_vocals"] and analyse_vocals is not None:
        vocals, _ = separate_vocals(audio, sample_rate)
        speech = analyse_vocals(vocals)
        result.update(
            vocal_transcript=speech.get("transcript"),
            vocal_language=speech.get("language"),
            vocal_speech_seconds=speech.get("speech_seconds"),
        )
    return result


def naive_music_seconds(paths: list[str], sample_rate: int = 16000) -> float:
    """Seconds spent in this module's ``analyse_music`` on each file (loading not counted)."""
    spent = 0.0
    for path in paths:
        audio, _ = librosa.load(path, sr=sample_rate, mono=True)
        started = time.perf_counter()
        analyse_music(audio, sample_rate)
        spent += time.perf_counter() - started
    return spent
