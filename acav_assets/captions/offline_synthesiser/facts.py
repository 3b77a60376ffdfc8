"""Facts: one evidence row read into what the captions may state.

Which parts are present (the routed domain), the measurements each expert reported turned into
words, and the labels with their evidence level (an expert whose ``status`` is not ``"ok"``
counts as absent). :data:`EVIDENCE_LEVELS` decides whether a label is stated, hedged or left
out; :func:`transcript_issue` whether a transcript may be quoted.
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
from acav_assets.experts.acoustics import RT60_FLOOR_S
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
    "White noise": ("noise", "broadband hiss"),
    "Pink noise": ("noise", "broadband hiss"),
    "Noise": ("noise", "background noise"),
    "Background noise": ("noise", "background noise"),
    "Environmental noise": ("noise", "environmental noise"),
    "Hubbub, speech noise, speech babble": ("noise", "background babble"),
    "Tape hiss": ("noise", "tape hiss"),
    "Distortion": ("noise", "distortion"),
    "Cacophony": ("noise", "a cacophony of sounds"),
}
UNSPACED_LANGUAGES = {"zh", "ja", "th", "lo", "km", "my", "bo", "yue"}

# Evidence levels: the one place deciding whether a label or attribute may be stated.
# Each kind of evidence is a 0-1 number of its own origin, with two cut-offs (strong, moderate):
#   score >= strong            -> state it plainly ("rain", "a man", "English", "in D major");
#   moderate <= score < strong -> state it hedged ("what sounds like", "possibly", "a sound resembling");
#   score < moderate           -> leave it out.
# A routed part (speech / music / sound) is never left out - the domain says it is there - so a
# weak routing score reads as hedged too.
EVIDENCE_LEVELS = {
    "presence": (0.7, 0.4),  # routing score of a part the routed domain marks present
    "label": (0.6, 0.4),  # tag, sound-event, genre, mood and instrument scores (sigmoid outputs)
    "gender": (0.8, 0.5),  # gender classifier probability
    "language": (0.7, 0.5),  # ASR language probability; a quotation also needs "strong"
    "key": (0.6, 0.5),  # key-profile correlation
    "beat": (0.5, 0.25),  # beat strength: strong -> tempo in words, weak -> "no steady beat"
    "vocals": (0.6, 0.5),  # vocal presence: strong -> singing, moderate -> possible vocals
}
STRONG, MODERATE, WEAK = "strong", "moderate", "weak"


def evidence_level(kind: str, score: float | None) -> str:
    """``"strong"``, ``"moderate"`` or ``"weak"`` for a score of one kind of evidence."""
    strong, moderate = EVIDENCE_LEVELS[kind]
    if score is None or score < moderate:
        return WEAK
    return STRONG if score >= strong else MODERATE


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


# Whisper's own rules: a repetition loop compresses well; a low mean log-probability or a high
# no-speech probability marks an unreliable decode (used when the evidence carries them).
TRANSCRIPT_REPETITION_RATIO = 2.4
ASR_MIN_AVG_LOGPROB = -1.0
ASR_MAX_NO_SPEECH_PROB = 0.6
# Phrases Whisper is known to hallucinate on music, noise or silence (YouTube outros, subtitles).
HALLUCINATED_PHRASES = ("thank you for watching", "thanks for watching", "subscribe", "subtitles by")
HALLUCINATED_TRANSCRIPTS = ("you", "bye", "bye bye", "thank you")  # only when that is all there is
MUSIC_NOTES = "\u2669\u266a\u266b\u266c"
# Fewer characters per second of detected speech than this is a transcript that missed most of
# the words (or invented a few); unspaced scripts carry more per character.
MIN_CHARS_PER_SECOND = 2.0
MIN_CHARS_PER_SECOND_UNSPACED = 0.7
# Scripts expected for a language (Unicode name prefixes); languages not listed use Latin.
LANGUAGE_SCRIPTS = {
    "zh": ("CJK",), "yue": ("CJK",), "ja": ("CJK", "HIRAGANA", "KATAKANA"), "ko": ("HANGUL",),
    "ru": ("CYRILLIC",), "uk": ("CYRILLIC",), "bg": ("CYRILLIC",), "be": ("CYRILLIC",), "mk": ("CYRILLIC",),
    "kk": ("CYRILLIC",), "mn": ("CYRILLIC",), "tg": ("CYRILLIC",), "ba": ("CYRILLIC",), "tt": ("CYRILLIC",),
    "sr": ("CYRILLIC", "LATIN"), "el": ("GREEK",), "ar": ("ARABIC",), "fa": ("ARABIC",), "ur": ("ARABIC",),
    "ps": ("ARABIC",), "sd": ("ARABIC",), "he": ("HEBREW",), "yi": ("HEBREW",), "hi": ("DEVANAGARI",),
    "mr": ("DEVANAGARI",), "ne": ("DEVANAGARI",), "sa": ("DEVANAGARI",), "bn": ("BENGALI",),
    "as": ("BENGALI",), "ta": ("TAMIL",), "te": ("TELUGU",), "kn": ("KANNADA",), "ml": ("MALAYALAM",),
    "gu": ("GUJARATI",), "pa": ("GURMUKHI",), "th": ("THAI",), "lo": ("LAO",), "km": ("KHMER",),
    "my": ("MYANMAR",), "ka": ("GEORGIAN",), "hy": ("ARMENIAN",), "am": ("ETHIOPIC",), "si": ("SINHALA",),
    "bo": ("TIBETAN",),
}


def _repeats(tokens: Sequence[str]) -> bool:
    """A phrase of 1-8 tokens three times in a row, or one of 4+ tokens three times anywhere."""
    for n in range(1, 9):
        for i in range(len(tokens) - 3 * n + 1):
            if tokens[i : i + n] == tokens[i + n : i + 2 * n] == tokens[i + 2 * n : i + 3 * n]:
                return True
    grams: dict[tuple[str, ...], int] = {}
    for i in range(len(tokens) - 3):
        gram = tuple(tokens[i : i + 4])
        grams[gram] = grams.get(gram, 0) + 1
        if grams[gram] >= 3:
            return True
    return False


def speech_transcript_issue(speech: Mapping) -> str | None:
    """:func:`transcript_issue` of a speech expert's row (its transcript, language, seconds and
    confidences): also what curation reads, so a transcript never quoted is never compared."""
    code = speech.get("language")
    return transcript_issue(speech.get("transcript"), code if isinstance(code, str) else None,
                            _num(speech.get("speech_seconds")), _num(speech.get("language_probability")),
                            _num(speech.get("avg_logprob")), _num(speech.get("no_speech_prob")))


def transcript_issue(
    text: str | None,
    language: str | None = None,
    speech_seconds: float | None = None,
    language_probability: float | None = None,
    avg_logprob: float | None = None,
    no_speech_prob: float | None = None,
) -> str | None:
    """Why an ASR transcript must not be quoted, or None when it may be.

    The one check for hallucinated or unreliable transcripts: ``"empty"``; ``"hallucination"``
    (a known Whisper phrase, a lone "you"/"bye", music-note symbols); ``"repetition"`` (a loop
    that compresses too well, or a phrase repeated three times); ``"sparse"`` (too few characters
    for the seconds of speech); ``"script"`` (letters not in the language's script); and
    ``"uncertain"`` (the ASR is not confident: language probability below "strong", or Whisper's
    log-probability / no-speech rules when the evidence has them). Only ``"uncertain"`` leaves
    the words plausible; every other reason means the text is not what was said.
    """
    if not text or not text.strip():
        return "empty"
    normalised = " ".join(re.findall(r"\w+", text.lower()))
    if (any(note in text for note in MUSIC_NOTES) or normalised in HALLUCINATED_TRANSCRIPTS
            or any(re.search(rf"\b{phrase}\b", normalised) for phrase in HALLUCINATED_PHRASES)):
        return "hallucination"
    raw = text.strip().encode("utf-8")
    unspaced = language in UNSPACED_LANGUAGES
    tokens = [ch for ch in text if ch.isalnum()] if unspaced else normalised.split()
    if (len(raw) >= 40 and len(raw) / len(zlib.compress(raw)) > TRANSCRIPT_REPETITION_RATIO) or _repeats(tokens):
        return "repetition"
    chars = sum(not ch.isspace() for ch in text)
    if speech_seconds is not None and speech_seconds >= 2.0:
        floor = MIN_CHARS_PER_SECOND_UNSPACED if unspaced else MIN_CHARS_PER_SECOND
        if chars / speech_seconds < floor:
            return "sparse"
    letters = [ch for ch in text if ch.isalpha()]
    if language and letters:
        scripts = LANGUAGE_SCRIPTS.get(language, ("LATIN",))
        matching = sum(unicodedata.name(ch, "").startswith(scripts) for ch in letters)
        if matching < 0.5 * len(letters):
            return "script"
    if (evidence_level("language", language_probability) != STRONG
            or (avg_logprob is not None and avg_logprob < ASR_MIN_AVG_LOGPROB)
            or (no_speech_prob is not None and no_speech_prob > ASR_MAX_NO_SPEECH_PROB)):
        return "uncertain"
    return None


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
    text = text.rstrip(" ,;:-" + (".!?" if cut else ""))
    return f'"{text}\u2026"' if cut else f'"{text}"'


# --------------------------------------------------------------------------------------------
# Facts: what the experts reported, in a form the templates use
# --------------------------------------------------------------------------------------------


@dataclass
class _Speech:
    expert_ok: bool
    score: float
    hedged: bool = False  # presence only moderately supported
    gender: str | None = None  # "male" | "female", when not weak
    gender_hedged: bool = False
    gender_confidence: float = 0.0
    language: str | None = None
    language_hedged: bool = False
    language_probability: float | None = None
    language_unclear: bool = False
    transcript_issue: str | None = "empty"
    quote: str | None = None
    quote_short: str | None = None
    pace: str | None = None  # "fast" | "slow" | "steady"
    pitch: str | None = None  # "low" | "mid" | "high"
    segments: list[tuple[float, float]] = field(default_factory=list)
    emotion: str | None = None
    age: str | None = None
    speakers: int | None = None


@dataclass
class _Music:
    expert_ok: bool
    score: float
    hedged: bool = False
    genres: list[tuple[str, float, bool]] = field(default_factory=list)  # (label, score, hedged)
    moods: list[tuple[str, float, bool]] = field(default_factory=list)
    instruments: list[tuple[str, float, bool]] = field(default_factory=list)
    tempo: str | None = None  # "slow" | "moderate" | "upbeat" | "fast"
    beat: str | None = None  # "steady" | "loose"
    beat_confidence: float | None = None
    key: str | None = None
    key_hedged: bool = False
    key_confidence: float | None = None
    texture: str | None = None  # "tonal" | "percussive"
    vocals: str | None = None  # "singing" | "possible" | "instrumental"
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
    hedged: bool = False


@dataclass
class _Sound:
    expert_ok: bool
    score: float
    hedged: bool = False
    events: list[_Event] = field(default_factory=list)  # distinct lineages, best first, none weak
    from_tags: bool = False
    segments: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class _Environment:
    measured: bool
    silent: bool = False
    level: str | None = None
    noise: str | None = None  # "clean" | "slight noise" | "noticeable noise" | "noisy" | "dense"
    reverb: str | None = None  # "dry" | "slightly reverberant" | "reverberant" | "highly reverberant"
    band: str | None = None  # "narrow" | "muffled"
    clipping: str | None = None  # "heavy" | "some"
    clipping_measured: bool = False
    pauses: str | None = None  # "mostly silent" | "long" | "short" | "none"
    settings: list[tuple[str, bool]] = field(default_factory=list)  # (phrase, hedged)
    noises: list[tuple[str, bool]] = field(default_factory=list)
    tag_scores: list[float] = field(default_factory=list)
    ambience: list[_Event] = field(default_factory=list)


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


def _labels(items: Any) -> list[tuple[str, float, bool]]:
    """(label, score, hedged) of scored labels that are not weak, best first."""
    out = []
    for item in items or []:
        if isinstance(item, Mapping) and item.get("label"):
            score = _num(item.get("score")) or 0.0
            level = evidence_level("label", score)
            if level != WEAK:
                out.append((str(item["label"]), score, level == MODERATE))
    return sorted(out, key=lambda t: -t[1])


def _domain(evidence: Mapping[str, Any]) -> str:
    for candidate in (evidence.get("routed_domain"), (_ok(evidence, "routing") or {}).get("domain")):
        if isinstance(candidate, str) and candidate in DOMAINS:
            return candidate
    return "000"


def _routing_score(evidence: Mapping[str, Any], part: str) -> float | None:
    routing = _ok(evidence, "routing")
    return _num(routing.get(f"{part}_score")) if routing else None


def _presence(evidence: Mapping[str, Any], part: str) -> tuple[float, bool, list[tuple[float, float]]]:
    """(routing score, hedged, routed segments) of a part the domain marks present."""
    score = _routing_score(evidence, part)
    score = 0.5 if score is None else score
    routing = _ok(evidence, "routing")
    segments = _spans(routing.get(f"{part}_segments")) if routing else []
    return score, evidence_level("presence", score) != STRONG, segments


def _speech_facts(evidence: Mapping[str, Any]) -> _Speech:
    expert = _ok(evidence, "speech")
    score, hedged, segments = _presence(evidence, "speech")
    facts = _Speech(expert_ok=expert is not None, score=score, hedged=hedged, segments=segments)
    if expert is None:
        return facts
    facts.segments = _spans(expert.get("vad_segments")) or facts.segments
    gender, gender_conf = expert.get("gender"), _num(expert.get("gender_confidence")) or 0.0
    gender_level = evidence_level("gender", gender_conf)
    if gender in ("male", "female") and gender_level != WEAK:
        facts.gender, facts.gender_hedged, facts.gender_confidence = gender, gender_level == MODERATE, gender_conf
    code, prob = expert.get("language"), _num(expert.get("language_probability"))
    code = code if isinstance(code, str) else None
    name = LANGUAGE_NAMES.get(code) if code else None
    facts.language_probability = prob
    language_level = evidence_level("language", prob)
    if name and language_level != WEAK:
        facts.language, facts.language_hedged = name, language_level == MODERATE
    elif code:
        facts.language_unclear = True
    text = expert.get("transcript")
    speech_seconds = _num(expert.get("speech_seconds"))
    facts.transcript_issue = speech_transcript_issue(expert)
    spaced = code not in UNSPACED_LANGUAGES
    if facts.transcript_issue is None:
        facts.quote = quote_transcript(text, max_words=8 if spaced else 1, max_chars=56 if spaced else 20)
        facts.quote_short = quote_transcript(text, max_words=5 if spaced else 1, max_chars=36 if spaced else 12)
    wpm = _num(expert.get("speaking_rate_wpm"))
    if facts.transcript_issue in (None, "uncertain") and wpm and (speech_seconds or 0.0) >= 2.0 and spaced:
        facts.pace = "fast" if wpm > 180 else "slow" if wpm < 110 else "steady"
    pitch = _num(expert.get("pitch_median_hz"))
    if pitch is not None:
        facts.pitch = "low" if pitch < 125 else "high" if pitch > 210 else "mid"
    emotion = _clean_attribute(expert.get("emotion"))
    facts.emotion = EMOTION_NAMES.get(emotion, emotion) if emotion else None
    facts.age = _clean_attribute(expert.get("age"))
    count = _clean_attribute(expert.get("speaker_count"))
    if count is not None and count.isdigit() and int(count) > 0:
        facts.speakers = int(count)
    return facts


def _music_facts(evidence: Mapping[str, Any]) -> _Music:
    expert = _ok(evidence, "music")
    score, hedged, segments = _presence(evidence, "music")
    facts = _Music(expert_ok=expert is not None, score=score, hedged=hedged, segments=segments)
    if expert is None:
        return facts
    facts.genres = _labels(expert.get("genres"))[:2]
    facts.moods = _labels(expert.get("moods"))[:1]
    facts.instruments = _labels(expert.get("instruments"))[:3]
    facts.beat_confidence = _num(expert.get("beat_confidence"))
    beat = evidence_level("beat", facts.beat_confidence)
    tempo = _num(expert.get("tempo_bpm"))
    if beat == STRONG:
        facts.beat = "steady"
        if tempo is not None and not expert.get("tempo_octave_ambiguous"):
            facts.tempo = "slow" if tempo < 76 else "moderate" if tempo < 104 else "upbeat" if tempo < 136 else "fast"
    elif beat == WEAK and facts.beat_confidence is not None:
        facts.beat = "loose"
    key, mode, key_conf = expert.get("musical_key"), expert.get("mode"), _num(expert.get("key_confidence"))
    named = isinstance(key, str) and re.fullmatch(r"[A-G][#b]?", key) is not None
    key_level = evidence_level("key", key_conf)
    if named and key_level != WEAK:
        facts.key = f"{key} {mode}" if mode in ("major", "minor") else key
        facts.key_hedged, facts.key_confidence = key_level == MODERATE, key_conf
    harmonic, percussive = _num(expert.get("harmonic_ratio")), _num(expert.get("percussive_ratio"))
    if harmonic is not None and harmonic >= 0.7:
        facts.texture = "tonal"
    elif percussive is not None and percussive >= 0.6:
        facts.texture = "percussive"
    facts.vocal_presence = _num(expert.get("vocal_presence"))
    vocal_level = evidence_level("vocals", facts.vocal_presence)
    if expert.get("has_vocals") is True and vocal_level != WEAK:
        facts.vocals = "singing" if vocal_level == STRONG else "possible"
    elif expert.get("has_vocals") is False and facts.vocal_presence is not None and 1 - facts.vocal_presence >= 0.7:
        facts.vocals = "instrumental"
    if facts.vocals == "singing":
        lyrics = expert.get("vocal_transcript")
        code = expert.get("vocal_language")
        code = code if isinstance(code, str) else None
        # No language probability for lyrics: a strong vocal presence stands in for it.
        if transcript_issue(lyrics, code, _num(expert.get("vocal_speech_seconds")), 1.0) is None:
            facts.vocal_quote = quote_transcript(lyrics, max_words=7, max_chars=48)
        facts.vocal_language = LANGUAGE_NAMES.get(code) if code else None
    return facts


def _sound_facts(evidence: Mapping[str, Any]) -> _Sound:
    expert = _ok(evidence, "sound_events")
    score, hedged, segments = _presence(evidence, "sound")
    facts = _Sound(expert_ok=expert is not None, score=score, hedged=hedged, segments=segments)
    by_label: dict[str, _Event] = {}
    if expert is not None:
        for event in expert.get("events") or []:
            if not isinstance(event, Mapping) or not event.get("label"):
                continue
            label = str(event["label"])
            item = by_label.setdefault(label, _Event(label, str(event.get("mid") or ""), 0.0, []))
            item.score = max(item.score, _num(event.get("max_score")) or 0.0)
            item.spans += _spans([[event.get("onset_s"), event.get("offset_s")]])
    if not by_label:  # fall back to the clip-level tags outside speech / music
        tagging = _ok(evidence, "tagging")
        excluded = (_subtree(SPEECH) | _subtree(MUSIC) | _subtree(SILENCE)
                    | _subtree(CHANNEL_ENVIRONMENT_BACKGROUND))
        for tag in (tagging or {}).get("top_labels") or []:
            if not isinstance(tag, Mapping):
                continue
            mid = str(tag.get("mid") or "")
            if mid not in excluded and tag.get("label"):
                by_label[str(tag["label"])] = _Event(str(tag["label"]), mid, _num(tag.get("score")) or 0.0, [])
        facts.from_tags = True
    chosen: list[_Event] = []
    for event in sorted(by_label.values(), key=lambda e: (-e.score, e.label)):
        level = evidence_level("label", event.score)
        if level != WEAK and not _related([c.mid for c in chosen], event.mid):
            event.hedged = level == MODERATE
            chosen.append(event)
    facts.events = chosen[:3]
    facts.from_tags = facts.from_tags and bool(facts.events)
    return facts


def _environment_facts(evidence: Mapping[str, Any], content_elsewhere: bool, sound: _Sound | None) -> _Environment:
    acoustics = _ok(evidence, "acoustics")
    env = _Environment(measured=acoustics is not None)
    if acoustics is not None:
        env.silent = bool(acoustics.get("is_silent"))
        lufs = _num(acoustics.get("loudness_lufs"))
        if lufs is not None:
            env.level = ("nearly inaudible" if lufs < -50 else "very quiet" if lufs < -36
                         else "quiet" if lufs < -27 else "moderate" if lufs <= -14
                         else "loud" if lufs <= -9 else "very loud")
        snr = _num(acoustics.get("snr_db"))
        if snr is not None:
            env.noise = ("clean" if snr >= 35 else "slight noise" if snr >= 20 else "noticeable noise" if snr >= 12
                         else "dense" if content_elsewhere else "noisy")
        rt60 = _num(acoustics.get("rt60_s"))
        if rt60 is not None and rt60 <= RT60_FLOOR_S + 1e-9:
            # The estimator's floor: decays too fast to resolve. That reads as "dry" only where a
            # quiet background let the decays be seen at all; otherwise nothing is said.
            env.reverb = "dry" if env.noise in ("clean", "slight noise") else None
        elif rt60 is not None:
            env.reverb = ("dry" if rt60 < 0.3 else "slightly reverberant" if rt60 < 0.7
                          else "reverberant" if rt60 < 1.2 else "highly reverberant")
        bandwidth = _num(acoustics.get("bandwidth_hz"))
        if bandwidth is not None and 0 < bandwidth < 6000:
            env.band = "narrow" if bandwidth < 3800 else "muffled"
        clipping = _num(acoustics.get("clipping_ratio"))
        env.clipping_measured = clipping is not None
        if clipping is not None:
            env.clipping = "heavy" if clipping > 0.01 else "some" if clipping > 0.001 else None
        silence = _num(acoustics.get("silence_ratio"))
        if silence is not None and not env.silent:
            env.pauses = ("mostly silent" if silence > 0.6 else "long" if silence > 0.3
                          else "short" if silence > 0.1 else "none" if silence < 0.02 else None)
    tagging = _ok(evidence, "tagging")
    for tag in (tagging or {}).get("top_labels") or []:
        if not isinstance(tag, Mapping):
            continue
        kind_phrase = ENVIRONMENT_TAGS.get(str(tag.get("label")))
        score = _num(tag.get("score")) or 0.0
        level = evidence_level("label", score)
        if kind_phrase and level != WEAK:
            target = env.settings if kind_phrase[0] == "setting" else env.noises
            if kind_phrase[1] not in [p for p, _ in target]:
                target.append((kind_phrase[1], level == MODERATE))
                env.tag_scores.append(score)
    if sound is not None:
        natural = _subtree(NATURAL_SOUNDS)
        env.ambience = [e for e in sound.events if e.mid in natural][:2]
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
