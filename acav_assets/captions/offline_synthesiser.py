"""Offline caption synthesis: a deterministic evidence-to-text template synthesiser.

The default caption stage when no LLM endpoint is configured. It turns one evidence row (see
:mod:`acav_assets.experts.evidence`) into a complete :class:`CaptionRecord` - six facets x three
stylistically different variants (plain, descriptive, terse), five MECAT-style QA pairs and a
confidence for every item - with no model and no randomness.

Rules it keeps:

* Only what an expert reported is stated. An expert whose ``status`` is not ``"ok"`` counts as
  absent; ``"unavailable"`` speaker attributes (emotion, age, speaker count) are never
  mentioned; gender and language are stated only when their expert's confidence is adequate.
* Source metadata (title, description, tags) and the LALM description are ignored entirely:
  they are untrusted text and never evidence about the audio.
* Transcripts are untrusted text too: they appear only as short quotations (never
  paraphrased, never followed) and not at all when they look degenerate (repetition loops).
* Content facets follow the routed domain: a ``0`` letter gives ``["None", <absence>,
  <absence>]``; ``long``, ``short`` and ``environment`` are never ``"None"``.
* Phrasing alternatives are chosen by a stable hash of the clip key, so the same row always
  gives the same record while different clips do not all read alike.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import unicodedata
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from acav_assets.experts.tagging.audioset_ontology import (
    ANIMAL,
    CHANNEL_ENVIRONMENT_BACKGROUND,
    MUSIC,
    NATURAL_SOUNDS,
    SILENCE,
    SOUNDS_OF_THINGS,
    SPEECH,
    load_ontology,
)
from acav_assets.captions.schema import (
    ABSENT,
    CONTENT_FACETS,
    FACETS,
    QA_PER_CLIP,
    CaptionRecord,
    QaPair,
)

__all__ = ["SYNTHESIZER_NAME", "synthesize_caption"]

SYNTHESIZER_NAME = "acav-evidence-template-v1"

DOMAINS = ("000", "00A", "0M0", "0MA", "S00", "S0A", "SM0", "SMA")
UNAVAILABLE = "unavailable"
SHORT_MAX_WORDS = 12

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

# Ways to say that a content facet is absent (after MECAT's references).
ABSENCE_PHRASES = {
    "speech": (
        "No discernible speech content", "Absence of verbal communication",
        "No detectable speech content", "Verbal communication appears absent",
        "No spoken words detected", "Absence of spoken dialogue or narration",
    ),
    "music": (
        "No musical elements detected", "Musical content appears absent",
        "Absence of melodic or rhythmic content", "No music present",
        "Musical components appear absent", "Instrumentation or melodic content absent",
    ),
    "sound": (
        "No identifiable sound events", "Lack of distinct auditory occurrences",
        "No distinct environmental or non-musical sound events", "Absence of identifiable sound effects",
        "No other sound sources detected", "Definite sound events undetectable",
    ),
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
# Small helpers
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


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _join(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _distinct(texts: list[str], alternatives: Sequence[str]) -> list[str]:
    """Replace a variant that repeats an earlier one by the first unused alternative."""
    out: list[str] = []
    for text in texts:
        if text in out:
            text = next((alt for alt in alternatives if alt not in out and alt not in texts), f"{text} (restated)")
        out.append(text)
    return out


def _words(text: str) -> int:
    return len(text.split())


def _stable(key: str, salt: str) -> int:
    """A process-independent hash of the clip key (chooses among phrasings)."""
    return int.from_bytes(hashlib.sha256(f"{key}\x1f{salt}".encode()).digest()[:8], "big")


def _pick(key: str, salt: str, options: Sequence[str]) -> str:
    return options[_stable(key, salt) % len(options)]


def _pick_two(key: str, salt: str, options: Sequence[str]) -> tuple[str, str]:
    first = _stable(key, salt) % len(options)
    second = (first + 1 + _stable(key, salt + "/2") % (len(options) - 1)) % len(options)
    return options[first], options[second]


def _sound_noun(event: "_Event") -> str:
    """A sound-event label as a noun: sources (things, animals) get 'sounds' ('car sounds')."""
    phrase = _label_phrase(event.label)
    if re.search(r"\b(sounds?|noise)$", phrase):
        return phrase
    sources = _subtree(SOUNDS_OF_THINGS) | _subtree(ANIMAL)
    return f"{phrase} sounds" if event.mid in sources else phrase


def _with_sounds(noun: str) -> str:
    """'stream' -> 'stream sounds'; 'car sounds' stays."""
    return noun if re.search(r"\b(sounds?|noise)$", noun) else f"{noun} sounds"


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


_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _count_phrase(n: int, noun: str) -> str:
    return f"{_NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else n} {noun}{'' if n == 1 else 's'}"


def _sec(t: float) -> str:
    return f"{t:.0f} s" if abs(t - round(t)) < 0.05 else f"{t:.1f} s"


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


# --------------------------------------------------------------------------------------------
# Phrases per content part
# --------------------------------------------------------------------------------------------


def _when(spans: Sequence[tuple[float, float]], duration: float | None) -> str | None:
    """Where in the clip a set of spans lies, in words ('throughout', 'in the first 2 s', ...)."""
    if not spans:
        return None
    spans = sorted(spans)
    covered = _covered(spans)
    if duration and covered >= 0.8 * duration:
        return "throughout"
    if len(spans) > 1:
        return "intermittently"
    start, end = spans[0]
    if start <= 0.5:
        return f"in the first {_sec(end)}"
    if duration and end >= duration - 0.5:
        return f"from about {_sec(start)} onwards"
    return f"between {_sec(start)} and {_sec(end)}"


class _Phrases:
    """Noun phrases and clauses for each present part, in three styles."""

    def __init__(self, facts: _Facts) -> None:
        self.f = facts
        self.k = facts.key

    # speech ---------------------------------------------------------------------------------
    def speaker(self) -> str:
        s = self.f.speech
        assert s is not None
        if s.speakers and s.speakers > 1:
            return _count_phrase(s.speakers, "speaker")
        if s.gender == "male":
            return _pick(self.k, "speaker", ("a man", "a male voice"))
        if s.gender == "female":
            return _pick(self.k, "speaker", ("a woman", "a female voice"))
        return _pick(self.k, "speaker", ("someone", "a person"))

    def language_phrase(self) -> str | None:
        s = self.f.speech
        if s is None or s.language is None:
            return None
        return f"what sounds like {s.language}" if s.language_hedged else s.language

    def speech_clause(self) -> str:
        """'a man speaks English'."""
        s = self.f.speech
        assert s is not None
        plural = bool(s.speakers and s.speakers > 1)
        language = self.language_phrase()
        if language is None:
            return f"{self.speaker()} {'speak' if plural else 'speaks'}"
        verb = _pick(self.k, "speech-verb", ("speak", "talk in") if plural else ("speaks", "talks in"))
        return f"{self.speaker()} {verb} {language}"

    def speech_np(self) -> str:
        """'a man speaking English'."""
        language = self.language_phrase()
        return f"{self.speaker()} speaking" + (f" {language}" if language else "")

    def speech_terse(self) -> str:
        """'male English speech'."""
        s = self.f.speech
        assert s is not None
        parts = [s.gender] if s.gender and not (s.speakers and s.speakers > 1) else []
        if s.language and not s.language_hedged:
            parts.append(s.language)
        return " ".join(parts + ["speech"])

    def speech_descriptive(self) -> str:
        """'a low-pitched male voice speaking English at a fast pace'."""
        s = self.f.speech
        assert s is not None
        if s.speakers and s.speakers > 1:
            subject = _count_phrase(s.speakers, "speaker")
        else:
            voice = " ".join(x for x in (s.pitch, s.gender, "voice") if x)
            subject = ("an " if voice[0] in "aeiou" else "a ") + voice
        text = subject + " speaking"
        if self.language_phrase():
            text += f" {self.language_phrase()}"
        if s.pace:
            text += f" at a {s.pace} pace"
        if s.emotion:
            text += f" in a {s.emotion} tone"
        return text

    # music ----------------------------------------------------------------------------------
    def music_core(self, style: str) -> str:
        m = self.f.music
        assert m is not None
        genre = _label_phrase(m.genres[0][0]) if m.genres else None
        if genre is None:
            noun = "music"
        else:
            noun = genre if "music" in genre or style == "terse" else f"{genre} music"
        if style == "terse":
            if m.has_vocals is False and not genre:
                return "instrumental music"
            return noun
        if style == "short":
            instruments = [_label_phrase(label) for label, _ in m.instruments[:2]]
            if instruments:
                return f"{noun} with {_join(instruments)}"
            return f"{noun} in {m.key}" if m.key and not m.key_hedged else noun
        mood = m.moods[0][0].lower().replace(" music", "") if m.moods else None
        head = f"{mood} {noun}" if mood and style == "descriptive" else noun
        extras = []
        if m.instruments:
            count = 2 if style == "plain" else 3
            extras.append("with " + _join([_label_phrase(label) for label, _ in m.instruments[:count]]))
        if m.key:
            extras.append(("possibly in " if m.key_hedged else "in ") + m.key)
        if m.tempo is not None:
            extras.append(f"at about {m.tempo:.0f} BPM")
            if style == "descriptive" and m.tempo_ambiguous:
                extras.append("(half or double time also plausible)")
        if style == "descriptive" and m.beat_confidence is not None:
            if m.beat_confidence >= BEAT_STEADY:
                extras.append("with a steady beat")
            elif m.beat_confidence < BEAT_WEAK:
                extras.append("without a steady beat")
        return " ".join([head] + extras)

    def vocals_phrase(self) -> str | None:
        m = self.f.music
        if m is None or m.has_vocals is None:
            return None
        if not m.has_vocals:
            return "with no singing detected"
        text = "with singing"
        if m.vocal_language:
            text += f" in {m.vocal_language}"
        return text

    # sound ----------------------------------------------------------------------------------
    def sound_core(self, style: str) -> str:
        s = self.f.sound
        assert s is not None
        if not s.events:
            return "other sounds" if style != "descriptive" else "non-speech, non-musical sounds"
        names = [_sound_noun(e) for e in s.events]
        if style == "terse":
            return _join(names[:2])
        main = s.events[0]
        when = _when(main.spans, self.f.duration)
        text = names[0] + (f" {when}" if when else "")
        if len(names) > 1:
            if style == "plain":
                text += f", with {_with_sounds(names[1])}"
            else:
                pieces = []
                for e in s.events[1:]:
                    w = _when(e.spans, self.f.duration)
                    pieces.append(_with_sounds(_sound_noun(e)) + (f" {w}" if w and w != when else ""))
                text += ", with " + _join(pieces)
        return text

    def sound_clause(self) -> str:
        s = self.f.sound
        assert s is not None
        if not s.events:
            return "other sounds are heard"
        when = _when(s.events[0].spans, self.f.duration)
        verb = "are" if _sound_noun(s.events[0]).endswith("sounds") else "is"
        text = f"{_sound_noun(s.events[0])} {verb} heard" + (f" {when}" if when else "")
        if len(s.events) > 1:
            text += f", with {_with_sounds(_sound_noun(s.events[1]))}"
        return text


# --------------------------------------------------------------------------------------------
# Facets
# --------------------------------------------------------------------------------------------


def _speech_facet(facts: _Facts, p: _Phrases) -> tuple[list[str], list[float]]:
    s = facts.speech
    assert s is not None
    presence = s.score
    if not s.expert_ok:
        texts = ["Speech is present, but no speech analysis is available",
                 "Spoken voice detected by the audio tagger; its words and speaker were not analysed",
                 "Unanalysed speech"]
        return texts, [_clamp(0.6 * presence)] * 3
    claim = []
    if s.gender:
        claim.append(s.gender_confidence)
    if s.language:
        claim.append(s.language_probability or 0.5)
    transcript_conf = 0.5 + 0.5 * (s.language_probability or 0.0)

    plain = _cap(p.speech_clause())
    if s.quote:
        plain += f", saying {s.quote}"
    elif s.transcript_state == "unreliable":
        plain += "; the words could not be transcribed reliably"
    elif s.transcript_state == "empty":
        plain += "; no words were transcribed"
    plain_claims = claim + ([transcript_conf] if s.quote else [0.6])

    desc = _cap(p.speech_descriptive())
    details = []
    if s.pace and s.wpm:
        details.append(f"about {s.wpm:.0f} words per minute")
    if facts.env.pauses and facts.env.pauses != "silence for most of the clip":
        details.append(f"with {facts.env.pauses}")
    if s.age:
        details.append(f"estimated age: {s.age}")
    if s.language_unclear:
        details.append("in a language that could not be identified reliably")
    if details:
        desc += ", " + ", ".join(details)
    desc_claims = claim + [0.8] * (1 if s.pace else 0) + [0.7] * (1 if s.pitch else 0)

    terse = _cap(p.speech_terse())
    if s.quote:
        terse = _pick(facts.key, "speech-terse", (terse, f"{terse}: {s.quote}"))
    terse_claims = claim or [0.7]
    confs = [_clamp(presence * _mean(c or [0.7])) for c in (plain_claims, desc_claims, terse_claims)]
    return _distinct([plain, desc, terse], [f"{_cap(p.speech_terse())} is heard", "Spoken voice"]), confs


def _music_facet(facts: _Facts, p: _Phrases) -> tuple[list[str], list[float]]:
    m = facts.music
    assert m is not None
    presence = m.score
    if not m.expert_ok:
        texts = ["Music is present, but no music analysis is available",
                 "Music detected by the audio tagger; its genre, key and tempo were not analysed",
                 "Unanalysed music"]
        return texts, [_clamp(0.6 * presence)] * 3
    label_scores = [s for _, s in m.genres + m.moods + m.instruments]
    claims = label_scores + ([m.key_confidence] if m.key and m.key_confidence else []) + (
        [m.beat_confidence] if m.tempo is not None and m.beat_confidence else [])
    vocals = p.vocals_phrase()

    plain = _cap(p.music_core("plain"))
    if vocals:
        plain += f", {vocals}"
    if m.vocal_quote:
        plain += f": {m.vocal_quote}"

    desc = _cap(p.music_core("descriptive"))
    extras = []
    when = _when(m.segments, facts.duration)
    if when and facts.speech is not None:
        extras.append(f"playing {when} alongside the speech")
    elif when and when != "throughout":
        extras.append(f"playing {when}")
    if m.texture:
        extras.append(f"with a {m.texture} texture")
    if vocals:
        extras.append(vocals)
    if extras:
        desc += ", " + ", ".join(extras)

    terse = _cap(p.music_core("terse"))
    if m.has_vocals:
        terse = f"{terse} with singing"
    vocal_claim = []
    if m.vocal_presence is not None:
        vocal_claim = [m.vocal_presence if m.has_vocals else 1.0 - m.vocal_presence]
    base = _mean(claims + vocal_claim) if claims or vocal_claim else 0.6
    confs = [_clamp(presence * (0.5 + 0.5 * base)), _clamp(presence * (0.45 + 0.5 * base)),
             _clamp(presence * (0.55 + 0.45 * base))]
    return _distinct([plain, desc, terse], ["Music can be heard in the clip", "A musical passage"]), confs


def _sound_facet(facts: _Facts, p: _Phrases) -> tuple[list[str], list[float]]:
    s = facts.sound
    assert s is not None
    presence = s.score
    if not s.events:
        texts = ["Other sounds are present, but none could be identified",
                 "Non-speech, non-musical sounds detected by the tagger without a confident label",
                 "Unidentified sounds"]
        return texts, [_clamp(0.5 * presence)] * 3
    plain = _cap(p.sound_core("plain"))
    desc = _cap(p.sound_core("descriptive"))
    if s.from_tags:
        plain += " present in the clip"
        desc += " (clip-level tags, no timing)"
    terse = _cap(p.sound_core("terse"))
    scores = [e.score for e in s.events]
    factor = 0.85 if s.from_tags else 1.0
    confs = [_clamp(factor * (0.5 * presence + 0.5 * _mean(scores[:2]))),
             _clamp(factor * (0.5 * presence + 0.5 * _mean(scores))),
             _clamp(factor * (0.5 * presence + 0.5 * _mean(scores[:2])))]
    names = p.sound_core("terse")
    return _distinct([plain, desc, terse], [f"{_cap(names)} can be heard", f"Sound of {names}"]), confs


def _absent_facet(facts: _Facts, facet: str, evidence: Mapping[str, Any]) -> tuple[list[str], list[float]]:
    first, second = _pick_two(facts.key, facet + "-absent", ABSENCE_PHRASES[facet])
    score = _routing_score(evidence, facet)
    conf = _clamp(1.0 - score) if score is not None and facts.decoded else 0.5 if facts.decoded else 0.0
    return [ABSENT, first, second], [conf] * 3


def _environment_words(env: _Environment) -> dict[str, str | None]:
    """Short adjectives for the environment sentence."""
    noise = {"clean": "clean", "slight noise": "slightly noisy", "noticeable noise": "noticeably noisy",
             "noisy": "noisy", "dense": "busy"}.get(env.noise or "")
    return {"noise": noise, "reverb": env.reverb, "band": env.band}


def _environment_facet(facts: _Facts) -> tuple[list[str], list[float]]:
    env = facts.env
    k = facts.key
    if not facts.decoded:
        return (["Undecodable clip without acoustic measurements",
                 "The audio could not be decoded, so the recording conditions are unknown",
                 "Unknown recording conditions"], [0.0] * 3)
    if not env.measured:
        return (["Recording conditions were not measured", "No acoustic measurements are available for this clip",
                 "Unmeasured acoustic conditions"], [0.2] * 3)
    if env.silent:
        return ([_pick(k, "env-silent", ("Silence throughout the recording", "Completely silent recording")),
                 "A silent recording with no measurable signal above -60 dBFS",
                 _pick(k, "env-silent3", ("Silent, empty soundscape", "Digital silence"))], [0.95] * 3)
    words = _environment_words(env)
    adjectives = [w for w in (words["noise"], words["reverb"]) if w]
    noun = _pick(k, "env-noun", ("recording", "acoustic environment", "sound space"))
    plain = _cap(", ".join(adjectives) + f" {noun}") if adjectives else f"A {noun} with unremarkable acoustics"
    if env.level:
        plain += f" at a {env.level} level"
    if env.noise == "dense":
        plain += " with no quiet gaps"
    if env.settings:
        plain += f", suggesting {env.settings[0][0]}"
    if env.ambience:
        plain += f", with ambient {_join(env.ambience)}"

    clauses = []
    if env.reverb:
        feel = {"dry": "dry, close-sounding acoustics", "slightly reverberant": "slight room reverberation",
                "reverberant": "noticeable reverberation",
                "highly reverberant": "strong, hall-like reverberation"}[env.reverb]
        rt60 = "under 0.1 s" if env.rt60 < 0.05 else f"about {env.rt60:.1f} s"
        clauses.append(f"{feel} (reverberation time {rt60})")
    if env.noise:
        clauses.append({"clean": "a near-silent noise floor", "slight noise": "a low noise floor",
                        "noticeable noise": "a noticeable noise floor", "noisy": "a high noise floor",
                        "dense": "dense, continuous sound with no quiet gaps"}[env.noise])
    if env.pauses:
        clauses.append(env.pauses)
    if env.noises:
        clauses.append(_join([n for n, _ in env.noises[:2]]) + " in the background")
    if env.ambience:
        clauses.append(f"ambient {_join(env.ambience)}")
    desc = _cap(_join(clauses[:4])) if clauses else "Unremarkable acoustics"
    tail = []
    if env.level and env.lufs is not None:
        tail.append(f"{env.level} level around {env.lufs:.0f} LUFS")
    if env.band:
        tail.append(f"{env.band} sound")
    if env.clipping:
        tail.append(env.clipping)
    if env.settings:
        tail.append(f"tagged as {env.settings[0][0]}")
    if tail:
        desc += "; " + ", ".join(tail)

    terse_bits = [w for w in (words["noise"], words["reverb"]) if w]
    if env.band:
        terse_bits.append(env.band.split(",")[0])
    if env.clipping:
        terse_bits.append("clipped")
    noun3 = _pick(k, "env-terse", ("recording", "setting", "capture"))
    if terse_bits:
        terse = _cap(", ".join(terse_bits[:3]) + f" {noun3}")
    else:
        terse = _cap(f"{env.level or 'unremarkable'} {noun3}")
    if env.ambience:
        terse += f" with {env.ambience[0]}"
    tag_scores = [s for _, s in env.settings + env.noises]
    conf = 0.85 if not tag_scores else 0.5 * 0.85 + 0.5 * _mean(tag_scores)
    alternatives = [_cap(", ".join(terse_bits) + " acoustic conditions") if terse_bits
                    else "Unremarkable acoustic conditions", "Recording conditions without notable features"]
    return _distinct([plain, desc, terse], alternatives), [_clamp(conf), _clamp(conf - 0.05), _clamp(conf + 0.03)]


def _absent_parts_clause(facts: _Facts) -> str | None:
    """'no music or other sounds' for the parts the domain says are absent (None if none or all)."""
    names = {"speech": "speech", "music": "music", "sound": "other sounds"}
    missing = [names[f] for f in ("speech", "music", "sound") if not facts.present(f)]
    if not missing or len(missing) == 3:
        return None
    return "no " + " or ".join(missing) if len(missing) == 2 else "no " + missing[0]


def _content_parts(facts: _Facts, p: _Phrases, style: str) -> list[str]:
    """Phrases for the present parts, speech first (speech as a clause in the plain style)."""
    parts = []
    if facts.speech is not None:
        parts.append({"plain": p.speech_clause, "noun": p.speech_np, "descriptive": p.speech_descriptive,
                      "terse": p.speech_terse}[style]())
    music_style = "plain" if style == "noun" else style
    if facts.music is not None:
        parts.append(p.music_core(music_style))
    if facts.sound is not None:
        parts.append(p.sound_core(music_style))
    return parts


def _with_rest(parts: Sequence[str], connector: str = " with ") -> str:
    """'a, with b and c'-style: the first part, then the others after ``connector``."""
    return parts[0] + (connector + _join(parts[1:]) if len(parts) > 1 else "")


def _env_short(facts: _Facts) -> str | None:
    words = _environment_words(facts.env)
    bits = [w for w in (words["noise"], words["reverb"]) if w and w != "busy"]
    return ", ".join(bits) or None


def _long_facet(facts: _Facts, p: _Phrases, env_texts: list[str]) -> list[str]:
    k = facts.key
    if not facts.decoded:
        return ["The clip could not be decoded, so its audio content was not analysed.",
                "No description is possible: decoding the audio failed and no expert examined it.",
                "Undecodable audio clip without analysis."]
    if facts.domain == "000":
        if facts.env.silent:
            return ["Silence throughout the recording, with no speech, music or other sounds.",
                    "A completely silent clip: the signal stays below -60 dBFS and no speech, music or "
                    "sound events are present.",
                    "Silent clip with no audible content."]
        level = f"at a {facts.env.level} level " if facts.env.level else ""
        env_desc = env_texts[1][0].lower() + env_texts[1][1:]
        return [f"A recording {level}in which no speech, music or distinct sound events were detected. {env_texts[0]}.",
                f"No identifiable speech, music or sound source is present. Acoustically: {env_desc}.",
                "Audio without identifiable content."]
    connector = _pick(k, "long-connector", (" alongside ", ", accompanied by ", " with "))
    plain_parts = _content_parts(facts, p, "plain")
    if facts.speech is not None:
        first = _cap(plain_parts[0])
        if facts.speech.quote:
            first += f", saying {facts.speech.quote}"
        if plain_parts[1:]:
            lead = _pick(k, "long-also", ("The speech is accompanied by", "It is accompanied by"))
            first += f". {lead} {_join(plain_parts[1:])}"
    elif facts.music is not None:
        lead = _pick(k, "long-music", ("The clip features", "The recording contains"))
        first = f"{lead} {plain_parts[0]}" + (connector + _join(plain_parts[1:]) if plain_parts[1:] else "")
    else:
        first = _cap(p.sound_clause())
    plain = f"{first}. {env_texts[0]}."

    desc = _cap(_with_rest(_content_parts(facts, p, "descriptive"), ", together with "))
    absent = _absent_parts_clause(facts)
    if absent:
        desc += f", with {absent}"
    if facts.env.measured and not facts.env.silent:
        lead = _pick(k, "long-env-lead",
                     ("Acoustically, the clip has", "The recording has", "It is captured with"))
        desc += f". {lead} {env_texts[1][0].lower() + env_texts[1][1:]}."
    else:
        desc += f". {env_texts[1]}."

    env_short = _env_short(facts)
    terse = _cap(_with_rest(_content_parts(facts, p, "terse")))
    terse += f" in a {env_short} recording." if env_short else "."
    return [plain, desc, terse]


def _fit_short(candidates: Sequence[str]) -> str:
    """The first candidate of at most SHORT_MAX_WORDS words (the last one cut if none fits)."""
    for text in candidates:
        if text and _words(text) <= SHORT_MAX_WORDS:
            return text
    return " ".join(candidates[-1].split()[:SHORT_MAX_WORDS]).rstrip(",;:.") + "."


def _short_facet(facts: _Facts, p: _Phrases) -> list[str]:
    k = facts.key
    if not facts.decoded:
        return ["Undecodable clip, not analysed.", "Audio could not be decoded.", "No analysable audio."]
    if facts.domain == "000":
        if facts.env.silent:
            return ["Silence throughout the recording.", "Completely silent clip with no content.",
                    "Silent audio."]
        return [f"Recording at a {facts.env.level} level without identifiable content." if facts.env.level
                else "Recording without identifiable content.",
                "No speech, music or distinct sounds detected.", "Content-free recording."]
    terse = _content_parts(facts, p, "terse")
    rest = _join(terse[1:])
    with_rest = f" with {rest}" if rest else ""
    if facts.speech is not None:
        head = _cap(p.speech_clause())
        connector = _pick(k, "short-with", ("with", "over", "amid"))
        v1 = [f"{head} {connector} {rest}." if rest else f"{head}.", f"{head}."]
    elif facts.music is not None:
        v1 = [f"{_cap(p.music_core('plain'))}{with_rest}.", f"{_cap(p.music_core('short'))}{with_rest}.",
              f"{_cap(p.music_core('short'))}."]
    else:
        v1 = [f"{_cap(p.sound_clause())}.", f"{_cap(p.sound_core('plain'))}."]
    env_short = _env_short(facts)
    joined = _with_rest(terse)
    if env_short:
        v2 = [f"{_cap(env_short)} recording of {joined}.", f"{_cap(env_short)} recording of {terse[0]}."]
    elif facts.env.noise == "dense":
        v2 = [f"{_cap(joined)}, with no quiet gaps.", f"{_cap(terse[0])}, with no quiet gaps."]
    else:
        v2 = [f"{_cap(joined)} can be heard.", f"{_cap(terse[0])} can be heard."]
    v3 = [f"{_cap(', '.join(terse))}.", f"{_cap(terse[0])}.", f"{_cap(terse[0])} only."]
    chosen: list[str] = []
    for candidates in (v1, v2, v3):
        fitting = [c for c in candidates if _words(c) <= SHORT_MAX_WORDS and c not in chosen]
        unused = [c for c in candidates if c not in chosen] or list(candidates)
        chosen.append(fitting[0] if fitting else _fit_short(unused))
    return chosen


# --------------------------------------------------------------------------------------------
# Question-answer pairs
# --------------------------------------------------------------------------------------------

# Difficulty layouts; three of A to one of B gives 25/35/25/15 % over many clips (MECAT).
_LAYOUT_A = ("basic", "intermediate", "intermediate", "advanced", "complex")
_LAYOUT_B = ("basic", "basic", "intermediate", "advanced", "advanced")


@dataclass(frozen=True)
class _Candidate:
    category: str
    difficulty: str
    question: str
    answer: str
    confidence: float


def _main_content(facts: _Facts, p: _Phrases) -> str:
    if facts.domain == "000":
        return "Silence." if facts.env.silent else "No identifiable content."
    return _cap(_with_rest(_content_parts(facts, p, "noun"))) + "."


def _qa_candidates(facts: _Facts, p: _Phrases, conf: dict[str, list[float]]) -> list[_Candidate]:
    """Every question this clip's evidence can answer, in a fixed order."""
    k, env = facts.key, facts.env
    s, m, snd = facts.speech, facts.music, facts.sound
    out: list[_Candidate] = []

    def add(category: str, difficulty: str, question: str, answer: str, confidence: float) -> None:
        out.append(_Candidate(category, difficulty, question, answer, confidence))

    long_conf, env_conf = conf["long"][0], conf["environment"][0]
    if not facts.decoded:
        unknown = "Unknown: the clip could not be decoded, so no expert analysed it."
        add("direct_perception", "basic", "What can be heard in this clip?", unknown, 0.0)
        add("environment_reasoning", "basic", "Where was this recorded?", unknown, 0.0)
        add("quality_assessment", "intermediate", "How good is the recording quality?", unknown, 0.0)
        add("sound_characteristics", "intermediate", "How loud is the clip?", unknown, 0.0)
        add("inference_judgement", "advanced", "Can the clip's content be described?", unknown, 0.0)
        add("application_context", "complex", "Is this clip usable for training?", "No: it could not be decoded.", 0.0)
        return out

    # direct perception
    main_q = _pick(k, "q-main", ("What can be heard in this recording?", "What is the main content of this clip?",
                                 "What type of audio is this?"))
    add("direct_perception", "basic", main_q, _main_content(facts, p), long_conf)
    part = _pick(k, "q-part", ("speech", "music", "sound"))
    part_q = {"speech": "Is anyone speaking in the clip?", "music": "Is there any music in the clip?",
              "sound": "Are there sounds other than speech and music?"}[part]
    if facts.present(part):
        detail = {"speech": p.speech_np, "music": lambda: p.music_core("plain"),
                  "sound": lambda: p.sound_core("plain")}[part]()
        add("direct_perception", "intermediate", part_q, f"Yes: {detail}.", conf[part][0])
    else:
        add("direct_perception", "intermediate", part_q, f"No, {ABSENCE_PHRASES[part][0].lower()}.", conf[part][0])

    # sound characteristics
    if env.level and env.lufs is not None:
        add("sound_characteristics", "basic", "How loud is the recording overall?",
            f"{_cap(env.level)}, with an integrated loudness around {env.lufs:.0f} LUFS.", env_conf)
    elif env.silent:
        add("sound_characteristics", "basic", "How loud is the recording overall?", "It is silent.", env_conf)
    if s is not None and s.pace and s.wpm:
        add("sound_characteristics", "intermediate", "How fast does the speaker talk?",
            f"At a {s.pace} pace, about {s.wpm:.0f} words per minute.", conf["speech"][1])
    elif s is not None and s.pitch and s.pitch_hz:
        add("sound_characteristics", "intermediate", "Is the voice high or low?",
            f"{_cap(s.pitch)}, with a median pitch around {s.pitch_hz:.0f} Hz.", conf["speech"][1])
    if m is not None and (m.tempo is not None or m.key):
        key = f"{'possibly ' if m.key_hedged else ''}{m.key}" if m.key else None
        if m.tempo is not None:
            answer = f"About {m.tempo:.0f} BPM" + (f", {key}." if key else "; no key was identified.")
        else:
            answer = f"{_cap(key or '')}; no steady tempo was found."
        add("sound_characteristics", "intermediate", "What are the tempo and key of the music?", answer,
            conf["music"][0])
    if snd is not None and snd.events and snd.events[0].spans:
        main = snd.events[0]
        add("sound_characteristics", "intermediate", f"When is the {_label_phrase(main.label)} heard?",
            _cap(_when(main.spans, facts.duration) or "at times") + ".", conf["sound"][1])

    # quality assessment
    if env.measured and not env.silent:
        verdict = {
            "clean": "Clean, with a near-silent noise floor",
            "slight noise": "Fairly clean, with a low noise floor",
            "noticeable noise": "There is a noticeable noise floor",
            "noisy": "Noisy, with a high noise floor",
            "dense": "The sound never falls quiet, so the noise floor is hidden",
        }.get(env.noise or "", "Unremarkable")
        quality_q = _pick(k, "q-quality",
                          ("How clean is the recording?", "How would you describe the recording clarity?"))
        band = f", and it is {env.band}." if env.band else "."
        add("quality_assessment", "intermediate", quality_q, verdict + band, env_conf)
        if env.clipping_ratio is not None:
            answer = (f"Yes, {env.clipping}: about {100 * env.clipping_ratio:.1f} % of samples are at full scale."
                      if env.clipping else "No, no clipping was measured.")
            add("quality_assessment", "advanced", "Is there any clipping or distortion from overload?", answer,
                env_conf)

    # environment reasoning
    if env.reverb and env.rt60 is not None:
        rt60 = "under 0.1 s" if env.rt60 < 0.05 else f"about {env.rt60:.1f} s"
        verdict = f"Yes, it is {env.reverb}" if env.reverb != "dry" else "No, it sounds dry"
        add("environment_reasoning", "advanced", "Does the recording space sound reverberant?",
            f"{verdict} (reverberation time {rt60}).", env_conf)
    if facts.domain != "000":
        if snd is not None and snd.events:
            answer = f"Yes: {p.sound_core('plain')}."
        elif snd is not None:
            answer = "Yes, but the sounds could not be identified."
        elif env.noise in ("clean", "slight noise"):
            answer = "No, the background is quiet."
        elif env.noise:
            answer = "No distinct sound source, but the background never falls quiet."
        else:
            answer = "No distinct background sound source was detected."
        add("environment_reasoning", "intermediate", "Is there any background sound behind the main content?",
            answer, conf["sound"][0] if snd is not None else env_conf)
    add("environment_reasoning", "complex", "What can be inferred about the recording setting?",
        _cap(_setting_summary(facts)) + ".", env_conf * 0.9)

    # inference and judgement
    if s is not None and s.expert_ok:
        if s.language:
            answer = f"{s.language}, identified with {100 * (s.language_probability or 0):.0f} % confidence."
        elif s.language_probability is not None:
            answer = (f"Unclear: the language identifier's best guess had only "
                      f"{100 * s.language_probability:.0f} % confidence.")
        else:
            answer = "It could not be determined."
        add("inference_judgement", "advanced", "Which language is spoken, and how certain is that?", answer,
            _clamp(0.5 + 0.5 * (s.language_probability or 0)))
    if s is not None and s.segments:
        others = [("music", m.segments)] if m is not None and m.segments else []
        others += [("sound", snd.segments)] if snd is not None and snd.segments else []
        if others:
            name, spans = others[0]
            if name == "music":
                thing = "the music"
            else:
                thing = _sound_noun(snd.events[0]) if snd and snd.events else "the other sounds"
            shared, speech_len = _overlap(s.segments, spans), _covered(s.segments)
            if speech_len and shared >= 0.8 * speech_len:
                answer = f"Yes, {thing} continues under the speech."
            elif shared > 0:
                answer = f"Partly: {thing} overlaps about {100 * shared / speech_len:.0f} % of the speech."
            else:
                answer = f"No, {thing} and the speech do not overlap."
            add("inference_judgement", "complex", f"Does the speech overlap with {thing}?", answer, long_conf)
    main_part = next((f for f in ("speech", "music", "sound") if facts.present(f)), None)
    if main_part is not None:
        score = {"speech": s, "music": m, "sound": snd}[main_part].score  # type: ignore[union-attr]
        strength = "strong" if score >= 0.8 else "moderate" if score >= 0.5 else "weak"
        what = "other sounds" if main_part == "sound" else main_part
        add("inference_judgement", "advanced", f"How certain is the presence of {what}?",
            f"The evidence is {strength}: the tagger scored it {score:.2f}.", _clamp(score))
    else:
        answer = ("It is silent throughout." if env.silent
                  else "No speech, music or sound class passed the detection thresholds.")
        add("inference_judgement", "advanced", "Why might this clip contain no identifiable content?", answer, env_conf)

    # application context
    question, answer = _application(facts)
    add("application_context", "complex", question, answer, long_conf)
    return out


def _setting_summary(facts: _Facts) -> str:
    """One sentence on the recording setting, from measurements and tags only."""
    env = facts.env
    if env.silent:
        return "nothing can be inferred: the clip is silent"
    bits = []
    if env.settings:
        bits.append(f"the tagger suggests {env.settings[0][0]}")
    if env.reverb:
        bits.append({"dry": "the space sounds dry and close",
                     "slightly reverberant": "there is slight room reverberation",
                     "reverberant": "the space is noticeably reverberant",
                     "highly reverberant": "the space is strongly reverberant"}[env.reverb])
    if env.ambience:
        bits.append(f"{_join(env.ambience)} can be heard")
    if env.noise in ("clean", "slight noise"):
        bits.append("the background is quiet")
    elif env.noise == "noisy":
        bits.append("the background is noisy")
    return "; ".join(bits) if bits else "the measurements do not reveal much about the setting"


def _application(facts: _Facts) -> tuple[str, str]:
    """An application-context question and its evidence-based answer."""
    s, m, snd, env = facts.speech, facts.music, facts.sound, facts.env
    if facts.domain == "000":
        return "What use could this clip have in an audio dataset?", "Mainly as an example of content-free audio."
    if s is not None:
        question = "Would this clip suit training a speech recogniser?"
        reliable = bool(s.quote and s.language and not s.language_hedged)
        if reliable and env.noise in ("clean", "slight noise") and m is None and snd is None:
            return question, "Yes: the speech is transcribed, with nothing else behind it and a quiet background."
        if reliable:
            return question, "Only with care: other sound or background noise accompanies the speech."
        if not s.expert_ok:
            return question, "Not as it is: no transcript is available."
        return question, "Not as it is: the transcript or its language is not reliable."
    if m is not None:
        if snd is not None:
            return ("Could this clip serve as a clean music sample?",
                    "Not entirely: other sounds occur alongside the music.")
        question = "Could this clip serve as an instrumental music sample?"
        if m.has_vocals:
            return question, "No, singing is present."
        if m.has_vocals is False:
            return question, "Yes, no speech or singing was detected."
        return question, "Possibly; singing was not assessed."
    if snd is not None and snd.events:
        name = _sound_noun(snd.events[0])
        return (f"Could this clip serve as a {name} sound effect?",
                f"Yes: {name} can be heard with no speech or music.")
    return "Could this clip serve as a sound effect?", "Hardly: the sounds were not identified."


def _select_qa(facts: _Facts, candidates: list[_Candidate]) -> list[QaPair]:
    """Five questions following a difficulty layout, each from a new category where possible."""
    layout = _LAYOUT_B if _stable(facts.key, "qa-layout") % 4 == 0 else _LAYOUT_A
    offset = _stable(facts.key, "qa-order") % len(candidates)
    pool = candidates[offset:] + candidates[:offset]
    chosen: list[_Candidate] = []
    for difficulty in layout:
        used = {c.category for c in chosen}
        options = [c for c in pool if c not in chosen and c.difficulty == difficulty]
        fresh = [c for c in options if c.category not in used]
        if fresh or options:
            chosen.append((fresh or options)[0])
    for new_category_only in (True, False):  # fill up, new categories first
        for c in pool:
            if len(chosen) >= QA_PER_CLIP:
                break
            if c not in chosen and not (new_category_only and c.category in {x.category for x in chosen}):
                chosen.append(c)
    return [QaPair(c.category, c.difficulty, c.question, c.answer, _clamp(c.confidence))
            for c in chosen[:QA_PER_CLIP]]


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def synthesize_caption(evidence: Mapping[str, Any]) -> CaptionRecord:
    """One clip's caption record from its evidence row (a dict as in ``evidence.to_pylist()``).

    Deterministic: the same row always gives the same record. A clip that was not decoded
    gets explicit "not analysed" texts with confidence 0 so that quality control drops it.
    """
    facts = _facts(evidence)
    phrases = _Phrases(facts)
    facets: dict[str, list[str]] = {}
    confidences: dict[str, list[float]] = {}
    builders = {"speech": _speech_facet, "music": _music_facet, "sound": _sound_facet}
    for facet in CONTENT_FACETS:
        if facts.present(facet):
            facets[facet], confidences[facet] = builders[facet](facts, phrases)
        else:
            facets[facet], confidences[facet] = _absent_facet(facts, facet, evidence)
    facets["environment"], confidences["environment"] = _environment_facet(facts)
    facets["long"] = _long_facet(facts, phrases, facets["environment"])
    facets["short"] = _short_facet(facts, phrases)
    if not facts.decoded:
        overall = [0.0, 0.0, 0.0]
    elif facts.domain == "000":
        overall = list(confidences["environment"])
    else:
        present = [f for f in CONTENT_FACETS if facts.present(f)]
        overall = [
            _clamp(0.8 * _mean([confidences[f][i] for f in present]) + 0.2 * confidences["environment"][i])
            for i in range(3)
        ]
    confidences["long"] = overall
    confidences["short"] = [_clamp(c + 0.02) if c > 0 else 0.0 for c in overall]
    qa = _select_qa(facts, _qa_candidates(facts, phrases, confidences))
    return CaptionRecord(
        domain=facts.domain,
        facets={f: facets[f] for f in FACETS},
        confidences={f: confidences[f] for f in FACETS},
        qa=qa,
    )
