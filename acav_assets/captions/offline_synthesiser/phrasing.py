"""Phrasing: word choice and sentence assembly for the caption texts.

Stable per-clip choice among alternatives (a hash of the clip key), joining lists, numbers and
times in words, ways to say a part is absent, and :class:`_Phrases` - noun phrases and clauses
for each present part (speech, music, sound) in several styles.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from acav_assets.captions.offline_synthesiser.facts import (
    BEAT_STEADY,
    BEAT_WEAK,
    _covered,
    _Event,
    _Facts,
    _label_phrase,
    _subtree,
)
from acav_assets.experts.tagging.audioset_ontology import ANIMAL, SOUNDS_OF_THINGS

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


# --------------------------------------------------------------------------------------------
# Wording helpers
# --------------------------------------------------------------------------------------------


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


_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _count_phrase(n: int, noun: str) -> str:
    return f"{_NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else n} {noun}{'' if n == 1 else 's'}"


def _sec(t: float) -> str:
    return f"{t:.0f} s" if abs(t - round(t)) < 0.05 else f"{t:.1f} s"


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
# Sentence assembly
# --------------------------------------------------------------------------------------------


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
