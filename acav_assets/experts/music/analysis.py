"""``analyse_music``: every music measure of one clip, each analysis on the one shared spectrogram.

Order and sharing: one STFT (8 ms hop) gives the onset envelope (tempo, beats) and, every
second frame, the magnitude that HPSS and, only with singing evidence from the tagger, the
vocal separation use. The key needs its own constant-Q chroma. Tag-derived labels cost nothing.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator, Mapping

import librosa
import numpy as np

from acav_assets.experts.music import vocals as vocal_analysis
from acav_assets.experts.music.clip_signal import is_analysable, validated
from acav_assets.experts.music.fields import MUSIC_FIELDS, VOCAL_FIELDS
from acav_assets.experts.music.hpss import harmonic_mask, harmonic_share
from acav_assets.experts.music.labels import (
    GENRE_LABELS,
    INSTRUMENT_LABELS,
    MOOD_LABELS,
    clean_scores,
    labels_above,
)
from acav_assets.experts.music.part_times import PartTimes, timed
from acav_assets.experts.music.rhythm import rhythm
from acav_assets.experts.music.spectrogram import SharedSpectrogram
from acav_assets.experts.music.tonality import key
from acav_assets.io.mono_signal import integrated_loudness_lufs

__all__ = ["analyse_music", "analyse_music_and_vocals", "separate_vocals"]


def analyse_music(
    audio: np.ndarray,
    sample_rate: int = 16000,
    tag_scores: Mapping[str, float] | None = None,
    label_threshold: float = 0.1,
    *,
    times: PartTimes | None = None,
) -> dict:
    """All music measures of one mono clip, keyed and ordered as ``MUSIC_FIELDS``.

    ``tag_scores`` maps AudioSet display names to clip-level probabilities (the tagger's
    output); only the music-subtree and singing-related classes are used, and the vocal
    separation runs only when the singing scores could make ``has_vocals`` true. ``times``
    collects wall and CPU seconds per part. Never raises on finite 1-D input, silent, very
    short or non-music clips included; raises ``ValueError`` for multi-dimensional or
    non-finite input or a bad sample rate.
    """
    result, _, _ = _analyse(audio, sample_rate, tag_scores, label_threshold, times)
    return result


def analyse_music_and_vocals(
    audio: np.ndarray,
    sample_rate: int = 16_000,
    tag_scores: Mapping[str, float] | None = None,
    analyse_vocals: Callable[[np.ndarray], dict] | None = None,
    *,
    times: PartTimes | None = None,
) -> dict:
    """``analyse_music`` plus, when ``has_vocals``, ``analyse_vocals`` (e.g. a bound
    ``transcribe_vocals``) on the separated vocal track; keys as ``MUSIC_FIELDS + VOCAL_FIELDS``."""
    result, spectrogram, mask = _analyse(audio, sample_rate, tag_scores, 0.1, times)
    result.update({field.name: None for field in VOCAL_FIELDS})
    if result["has_vocals"] and analyse_vocals is not None:
        with timed(times, "sung_words"):
            if mask is None:  # silent or short, vocals from the tags alone
                vocals = np.zeros(np.asarray(audio).size, np.float32)
            else:
                vocals = _masked_signal(spectrogram, mask)
            speech = analyse_vocals(vocals)
        result.update(
            vocal_transcript=speech.get("transcript"),
            vocal_language=speech.get("language"),
            vocal_speech_seconds=speech.get("speech_seconds"),
        )
    return result


def separate_vocals(audio: np.ndarray, sample_rate: int = 16000) -> tuple[np.ndarray, np.ndarray]:
    """Split a music clip into (vocals, accompaniment), both float32 of the input's length.

    The vocal part is the harmonic (HPSS), non-repeating (REPET-SIM nearest-neighbour
    median), voice-band share of each time-frequency bin; the accompaniment is everything
    else, so the two sum to the input up to STFT round-off. Silent or very short clips give
    silent vocals and the whole input as accompaniment. Runs whatever the tags say.
    """
    x = validated(audio, sample_rate)
    if not is_analysable(x, sample_rate):
        return np.zeros_like(x), x.copy()
    with _quiet():
        spectrogram = SharedSpectrogram(x, sample_rate)
        mask = _vocal_mask(spectrogram, harmonic_mask(spectrogram.magnitude))
        return _masked_signal(spectrogram, mask), _masked_signal(spectrogram, 1.0 - mask)


def _analyse(audio, sample_rate, tag_scores, label_threshold, times):
    """(result row, shared spectrogram or None, vocal mask or None)."""
    x = validated(audio, sample_rate)
    result: dict = {field.name: None for field in MUSIC_FIELDS}
    result["beat_times_s"] = []
    with timed(times, "loudness"):
        result["loudness_lufs"] = integrated_loudness_lufs(x, sample_rate)
    tags = None if tag_scores is None else clean_scores(tag_scores)
    singing = vocal_analysis.singing_score(tags)
    spectrogram = mask = None

    if not is_analysable(x, sample_rate):
        result["vocal_analysis"] = vocal_analysis.SILENT_OR_SHORT
    else:
        with _quiet():
            with timed(times, "stft"):
                spectrogram = SharedSpectrogram(x, sample_rate)
            with timed(times, "onset"):
                envelope = spectrogram.onset_envelope
            with timed(times, "tempo_beats"):
                result.update(rhythm(envelope, spectrogram.frame_rate, sample_rate, spectrogram.onset_hop))
            with timed(times, "hpss"):
                magnitude = spectrogram.magnitude
                power = magnitude**2
                harmonic = harmonic_mask(magnitude)
                share = harmonic_share(power, harmonic)
            if share is not None:
                result["harmonic_ratio"], result["percussive_ratio"] = share, 1.0 - share
            with timed(times, "key"):
                result.update(key(x, sample_rate))
            if singing is None:
                result["vocal_analysis"] = vocal_analysis.NO_TAGS
            elif singing < vocal_analysis.MIN_SINGING_SCORE:
                result["vocal_analysis"] = vocal_analysis.NO_SINGING_TAGS
            else:
                with timed(times, "vocal_separation"):
                    mask = _vocal_mask(spectrogram, harmonic)
                    total = float(power.sum())
                    if total > 0:
                        result["vocal_energy_ratio"] = float((power * mask**2).sum()) / total
                result["vocal_analysis"] = vocal_analysis.SEPARATED

    presence = vocal_analysis.vocal_presence(singing, result["vocal_energy_ratio"])
    result["vocal_presence"] = presence
    result["has_vocals"] = presence is not None and presence >= vocal_analysis.HAS_VOCALS_THRESHOLD
    labels = tags or {}
    result["genres"] = labels_above(labels, GENRE_LABELS, label_threshold)
    result["moods"] = labels_above(labels, MOOD_LABELS, label_threshold)
    result["instruments"] = labels_above(labels, INSTRUMENT_LABELS, label_threshold)
    row = {field.name: _finite(result[field.name]) for field in MUSIC_FIELDS}
    return row, spectrogram, mask


def _vocal_mask(spectrogram: SharedSpectrogram, harmonic: np.ndarray) -> np.ndarray:
    return vocal_analysis.vocal_mask(spectrogram.magnitude, harmonic, spectrogram.sample_rate,
                                     spectrogram.n_fft, spectrogram.hop)


def _masked_signal(spectrogram: SharedSpectrogram, mask: np.ndarray | float) -> np.ndarray:
    signal = librosa.istft(spectrogram.coarse * mask, hop_length=spectrogram.hop, n_fft=spectrogram.n_fft,
                           length=spectrogram.length)
    return signal.astype(np.float32)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silences librosa's warnings and numpy's divide / invalid warnings inside the analyses."""
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        yield


def _finite(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value
