"""Facts: one evidence row read into what the captions may state.

Which parts are present (the routed domain), the measurements and labels each expert reported
(an expert whose ``status`` is not ``"ok"`` counts as absent), the thresholds that decide
whether an attribute is confident enough to state, and transcripts reduced to short quotations.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from acav_assets.captions.schema import CONTENT_FACETS
from acav_assets.contracts.domains import DOMAINS
from acav_assets.experts.tagging.audioset_ontology import (
    CHANNEL_ENVIRONMENT_BACKGROUND,
    MUSIC,
    NATURAL_SOUNDS,
    SILENCE,
    SPEECH,
    load_ontology,
)

UNAVAILABLE = "unavailable"

# Whisper's language codes (ISO 639-1, plus "haw", "jw", "yue") -> English names.
LANGUAGE_NAMES = {
    "af": "Afrikaans", "am": "Amharic", "ar": "Arabic", "as": "Assamese", "az": "Azerbaijani",
    "ba": "Bashkir", "be": "Belarusian", "bg": "Bulgarian", "bn": "Bengali", "bo": "Tibetan",
    "br": "Breton", "bs": "Bosnian", "ca": "Catalan", "cs": "Czech", "cy": "Welsh", "da": "Danish",
    "de": "German", "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian",
    "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fo": "Faroese", "fr": "French",
    "gl": "Galician", "gu": "Gujarati", "ha": "Hausa", "haw": "Hawaiian", "he": "Hebrew",
    "hi": "Hindi", "hr": "Croatian", "ht": "Haitian Creole", "hu": "Hungarian", "hy": "Armenian",
    "id": "Indonesian", "is": "Icelandic", "it": "Italian", "ja": "Japanese", "jw": "Javanese",
    "ka": "Georgian", "kk": "Kazakh", "km": "Khmer", "kn": "Kannada", "ko": "Korean",
    "la": "Latin", "lb": "Luxembourgish", "ln": "Lingala", "lo": "Lao", "lt": "Lithuanian",
    "lv": "Latvian", "mg": "Malagasy", "mi": "Maori", "mk": "Macedonian", "ml": "Malayalam",
    "mn": "Mongolian", "mr": "Marathi", "ms": "Malay", "mt": "Maltese", "my": "Burmese",
    "ne": "Nepali", "nl": "Dutch", "nn": "Norwegian Nynorsk", "no": "Norwegian", "oc": "Occitan",
    "pa": "Punjabi", "pl": "Polish", "ps": "Pashto", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "sa": "Sanskrit", "sd": "Sindhi", "si": "Sinhala", "sk": "Slovak",
    "sl": "Slovenian", "sn": "Shona", "so": "Somali", "sq": "Albanian", "sr": "Serbian",
    "su": "Sundanese", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu",
    "tg": "Tajik", "th": "Thai", "tk": "Turkmen", "tl": "Tagalog", "tr": "Turkish", "tt": "Tatar",
    "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek", "vi": "Vietnamese", "yi": "Yiddish",
    "yo": "Yoruba", "yue": "Cantonese", "zh": "Chinese",
}

# Channel/environment tags worth naming, and how to say them ("setting" or "noise").
ENVIRONMENT_TAGS = {
    "Inside, small room": ("setting", "a small indoor room"),
    "Inside, large room or hall": ("setting", "a large hall"),
    "Inside, public space": ("setting", "an indoor public space"),
    "Outside, urban or manmade": ("setting", "an urban outdoor space"),
    "Outside, rural or natural": ("setting", "a rural outdoor space"),
    "Reverberation": ("noise", "reverberation"),
    "Echo": ("noise", "echo"),
    "Mains hum": ("noise", "mains hum"),
    "Static": ("noise", "static"),
    "White noise": ("noise", "broadband noise"),
    "Pink noise": ("noise", "broadband noise"),
    "Noise": ("noise", "background noise"),
    "Background noise": ("noise", "background noise"),
    "Environmental noise": ("noise", "environmental noise"),
    "Hubbub, speech noise, speech babble": ("noise", "background babble"),
    "Tape hiss": ("noise", "tape hiss"),
    "Distortion": ("noise", "distortion"),
    "Cacophony": ("noise", "a cacophony of sounds"),
}
ENVIRONMENT_TAG_MIN_SCORE = 0.3
UNSPACED_LANGUAGES = {"zh", "ja", "th", "lo", "km", "my", "bo", "yue"}

# Thresholds turning measurements into words.
GENDER_MIN_CONFIDENCE = 0.5
LANGUAGE_CONFIDENT = 0.7
LANGUAGE_HEDGED = 0.5
KEY_CONFIDENT = 0.6
KEY_HEDGED = 0.5
BEAT_STEADY = 0.5
BEAT_WEAK = 0.25
TRANSCRIPT_REPETITION_RATIO = 2.4  # zlib compression ratio of a repetition loop (Whisper's rule)


# --------------------------------------------------------------------------------------------
# Small helpers: numbers, labels, the ontology
# --------------------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    """A finite float, or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _clamp(x: float) -> float:
    return round(min(1.0, max(0.0, x)), 3)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _label_phrase(label: str) -> str:
    """An AudioSet display name as running text: 'Vehicle horn, car horn, honking' -> 'vehicle horn'."""
    head = label.split(",")[0].strip()
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in head.split())


# Short emotion labels some classifiers emit (IEMOCAP-style).
EMOTION_NAMES = {"neu": "neutral", "hap": "happy", "ang": "angry", "sad": "sad", "exc": "excited",
                 "fru": "frustrated", "sur": "surprised", "fea": "fearful", "dis": "disgusted"}


def _clean_attribute(value: Any) -> str | None:
    """A speaker-attribute model output fit for running text, or None when unavailable."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or text.lower() == UNAVAILABLE:
        return None
    text = re.sub(r"[^\w\s\-.]", "", text)[:30].strip()
    return text.lower() or None


@functools.cache
def _subtree(mid: str) -> frozenset[str]:
    return load_ontology().descendants(mid)


def _related(ontology_mids: Sequence[str], mid: str) -> bool:
    """Whether ``mid`` is an ancestor or descendant of any of ``ontology_mids``."""
    ontology = load_ontology()
    if mid not in ontology:
        return False
    lineage = ontology.ancestors(mid) | ontology.descendants(mid)
    return any(other in lineage for other in ontology_mids)


# --------------------------------------------------------------------------------------------
# Transcripts: untrusted text, quoted only
# --------------------------------------------------------------------------------------------


def _transcript_state(text: str | None) -> str:
    """``"empty"``, ``"unreliable"`` (a repetition loop) or ``"ok"``."""
    if not text or not text.strip():
        return "empty"
    raw = text.strip().encode("utf-8")
    if len(raw) >= 40 and len(raw) / len(zlib.compress(raw)) > TRANSCRIPT_REPETITION_RATIO:
        return "unreliable"
    return "ok"


def quote_transcript(text: str, max_words: int = 10, max_chars: int = 72) -> str:
    """A short quotation of untrusted text: printable, no inner double quotes, ellipsis if cut."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = re.sub(r"[\"\u201c\u201d\u201e\u00ab\u00bb`]", "'", text)
    tokens = text.split()
    cut = len(tokens) > max_words
    text = " ".join(tokens[:max_words])
    if len(text) > max_chars:
        cut = True
        text = text[:max_chars]
        if " " in text[max_chars // 2 :]:
            text = text[: text.rfind(" ")]
    text = text.rstrip(" ,;:-")
    return f'"{text}\u2026"' if cut else f'"{text}"'


# --------------------------------------------------------------------------------------------
# Facts: what the experts reported, in a form the templates use
# --------------------------------------------------------------------------------------------


@dataclass
class _Speech:
    expert_ok: bool
    score: float
    gender: str | None = None  # "male" | "female", only when confident enough
    gender_confidence: float = 0.0
    language: str | None = None
    language_hedged: bool = False
    language_probability: float | None = None
    language_unclear: bool = False
    transcript_state: str = "empty"
    quote: str | None = None
    pace: str | None = None
    wpm: float | None = None
    pitch: str | None = None
    pitch_hz: float | None = None
    segments: list[tuple[float, float]] = field(default_factory=list)
    emotion: str | None = None
    age: str | None = None
    speakers: int | None = None


@dataclass
class _Music:
    expert_ok: bool
    score: float
    genres: list[tuple[str, float]] = field(default_factory=list)
    moods: list[tuple[str, float]] = field(default_factory=list)
    instruments: list[tuple[str, float]] = field(default_factory=list)
    tempo: float | None = None
    tempo_ambiguous: bool = False
    beat_confidence: float | None = None
    key: str | None = None
    key_hedged: bool = False
    key_confidence: float | None = None
    texture: str | None = None
    has_vocals: bool | None = None
    vocal_presence: float | None = None
    vocal_quote: str | None = None
    vocal_language: str | None = None
    segments: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class _Event:
    label: str
    mid: str
    score: float
    spans: list[tuple[float, float]]


@dataclass
class _Sound:
    expert_ok: bool
    score: float
    events: list[_Event] = field(default_factory=list)  # distinct lineages, best first
    from_tags: bool = False
    segments: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class _Environment:
    measured: bool
    silent: bool = False
    level: str | None = None
    lufs: float | None = None
    noise: str | None = None
    snr: float | None = None
    reverb: str | None = None
    rt60: float | None = None
    band: str | None = None
    bandwidth: float | None = None
    clipping: str | None = None
    clipping_ratio: float | None = None
    pauses: str | None = None
    settings: list[tuple[str, float]] = field(default_factory=list)
    noises: list[tuple[str, float]] = field(default_factory=list)
    ambience: list[str] = field(default_factory=list)


@dataclass
class _Facts:
    key: str
    domain: str
    decoded: bool
    duration: float | None
    speech: _Speech | None
    music: _Music | None
    sound: _Sound | None
    env: _Environment

    def present(self, facet: str) -> bool:
        return self.domain[CONTENT_FACETS[facet]] != "0"


def _ok(evidence: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    struct = evidence.get(name)
    return struct if isinstance(struct, Mapping) and struct.get("status") == "ok" else None


def _spans(value: Any) -> list[tuple[float, float]]:
    out = []
    for item in value or []:
        try:
            start, end = _num(item[0]), _num(item[1])
        except (TypeError, IndexError, KeyError):
            continue
        if start is not None and end is not None and end > start:
            out.append((start, end))
    return out


def _covered(spans: Sequence[tuple[float, float]]) -> float:
    total, last_end = 0.0, -math.inf
    for start, end in sorted(spans):
        start = max(start, last_end)
        if end > start:
            total += end - start
            last_end = end
    return total


def _overlap(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> float:
    return sum(max(0.0, min(e1, e2) - max(s1, s2)) for s1, e1 in a for s2, e2 in b)


def _scored(items: Any, minimum: float = 0.0) -> list[tuple[str, float]]:
    out = []
    for item in items or []:
        if isinstance(item, Mapping) and item.get("label"):
            score = _num(item.get("score")) or 0.0
            if score >= minimum:
                out.append((str(item["label"]), score))
    return sorted(out, key=lambda pair: -pair[1])


def _domain(evidence: Mapping[str, Any]) -> str:
    for candidate in (evidence.get("routed_domain"), (_ok(evidence, "routing") or {}).get("domain")):
        if isinstance(candidate, str) and candidate in DOMAINS:
            return candidate
    return "000"


def _routing_score(evidence: Mapping[str, Any], part: str) -> float | None:
    routing = _ok(evidence, "routing")
    return _num(routing.get(f"{part}_score")) if routing else None


def _speech_facts(evidence: Mapping[str, Any]) -> _Speech:
    expert = _ok(evidence, "speech")
    score = _routing_score(evidence, "speech")
    facts = _Speech(expert_ok=expert is not None, score=0.5 if score is None else score)
    routing = _ok(evidence, "routing")
    facts.segments = _spans(routing.get("speech_segments")) if routing else []
    if expert is None:
        return facts
    facts.segments = _spans(expert.get("vad_segments")) or facts.segments
    gender, gender_conf = expert.get("gender"), _num(expert.get("gender_confidence")) or 0.0
    if gender in ("male", "female") and gender_conf >= GENDER_MIN_CONFIDENCE:
        facts.gender, facts.gender_confidence = gender, gender_conf
    code, prob = expert.get("language"), _num(expert.get("language_probability"))
    name = LANGUAGE_NAMES.get(code) if isinstance(code, str) else None
    facts.language_probability = prob
    if name and prob is not None and prob >= LANGUAGE_HEDGED:
        facts.language, facts.language_hedged = name, prob < LANGUAGE_CONFIDENT
    elif code:
        facts.language_unclear = True
    text = expert.get("transcript")
    facts.transcript_state = _transcript_state(text)
    if facts.transcript_state == "ok":
        spaced = code not in UNSPACED_LANGUAGES
        facts.quote = quote_transcript(text, max_words=10 if spaced else 1, max_chars=72 if spaced else 24)
        wpm, words = _num(expert.get("speaking_rate_wpm")), _num(expert.get("words"))
        speech_seconds = _num(expert.get("speech_seconds")) or 0.0
        if wpm is not None and words and speech_seconds >= 2.0 and spaced:
            facts.wpm = wpm
            facts.pace = "fast" if wpm > 180 else "slow" if wpm < 110 else "steady"
    pitch = _num(expert.get("pitch_median_hz"))
    if pitch is not None:
        facts.pitch_hz = pitch
        facts.pitch = "low-pitched" if pitch < 125 else "high-pitched" if pitch > 210 else "mid-pitched"
    emotion = _clean_attribute(expert.get("emotion"))
    facts.emotion = EMOTION_NAMES.get(emotion, emotion) if emotion else None
    facts.age = _clean_attribute(expert.get("age"))
    count = _clean_attribute(expert.get("speaker_count"))
    if count is not None and count.isdigit() and int(count) > 0:
        facts.speakers = int(count)
    return facts


def _music_facts(evidence: Mapping[str, Any]) -> _Music:
    expert = _ok(evidence, "music")
    score = _routing_score(evidence, "music")
    facts = _Music(expert_ok=expert is not None, score=0.5 if score is None else score)
    routing = _ok(evidence, "routing")
    facts.segments = _spans(routing.get("music_segments")) if routing else []
    if expert is None:
        return facts
    facts.genres = _scored(expert.get("genres"))[:2]
    facts.moods = _scored(expert.get("moods"))[:1]
    facts.instruments = _scored(expert.get("instruments"))[:3]
    facts.beat_confidence = _num(expert.get("beat_confidence"))
    tempo = _num(expert.get("tempo_bpm"))
    if tempo is not None and (facts.beat_confidence or 0.0) >= BEAT_WEAK:
        facts.tempo, facts.tempo_ambiguous = tempo, bool(expert.get("tempo_octave_ambiguous"))
    key, mode, key_conf = expert.get("musical_key"), expert.get("mode"), _num(expert.get("key_confidence"))
    named = isinstance(key, str) and re.fullmatch(r"[A-G][#b]?", key) is not None
    if named and key_conf is not None and key_conf >= KEY_HEDGED:
        facts.key = f"{key} {mode}" if mode in ("major", "minor") else key
        facts.key_hedged, facts.key_confidence = key_conf < KEY_CONFIDENT, key_conf
    harmonic, percussive = _num(expert.get("harmonic_ratio")), _num(expert.get("percussive_ratio"))
    if harmonic is not None and harmonic >= 0.7:
        facts.texture = "mostly tonal"
    elif percussive is not None and percussive >= 0.6:
        facts.texture = "percussive"
    facts.vocal_presence = _num(expert.get("vocal_presence"))
    has_vocals = expert.get("has_vocals")
    facts.has_vocals = has_vocals if isinstance(has_vocals, bool) else None
    if facts.has_vocals:
        lyrics = expert.get("vocal_transcript")
        if _transcript_state(lyrics) == "ok":
            facts.vocal_quote = quote_transcript(lyrics, max_words=8, max_chars=56)
        code = expert.get("vocal_language")
        facts.vocal_language = LANGUAGE_NAMES.get(code) if isinstance(code, str) else None
    return facts


def _sound_facts(evidence: Mapping[str, Any]) -> _Sound:
    expert = _ok(evidence, "sound_events")
    score = _routing_score(evidence, "sound")
    facts = _Sound(expert_ok=expert is not None, score=0.5 if score is None else score)
    routing = _ok(evidence, "routing")
    facts.segments = _spans(routing.get("sound_segments")) if routing else []
    by_label: dict[str, _Event] = {}
    if expert is not None:
        for event in expert.get("events") or []:
            if not isinstance(event, Mapping) or not event.get("label"):
                continue
            label = str(event["label"])
            item = by_label.setdefault(label, _Event(label, str(event.get("mid") or ""), 0.0, []))
            item.score = max(item.score, _num(event.get("max_score")) or 0.0)
            item.spans += _spans([[event.get("onset_s"), event.get("offset_s")]])
    if not by_label:  # fall back to the tagger's clip-level labels outside speech / music
        tagging = _ok(evidence, "tagging")
        excluded = (_subtree(SPEECH) | _subtree(MUSIC) | _subtree(SILENCE)
                    | _subtree(CHANNEL_ENVIRONMENT_BACKGROUND))
        for tag in (tagging or {}).get("top_labels") or []:
            if not isinstance(tag, Mapping):
                continue
            score_ = _num(tag.get("score")) or 0.0
            mid = str(tag.get("mid") or "")
            if score_ >= 0.3 and mid not in excluded and tag.get("label"):
                by_label[str(tag["label"])] = _Event(str(tag["label"]), mid, score_, [])
        facts.from_tags = bool(by_label)
    chosen: list[_Event] = []
    for event in sorted(by_label.values(), key=lambda e: (-e.score, e.label)):
        if not _related([c.mid for c in chosen], event.mid):
            chosen.append(event)
    facts.events = chosen[:3]
    return facts


def _environment_facts(evidence: Mapping[str, Any], content_elsewhere: bool, sound: _Sound | None) -> _Environment:
    acoustics = _ok(evidence, "acoustics")
    env = _Environment(measured=acoustics is not None)
    if acoustics is not None:
        env.silent = bool(acoustics.get("is_silent"))
        env.lufs = _num(acoustics.get("loudness_lufs"))
        if env.lufs is not None:
            env.level = ("nearly inaudible" if env.lufs < -50 else "very quiet" if env.lufs < -36
                         else "quiet" if env.lufs < -27 else "moderate" if env.lufs <= -14
                         else "loud" if env.lufs <= -9 else "very loud")
        env.snr = _num(acoustics.get("snr_db"))
        if env.snr is not None:
            if env.snr >= 35:
                env.noise = "clean"
            elif env.snr >= 20:
                env.noise = "slight noise"
            elif env.snr >= 12:
                env.noise = "noticeable noise"
            else:
                env.noise = "dense" if content_elsewhere else "noisy"
        env.rt60 = _num(acoustics.get("rt60_s"))
        if env.rt60 is not None:
            env.reverb = ("dry" if env.rt60 < 0.3 else "slightly reverberant" if env.rt60 < 0.7
                          else "reverberant" if env.rt60 < 1.2 else "highly reverberant")
        env.bandwidth = _num(acoustics.get("bandwidth_hz"))
        if env.bandwidth is not None and env.bandwidth < 6000:
            env.band = "narrow-band, telephone-like" if env.bandwidth < 3800 else "band-limited and muffled"
        env.clipping_ratio = _num(acoustics.get("clipping_ratio"))
        if env.clipping_ratio is not None:
            env.clipping = ("heavy clipping" if env.clipping_ratio > 0.01
                            else "some clipping" if env.clipping_ratio > 0.001 else None)
        silence = _num(acoustics.get("silence_ratio"))
        if silence is not None and not env.silent:
            env.pauses = ("silence for most of the clip" if silence > 0.6
                          else "long silent stretches" if silence > 0.3
                          else "short silent pauses" if silence > 0.1 else None)
    tagging = _ok(evidence, "tagging")
    for tag in (tagging or {}).get("top_labels") or []:
        if not isinstance(tag, Mapping):
            continue
        kind_phrase = ENVIRONMENT_TAGS.get(str(tag.get("label")))
        score = _num(tag.get("score")) or 0.0
        if kind_phrase and score >= ENVIRONMENT_TAG_MIN_SCORE:
            target = env.settings if kind_phrase[0] == "setting" else env.noises
            if kind_phrase[1] not in [p for p, _ in target]:
                target.append((kind_phrase[1], score))
    if sound is not None:
        natural = _subtree(NATURAL_SOUNDS)
        env.ambience = [_label_phrase(e.label) for e in sound.events if e.mid in natural][:2]
    return env


def _facts(evidence: Mapping[str, Any]) -> _Facts:
    decoded = evidence.get("decode_status", "ok") == "ok"
    domain = _domain(evidence) if decoded else "000"
    duration = _num(evidence.get("duration_s"))
    speech = _speech_facts(evidence) if domain[0] != "0" else None
    music = _music_facts(evidence) if domain[1] != "0" else None
    sound = _sound_facts(evidence) if domain[2] != "0" else None
    env = _environment_facts(evidence, music is not None or sound is not None, sound)
    return _Facts(str(evidence.get("key") or ""), domain, decoded, duration, speech, music, sound, env)
