"""The caption synthesis prompt: one evidence row rendered as text, and the chat messages.

The wording lives in the versioned file ``prompts/caption_v1.txt`` (``PROMPT_VERSION``); this
module only fills it in. Every piece of untrusted text (transcripts, sung words, source
metadata, the audio-language model's description) is put inside an
``<untrusted name="…">…</untrusted>`` fence, with angle brackets and their look-alikes turned
into parentheses and invisible characters removed, so that the data can never open or close a
fence, and is cut to a bounded length.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from acav_assets.captions.schema import CONTENT_FACETS, DOMAIN_RE, split_reasoning

PROMPT_VERSION = "caption-v1"
PROMPT_FILE = "caption_v1.txt"
FENCE_OPEN = '<untrusted name="{name}">'
FENCE_CLOSE = "</untrusted>"
# Longest untrusted text shown, in characters (longer text is cut and marked).
MAX_CHARS = {"title": 200, "description": 600, "tags": 300, "transcript": 1500, "sung_words": 800,
             "lalm_description": 1200}
MAX_REPLY_CHARS = 30_000  # of an invalid reply quoted back in a repair conversation
MAX_TAGS = 10
MIN_TAG_SCORE = 0.01
MAX_EVENTS = 20
MAX_SEGMENTS = 8
MAX_LABELS = 6
OK, ERROR, NOT_APPLICABLE = "ok", "error", "not_applicable"

_SECTION_RE = re.compile(r"^=== ([a-z_]+) ===$", re.MULTILINE)
_PLACEHOLDER_RE = re.compile(r"\[\[([A-Z_]+)\]\]")
# Angle brackets and their look-alikes (modifier letters, Canadian syllabics, single guillemets,
# technical, mathematical, ornamental, CJK, small and fullwidth forms) become parentheses.
_LEFT_ANGLES = "<\u02c2\u1438\u2039\u2329\u276c\u276e\u2770\u27e8\u27ea\u29fc\u3008\ufe64\uff1c"
_RIGHT_ANGLES = ">\u02c3\u1433\u203a\u232a\u276d\u276f\u2771\u27e9\u27eb\u29fd\u3009\ufe65\uff1e"
_NAMED_ANGLES = {"lt": "<", "gt": ">", "lsaquo": "\u2039", "rsaquo": "\u203a", "langle": "\u27e8",
                 "rangle": "\u27e9", "lang": "\u27e8", "rang": "\u27e9"}
_ENTITY_RE = re.compile(r"&(?:(lsaquo|rsaquo|langle|rangle|lang|rang|lt|gt)|#0*(\d{1,7})|#x0*([0-9a-f]{1,6}));?",
                        re.IGNORECASE)
# Invisible characters that are not of category Cf: Hangul fillers, the combining grapheme joiner,
# variation selectors.
_INVISIBLE = frozenset([0x115F, 0x1160, 0x3164, 0xFFA0, 0x034F, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_CONTENT_WORDS = {"speech": "speech", "music": "music", "sound": "sounds that are neither speech nor music"}
_DOMAIN_WORDS = ("speech", "music", "other sound")


# ---- prompt file ---------------------------------------------------------------------------------

@functools.cache
def prompt_sections() -> dict[str, str]:
    """The named sections of the prompt file (``system``, ``user``, ``repair``, …)."""
    text = resources.files("acav_assets").joinpath("prompts", PROMPT_FILE).read_text(encoding="utf-8")
    matches = list(_SECTION_RE.finditer(text))
    sections = {}
    for match, following in zip(matches, matches[1:] + [None]):
        end = following.start() if following else len(text)
        sections[match.group(1)] = text[match.end():end].strip("\n")
    missing = {"system", "user", "present_facet", "absent_facet", "unknown_domain", "repair"} - set(sections)
    if missing:
        raise RuntimeError(f"prompt file {PROMPT_FILE} lacks sections {sorted(missing)}")
    return sections


def _fill(template: str, **values: str) -> str:
    """Replace ``[[NAME]]`` placeholders in one pass (inserted text is never re-scanned)."""
    return _PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), template)


# ---- untrusted text ------------------------------------------------------------------------------

class _Cleaning(dict):
    """A ``str.translate`` table filled on first sight of each character: controls become spaces,
    format characters (Cf: zero-width, bidi controls, tags U+E0000–E007F) and other invisible ones
    go, lone surrogates become U+FFFD, angle brackets and look-alikes become parentheses."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        category = unicodedata.category(char)
        if char in _LEFT_ANGLES or char in _RIGHT_ANGLES:
            value = "(" if char in _LEFT_ANGLES else ")"
        elif category == "Cc":
            value = " "
        elif category == "Cf" or 0xE0000 <= code <= 0xE007F or code in _INVISIBLE:
            value = ""
        else:
            value = "\ufffd" if category == "Cs" else char
        self[code] = value
        return value


_CLEANING = _Cleaning()


def _angle_entity(match: re.Match[str]) -> str:
    """An HTML entity for an angle bracket or look-alike as a parenthesis; any other unchanged."""
    name, decimal, hexadecimal = match.groups()
    code = int(decimal) if decimal else int(hexadecimal, 16) if hexadecimal else None
    char = _NAMED_ANGLES[name.lower()] if name else chr(code) if code < 0x110000 else ""
    if char and (char in _LEFT_ANGLES or char in _RIGHT_ANGLES):
        return "(" if char in _LEFT_ANGLES else ")"
    return match.group(0)


def neutralise(text: str) -> str:
    """Untrusted text made safe to fence: invisible characters go, angle brackets (their
    look-alikes and HTML entities too) become parentheses, whitespace is collapsed."""
    text = _ENTITY_RE.sub(_angle_entity, text.translate(_CLEANING))
    return " ".join(text.split())


def fence(name: str, text: str, max_chars: int) -> str:
    """``text`` inside an untrusted fence called ``name``, neutralised and cut to ``max_chars``."""
    clean = neutralise(text)
    note = ""
    if len(clean) > max_chars:
        note = f" (cut from {len(clean)} characters)"
        clean = clean[:max_chars].rstrip() + "\u2026"
    return FENCE_OPEN.format(name=name) + clean + FENCE_CLOSE + note


def _plain(value: Any, max_chars: int = 60) -> str:
    """A short machine-produced string (label, model name, language code), defensively cleaned."""
    text = neutralise(str(value))
    return text if len(text) <= max_chars else text[:max_chars] + "\u2026"


# ---- numbers -------------------------------------------------------------------------------------

def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _num(value: float, digits: int = 1) -> str:
    text = f"{value:.{digits}f}"
    if text.startswith("-"):
        text = "\u2212" + text[1:] if float(text) != 0 else text[1:]
    return text


def _pct(value: float) -> str:
    return f"{value * 100:.0f} %"


def _segments(segments: Sequence[Sequence[float]] | None) -> str:
    if not segments:
        return "none"
    shown = [f"{_num(a)}\u2013{_num(b)} s" for a, b in list(segments)[:MAX_SEGMENTS]]
    more = len(segments) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _scored(labels: Sequence[Mapping[str, Any]] | None) -> str:
    if not labels:
        return "none above threshold"
    shown = [f"{_plain(x.get('label'))} {_num(x.get('score') or 0.0, 2)}" for x in list(labels)[:MAX_LABELS]]
    return ", ".join(shown)


# ---- one evidence row --------------------------------------------------------------------------

def caption_domain(evidence: Mapping[str, Any]) -> str | None:
    """The domain the captions must follow: the routed domain, else the routing expert's, else
    the manifest's; None when none is a valid three-letter domain."""
    routing = evidence.get("routing") or {}
    for value in (evidence.get("routed_domain"), routing.get("domain"), evidence.get("recorded_domain")):
        if isinstance(value, str) and DOMAIN_RE.match(value):
            return value
    return None


def describe_domain(domain: str) -> str:
    """``"S0A (speech present, music absent, other sound present)"``."""
    parts = [f"{word} {'absent' if letter == '0' else 'present'}" for word, letter in zip(_DOMAIN_WORDS, domain)]
    return f"{domain} ({', '.join(parts)})"


def _status(expert: Mapping[str, Any] | None) -> str | None:
    return None if not expert else expert.get("status")


def _unavailable(title: str) -> str:
    return f"{title}: unavailable (the expert failed on this clip)."


def _clip_lines(ev: Mapping[str, Any]) -> list[str]:
    start, end, duration = ev.get("start_s"), ev.get("end_s"), ev.get("duration_s")
    line = "Clip:"
    if _finite(duration):
        line += f" {_num(duration)} s long"
    if _finite(start):
        line += f", seconds {_num(start)}\u2013{_num(end) + ' s' if _finite(end) else 'end'} of the source file"
    lines = [line + "."]
    if ev.get("decode_status") == ERROR:
        kind = ev.get("decode_error_kind")
        lines.append(f"Audio decoding failed ({_plain(kind) if kind else 'unknown reason'}); the audio experts had nothing to analyse.")
    return lines


def _routing_lines(ev: Mapping[str, Any]) -> list[str]:
    routing = ev.get("routing")
    status = _status(routing)
    if status == ERROR:
        return [_unavailable("Domain router")]
    if status != OK:
        return []
    domain = caption_domain(ev)
    lines = [f"Domain router: {describe_domain(domain) if domain else 'no domain'}."]
    scores = [f"{word} {_num(routing[key], 2)}" for word, key in
              zip(_DOMAIN_WORDS, ("speech_score", "music_score", "sound_score")) if _finite(routing.get(key))]
    if scores:
        lines.append("  Best 2-second-window probabilities: " + ", ".join(scores) + ".")
    lines.append("  Where: speech " + _segments(routing.get("speech_segments")) + "; music "
                 + _segments(routing.get("music_segments")) + "; other sound "
                 + _segments(routing.get("sound_segments")) + ".")
    recorded = ev.get("recorded_domain") or routing.get("recorded_domain")
    if recorded and domain and recorded != domain:
        lines.append(f"  The source manifest claims domain {_plain(recorded, 8)} (less reliable than the router).")
    if routing.get("is_silent"):
        lines.append("  The clip is silent or nearly so.")
    return lines


def _tagging_lines(ev: Mapping[str, Any]) -> list[str]:
    tagging = ev.get("tagging")
    status = _status(tagging)
    if status == ERROR:
        return [_unavailable("AudioSet tagger")]
    if status != OK:
        return []
    labels = [x for x in (tagging.get("top_labels") or []) if _finite(x.get("score")) and x["score"] >= MIN_TAG_SCORE]
    shown = "; ".join(f"{_plain(x.get('label'))} {_num(x['score'], 2)}" for x in labels[:MAX_TAGS])
    return [f"AudioSet tags (whole clip, probability 0\u20131): {shown or 'nothing above ' + str(MIN_TAG_SCORE)}."]


def _speech_lines(ev: Mapping[str, Any]) -> list[str]:
    speech = ev.get("speech")
    status = _status(speech)
    if status == ERROR:
        return [_unavailable("Speech")]
    if status != OK:
        return []
    facts = []
    language = speech.get("language")
    if language:
        prob = speech.get("language_probability")
        facts.append(f"language {_plain(language, 12)}" + (f" (probability {_num(prob, 2)})" if _finite(prob) else ""))
    if _finite(speech.get("speech_seconds")):
        text = f"voice activity {_num(speech['speech_seconds'])} s"
        if _finite(speech.get("speech_ratio")):
            text += f" ({_pct(speech['speech_ratio'])} of the clip)"
        facts.append(text + " at " + _segments(speech.get("vad_segments")))
    if _finite(speech.get("words")):
        text = f"{int(speech['words'])} words"
        if _finite(speech.get("speaking_rate_wpm")):
            text += f" at {_num(speech['speaking_rate_wpm'], 0)} words/min"
        facts.append(text)
    if _finite(speech.get("pitch_median_hz")):
        text = f"pitch median {_num(speech['pitch_median_hz'], 0)} Hz"
        if _finite(speech.get("pitch_p10_hz")) and _finite(speech.get("pitch_p90_hz")):
            text += f" (10th\u201390th percentile {_num(speech['pitch_p10_hz'], 0)}\u2013{_num(speech['pitch_p90_hz'], 0)} Hz)"
        facts.append(text)
    if _finite(speech.get("voiced_ratio")):
        facts.append(f"voiced {_pct(speech['voiced_ratio'])} of speech frames")
    if speech.get("gender"):
        text = f"voice gender {_plain(speech['gender'], 12)}"
        details = []
        if _finite(speech.get("gender_confidence")):
            details.append(f"confidence {_num(speech['gender_confidence'], 2)}")
        if speech.get("gender_method"):
            details.append(f"by {_plain(speech['gender_method'], 20)}")
        facts.append(text + (f" ({', '.join(details)})" if details else ""))
    unavailable = []
    for key, word in (("emotion", "emotion"), ("age", "age"), ("speaker_count", "speaker count")):
        value = speech.get(key)
        if value is None or str(value).strip().lower() in ("", "unavailable"):
            unavailable.append(word)
        else:
            facts.append(f"{word} {_plain(value, 30)}")
    if unavailable:
        facts.append("unavailable (no model): " + ", ".join(unavailable))
    model = speech.get("asr_model")
    lines = [f"Speech{f' (ASR {_plain(model)})' if model else ''}: " + ("; ".join(facts) or "no measurements") + "."]
    transcript = (speech.get("transcript") or "").strip()
    if transcript:
        lines.append("  Transcript: " + fence("transcript", transcript, MAX_CHARS["transcript"]))
    else:
        lines.append("  Transcript: empty (no words recognised).")
    return lines


def _music_lines(ev: Mapping[str, Any]) -> list[str]:
    music = ev.get("music")
    status = _status(music)
    if status == ERROR:
        return [_unavailable("Music")]
    if status != OK:
        return []
    facts = []
    if _finite(music.get("tempo_bpm")):
        text = f"tempo {_num(music['tempo_bpm'], 0)} BPM"
        if music.get("tempo_octave_ambiguous"):
            text += " (half or double is about as likely)"
        facts.append(text)
    else:
        facts.append("tempo unknown")
    if _finite(music.get("beat_confidence")):
        facts.append(f"beat confidence {_num(music['beat_confidence'], 2)} (0\u20131)")
    if music.get("musical_key"):
        text = f"key {_plain(music['musical_key'], 4)} {_plain(music.get('mode') or '', 8)}".rstrip()
        if _finite(music.get("key_confidence")):
            text += f" (correlation {_num(music['key_confidence'], 2)})"
        facts.append(text)
    if _finite(music.get("harmonic_ratio")) and _finite(music.get("percussive_ratio")):
        facts.append(f"energy {_pct(music['harmonic_ratio'])} harmonic / {_pct(music['percussive_ratio'])} percussive")
    if _finite(music.get("loudness_lufs")):
        facts.append(f"loudness {_num(music['loudness_lufs'])} LUFS")
    if music.get("has_vocals") is not None or _finite(music.get("vocal_presence")):
        text = "vocals " + ("detected" if music.get("has_vocals") else "not detected")
        details = []
        if _finite(music.get("vocal_presence")):
            details.append(f"singing score {_num(music['vocal_presence'], 2)}")
        if _finite(music.get("vocal_energy_ratio")):
            details.append(f"vocal-band energy {_pct(music['vocal_energy_ratio'])}")
        facts.append(text + (f" ({', '.join(details)})" if details else ""))
    for key in ("genres", "moods", "instruments"):
        facts.append(f"{key}: {_scored(music.get(key))}")
    lines = ["Music: " + "; ".join(facts) + "."]
    sung = (music.get("vocal_transcript") or "").strip()
    if sung:
        details = []
        if music.get("vocal_language"):
            details.append(f"language {_plain(music['vocal_language'], 12)}")
        if _finite(music.get("vocal_speech_seconds")):
            details.append(f"{_num(music['vocal_speech_seconds'])} s of voice")
        where = f" ({', '.join(details)})" if details else ""
        lines.append(f"  Words recognised in the separated vocals{where}: " + fence("sung_words", sung, MAX_CHARS["sung_words"]))
    return lines


def _sound_lines(ev: Mapping[str, Any]) -> list[str]:
    sound = ev.get("sound_events")
    status = _status(sound)
    if status == ERROR:
        return [_unavailable("Sound events")]
    if status != OK:
        return []
    events = sound.get("events") or []
    threshold = sound.get("threshold")
    head = "Sound events" + (f" (probability above {_num(threshold, 2)})" if _finite(threshold) else "")
    if not events:
        return [head + ": none detected."]
    by_label: dict[str, list[Mapping[str, Any]]] = {}  # one entry per label, in order of first onset
    for event in events:
        by_label.setdefault(_plain(event.get("label")), []).append(event)
    shown = []
    for label, spans in list(by_label.items())[:MAX_EVENTS]:
        times = _segments([(e.get("onset_s") or 0.0, e.get("offset_s") or 0.0) for e in spans])
        scores = [e["max_score"] for e in spans if _finite(e.get("max_score"))]
        shown.append(f"{label} {times}" + (f" (max {_num(max(scores), 2)})" if scores else ""))
    more = len(by_label) - len(shown)
    return [head + ": " + "; ".join(shown) + (f"; and {more} more labels" if more > 0 else "") + "."]


def _acoustics_lines(ev: Mapping[str, Any]) -> list[str]:
    acoustics = ev.get("acoustics")
    status = _status(acoustics)
    if status == ERROR:
        return [_unavailable("Acoustics")]
    if status != OK:
        return []
    facts = []
    for key, word, unit, digits in (("loudness_lufs", "loudness", "LUFS", 1), ("rms_dbfs", "RMS", "dBFS", 1),
                                    ("peak_dbfs", "peak", "dBFS", 1), ("snr_db", "SNR", "dB", 1),
                                    ("bandwidth_hz", "bandwidth", "Hz", 0), ("rt60_s", "RT60", "s", 1)):
        if _finite(acoustics.get(key)):
            facts.append(f"{word} {_num(acoustics[key], digits)} {unit}")
    if _finite(acoustics.get("silence_ratio")):
        facts.append(f"silent frames {_pct(acoustics['silence_ratio'])}")
    clipping = acoustics.get("clipping_ratio")
    if _finite(clipping):
        facts.append("no clipping" if clipping == 0 else f"clipping on {_num(clipping * 100, 2)} % of samples")
    if acoustics.get("is_silent"):
        facts.append("the clip is silent")
    return ["Acoustics: " + (", ".join(facts) or "no measurements") + "."]


def _lalm_lines(ev: Mapping[str, Any]) -> list[str]:
    lalm = ev.get("lalm_description")
    status = _status(lalm)
    if status == ERROR or (status == OK and lalm.get("lalm_status") == ERROR):
        return [_unavailable("Audio-language model description")]
    if status != OK:
        return []
    text = (lalm.get("lalm_description") or "").strip()
    if not text:
        return ["Audio-language model description: empty."]
    model = lalm.get("lalm_model")
    return [f"Audio-language model description{f' ({_plain(model)})' if model else ''}, may hallucinate: "
            + fence("lalm_description", text, MAX_CHARS["lalm_description"])]


def _metadata_lines(ev: Mapping[str, Any]) -> list[str]:
    meta = ev.get("metadata")
    status = _status(meta)
    if status == ERROR:
        return [_unavailable("Source metadata")]
    if status == NOT_APPLICABLE:
        return []
    if status != OK:  # no metadata expert in this row: fall back to the manifest's text
        meta = {"title": ev.get("title"), "description": ev.get("description"), "tags": ev.get("tags")}
    title = (meta.get("title") or "").strip()
    description = (meta.get("description") or "").strip()
    tags = [t.strip() for t in (meta.get("tags") or []) if isinstance(t, str) and t.strip()]
    if not (title or description or tags):
        return ["Source metadata: none."]
    head = "Source metadata (written by the uploader for the whole source file; untrusted"
    if meta.get("language"):
        head += f"; language {_plain(meta['language'], 12)}"
    lines = [head + "):"]
    if title:
        lines.append("  Title: " + fence("title", title, MAX_CHARS["title"]))
    if description:
        lines.append("  Description: " + fence("description", description, MAX_CHARS["description"]))
    if tags:
        lines.append("  Tags: " + fence("tags", "; ".join(tags), MAX_CHARS["tags"]))
    return lines


def evidence_summary(evidence: Mapping[str, Any]) -> str:
    """A compact, readable rendering of one evidence row (experts that did not apply are left
    out, failed ones are marked unavailable; untrusted text is fenced and bounded)."""
    lines: list[str] = []
    for part in (_clip_lines, _routing_lines, _tagging_lines, _speech_lines, _music_lines, _sound_lines,
                 _acoustics_lines, _lalm_lines, _metadata_lines):
        lines += part(evidence)
    return "\n".join(lines)


# ---- messages ----------------------------------------------------------------------------------

def _facet_rules(domain: str | None) -> str:
    sections = prompt_sections()
    if domain is None:
        return sections["unknown_domain"]
    rules = []
    for facet, position in CONTENT_FACETS.items():
        if domain[position] == "0":
            rules.append(_fill(sections["absent_facet"], FACET=facet))
        else:
            rules.append(_fill(sections["present_facet"], FACET=facet, CONTENT=_CONTENT_WORDS[facet]))
    return "\n".join(rules)


def build_messages(evidence: Mapping[str, Any]) -> list[dict]:
    """System and user messages (OpenAI chat format) asking for one clip's captions."""
    sections = prompt_sections()
    domain = caption_domain(evidence)
    user = _fill(sections["user"], DOMAIN=describe_domain(domain) if domain else "unknown",
                 FACET_RULES=_facet_rules(domain), EVIDENCE=evidence_summary(evidence))
    return [{"role": "system", "content": sections["system"]}, {"role": "user", "content": user}]


def repair_messages(messages: Sequence[Mapping[str, Any]], reply_text: str, error: str) -> list[dict]:
    """``messages`` plus the invalid reply (its reasoning removed) and a request to fix ``error``."""
    answer, _ = split_reasoning(reply_text)
    if len(answer) > MAX_REPLY_CHARS:
        answer = answer[:MAX_REPLY_CHARS]
    answer = _SURROGATE_RE.sub("\ufffd", answer)  # a lone surrogate cannot be sent (no UTF-8 for it)
    request = _fill(prompt_sections()["repair"], ERROR=_SURROGATE_RE.sub("\ufffd", str(error).strip()))
    return [dict(m) for m in messages] + [{"role": "assistant", "content": answer or "(empty reply)"},
                                          {"role": "user", "content": request}]
