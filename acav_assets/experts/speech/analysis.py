"""The speech expert: what is said in a speech clip, and how.

For a clip routed to a speech domain :func:`analyse_speech` finds the voiced regions
(:mod:`~acav_assets.experts.speech.vad`), transcribes them
(:mod:`~acav_assets.experts.speech.asr`), and measures speaking rate, pitch
(:mod:`~acav_assets.experts.speech.pitch`) and a male/female voice estimate
(:mod:`~acav_assets.experts.speech.gender`); ``SPEECH_FIELDS`` declares its Arrow columns.
:func:`analyse_speech_many` does the same for many clips, with their speech transcribed in
shared batches. Emotion, age and speaker count have no packaged model, so they are recorded as
``"unavailable"`` unless the caller supplies a model: never guessed.

Each model sits behind a small interface (:class:`VoiceActivityDetector`,
:class:`SpeechRecognizer`, :class:`GenderEstimator`) so the Dagster shell can hold one
instance per process as a resource. Nothing here imports Dagster.

Hallucination guard: Whisper invents text for silence and noise, so ASR runs only when the
VAD found speech, and only on the VAD regions (cut out and joined, as faster-whisper's own
``vad_filter`` does); its timestamps are mapped back onto the clip.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from acav_assets.experts.speech.asr import (
    BatchSpeechRecognizer,
    SpeechRecognizer,
    Transcript,
)
from acav_assets.experts.speech.gender import (
    GenderEstimate,
    GenderEstimator,
    pitch_gender,
)
from acav_assets.experts.speech.pitch import PitchStats, measure_pitch
from acav_assets.experts.speech.resampling import RATE, _to_rate
from acav_assets.experts.speech.vad import VoiceActivityDetector
from acav_assets.io.mono_signal import validated_mono
from acav_assets.io.table_fields import described_field as _field

logger = logging.getLogger(__name__)

__all__ = ["SPEECH_FIELDS", "UNAVAILABLE", "analyse_speech", "analyse_speech_many"]

UNAVAILABLE = "unavailable"

# Languages written without spaces between words: whitespace word counts mean nothing there.
_UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "yue"})
_WORD = re.compile(r"\w", re.UNICODE)


_SPAN = pa.list_(pa.float64(), 2)
_ASR_SEGMENT = pa.struct(
    [pa.field("start", pa.float64()), pa.field("end", pa.float64()), pa.field("text", pa.string())]
)

SPEECH_FIELDS: list[pa.Field] = [
    _field("vad_segments", pa.list_(_SPAN), "s", "Speech regions [start, end] found by Silero VAD."),
    _field("speech_seconds", pa.float64(), "s", "Total length of the VAD speech regions."),
    _field("speech_ratio", pa.float64(), "fraction",
           "speech_seconds / clip duration (0 for an empty clip)."),
    _field("transcript", pa.string(), "text",
           "ASR text of the speech regions; empty when VAD found no speech (ASR not run)."),
    _field("language", pa.string(), "ISO 639-1",
           "Language identified by the ASR model; null without speech."),
    _field("language_probability", pa.float64(), "probability",
           "ASR language-ID probability of `language` (1 when the language was given)."),
    _field("asr_segments", pa.list_(_ASR_SEGMENT), "s",
           "ASR segments {start, end, text}, times on the clip's timeline."),
    _field("asr_model", pa.string(), "id",
           "ASR model that produced the transcript; null when ASR did not run."),
    _field("words", pa.int64(), "count",
           "Whitespace-separated words in the transcript; null for languages written without spaces."),
    _field("speaking_rate_wpm", pa.float64(), "words/min",
           "Words per minute of VAD speech; null without speech or word count."),
    _field("pitch_median_hz", pa.float64(), "Hz",
           "Median F0 of voiced frames in the speech regions (pYIN, 60-400 Hz)."),
    _field("pitch_p10_hz", pa.float64(), "Hz", "10th percentile of voiced F0."),
    _field("pitch_p90_hz", pa.float64(), "Hz", "90th percentile of voiced F0."),
    _field("voiced_ratio", pa.float64(), "fraction",
           "Fraction of 20 ms frames in the speech regions that pYIN calls voiced."),
    _field("gender", pa.string(), "label",
           "Voice estimate male | female (vocal acoustics only); null without usable voice."),
    _field("gender_confidence", pa.float64(), "[0, 1]",
           "voice2gender: |P(female) - 0.5| * 2; pitch: log distance of median F0 from 165 Hz, "
           "saturating at 122 / 223 Hz."),
    _field("gender_method", pa.string(), "label", "voice2gender | pitch; null without speech."),
    _field("emotion", pa.string(), "label",
           "Emotion model output; 'unavailable' when no model is configured, null without speech."),
    _field("age", pa.string(), "label",
           "Age model output as text; 'unavailable' when no model is configured, null without speech."),
    _field("speaker_count", pa.string(), "count",
           "Diarizer's speaker count as text; 'unavailable' when no diarizer is configured, "
           "null without speech."),
]


@dataclass
class _PreparedClip:
    """A clip at 16 kHz with its VAD regions and the joined audio ASR is to see."""

    audio: np.ndarray
    vad_segments: list[tuple[float, float]]
    asr_spans: list[tuple[float, float]]
    asr_audio: np.ndarray

    @property
    def has_speech(self) -> bool:
        return bool(self.asr_spans)


def analyse_speech(
    audio: np.ndarray,
    vad: VoiceActivityDetector,
    asr: SpeechRecognizer,
    gender: GenderEstimator | None = None,
    emotion_model: Callable[[np.ndarray, int], Any] | None = None,
    age_model: Callable[[np.ndarray, int], Any] | None = None,
    diarizer: Callable[[np.ndarray, int], Any] | None = None,
    *,
    sample_rate: int = RATE,
    language: str | None = None,
    asr_pad_s: float = 0.2,
) -> dict[str, Any]:
    """All speech measures of one mono clip, keyed and ordered as ``SPEECH_FIELDS``.

    ASR sees only the VAD regions (each widened by ``asr_pad_s``, then joined), and is not
    called at all when there are none. ``gender=None`` uses the pitch heuristic. The optional
    models are called as ``model(speech_audio, 16000)`` on the joined speech regions; a
    missing model gives ``"unavailable"``, no speech gives null. Raises ``ValueError`` only
    for non-float, multi-channel or non-finite input.
    """
    clip = _prepare(audio, sample_rate, vad, asr_pad_s)
    transcript = asr.transcribe(clip.asr_audio, language=language) if clip.has_speech else _NO_TRANSCRIPT
    return _measures(clip, transcript, gender, emotion_model, age_model, diarizer)


def analyse_speech_many(
    audios: Sequence[np.ndarray],
    vad: VoiceActivityDetector,
    asr: SpeechRecognizer,
    gender: GenderEstimator | None = None,
    *,
    sample_rate: int = RATE,
    asr_pad_s: float = 0.2,
) -> list[dict[str, Any] | Exception]:
    """:func:`analyse_speech` of many clips, their speech transcribed in shared batches when
    ``asr`` has ``transcribe_many``. One result per clip, in order: its measures, or the
    exception that clip raised (one bad clip never fails the others)."""
    prepared: list[_PreparedClip | Exception] = []
    for audio in audios:
        try:
            prepared.append(_prepare(audio, sample_rate, vad, asr_pad_s))
        except Exception as error:  # recorded for this clip only
            prepared.append(error)
    speaking = [i for i, clip in enumerate(prepared) if isinstance(clip, _PreparedClip) and clip.has_speech]
    transcripts = dict(zip(speaking, _transcribe_all(asr, [prepared[i].asr_audio for i in speaking])))
    results: list[dict[str, Any] | Exception] = []
    for i, clip in enumerate(prepared):
        transcript = transcripts.get(i, _NO_TRANSCRIPT)
        if isinstance(clip, Exception) or isinstance(transcript, Exception):
            results.append(clip if isinstance(clip, Exception) else transcript)
            continue
        try:
            results.append(_measures(clip, transcript, gender))
        except Exception as error:
            results.append(error)
    return results


_NO_TRANSCRIPT = Transcript("", None, None, [], None)


def _transcribe_all(asr: SpeechRecognizer, audios: list[np.ndarray]) -> list[Transcript | Exception]:
    """Batched when the recognizer can; if a batch fails, clip by clip, so only the failing clip fails."""
    if not audios:
        return []
    if isinstance(asr, BatchSpeechRecognizer):
        try:
            return list(asr.transcribe_many(audios))
        except Exception as error:
            logger.warning("batched ASR failed (%s: %s); transcribing clip by clip", type(error).__name__, error)
    results: list[Transcript | Exception] = []
    for audio in audios:
        try:
            results.append(asr.transcribe(audio))
        except Exception as error:
            results.append(error)
    return results


def _prepare(audio: np.ndarray, sample_rate: int, vad: VoiceActivityDetector, asr_pad_s: float) -> _PreparedClip:
    x = _to_rate(validated_mono(audio, sample_rate, dtype=np.float32, allow_empty=True, squeeze=True), sample_rate)
    vad_segments = [(float(s), float(e)) for s, e in vad.segments(x, RATE)] if x.size else []
    speech_seconds = sum(e - s for s, e in vad_segments)
    asr_spans = _widen(vad_segments, asr_pad_s, x.size / RATE) if speech_seconds > 0 else []
    return _PreparedClip(x, vad_segments, asr_spans, _join(x, asr_spans))


def _measures(
    clip: _PreparedClip,
    transcript: Transcript,
    gender: GenderEstimator | None,
    emotion_model: Callable[[np.ndarray, int], Any] | None = None,
    age_model: Callable[[np.ndarray, int], Any] | None = None,
    diarizer: Callable[[np.ndarray, int], Any] | None = None,
) -> dict[str, Any]:
    """The row of one clip, given its transcript."""
    x, vad_segments = clip.audio, clip.vad_segments
    duration = x.size / RATE
    speech_seconds = float(sum(e - s for s, e in vad_segments))
    has_speech = clip.has_speech
    speech = _join(x, vad_segments)
    if has_speech:
        asr_segments = [
            {
                "start": _to_clip_time(start, clip.asr_spans, is_end=False),
                "end": _to_clip_time(end, clip.asr_spans, is_end=True),
                "text": text,
            }
            for start, end, text in transcript.segments
        ]
        words = _count_words(transcript.text, transcript.language)
    else:
        transcript, asr_segments, words = _NO_TRANSCRIPT, [], 0

    pitch = measure_pitch(x, RATE, vad_segments) if has_speech else PitchStats(None, None, None, None)
    voice: GenderEstimate | None = None
    if has_speech:
        voice = gender.estimate(speech, RATE, pitch.median_hz) if gender else pitch_gender(pitch.median_hz)

    return {
        "vad_segments": [[s, e] for s, e in vad_segments],
        "speech_seconds": round(speech_seconds, 3),
        "speech_ratio": speech_seconds / duration if duration > 0 else 0.0,
        "transcript": transcript.text,
        "language": transcript.language,
        "language_probability": transcript.language_probability,
        "asr_segments": asr_segments,
        "asr_model": transcript.model if has_speech else None,
        "words": words,
        "speaking_rate_wpm": words / speech_seconds * 60.0 if has_speech and words is not None else None,
        "pitch_median_hz": pitch.median_hz,
        "pitch_p10_hz": pitch.p10_hz,
        "pitch_p90_hz": pitch.p90_hz,
        "voiced_ratio": pitch.voiced_ratio,
        "gender": voice.label if voice else None,
        "gender_confidence": voice.confidence if voice else None,
        "gender_method": voice.method if voice else None,
        "emotion": _optional_model(emotion_model, speech, has_speech),
        "age": _optional_model(age_model, speech, has_speech),
        "speaker_count": _optional_model(diarizer, speech, has_speech),
    }


def _optional_model(
    model: Callable[[np.ndarray, int], Any] | None, speech: np.ndarray, has_speech: bool
) -> str | None:
    if model is None:
        return UNAVAILABLE
    if not has_speech:
        return None
    value = model(speech, RATE)
    return None if value is None else str(value)


def _count_words(text: str, language: str | None) -> int | None:
    if language in _UNSPACED_LANGUAGES:
        return None
    return sum(1 for token in text.split() if _WORD.search(token))


def _widen(spans: Sequence[tuple[float, float]], pad: float, duration: float) -> list[tuple[float, float]]:
    """Pad each span, clip to the clip, merge overlaps."""
    out: list[list[float]] = []
    for s, e in spans:
        s, e = max(0.0, s - pad), min(duration, e + pad)
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _join(x: np.ndarray, spans: Sequence[tuple[float, float]]) -> np.ndarray:
    pieces = [x[int(round(s * RATE)) : int(round(e * RATE))] for s, e in spans]
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


def _to_clip_time(t: float, spans: Sequence[tuple[float, float]], is_end: bool) -> float:
    """Map a time on the joined-spans timeline back onto the clip.

    A time exactly on a join belongs to the span before it when it ends a segment, and to
    the span after it when it starts one.
    """
    lengths = np.array([e - s for s, e in spans])
    offsets = np.concatenate([[0.0], np.cumsum(lengths)])
    index = int(np.searchsorted(offsets[1:], t, side="left" if is_end else "right"))
    index = min(index, len(spans) - 1)
    start, end = spans[index]
    return round(min(end, start + max(0.0, t - offsets[index])), 3)

