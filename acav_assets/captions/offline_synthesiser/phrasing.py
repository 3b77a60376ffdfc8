"""Phrasing: word choice and sentence assembly for the caption texts.

Stable per-clip choice among alternatives (a hash of the clip key and a salt), joining lists,
labels turned into natural nouns, hedges for moderately supported labels, times in words, ways
to say a part is absent, and :class:`_Phrases` - noun phrases and clauses for each present part
(speech, music, sound) and for the recording conditions, each with several constructions.

Captions never carry numbers, units or tool names: measurements stay in their columns.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from acav_assets.captions.offline_synthesiser.facts import (
    _covered,
    _Environment,
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

# Natural nouns for labels whose display name reads badly in a sentence; any other label is
# used as named (first alternative, lower case), so the vocabulary grows with the content.
LABEL_NOUNS = {
    "Rain": "rain", "Raindrop": "raindrops", "Rain on surface": "rain pattering on a surface",
    "Stream": "a stream", "Waterfall": "a waterfall", "Ocean": "the sea", "Waves, surf": "breaking waves",
    "Water": "water", "Pour": "pouring liquid", "Trickle, dribble": "trickling water", "Drip": "dripping",
    "Wind": "wind", "Thunder": "thunder", "Thunderstorm": "a thunderstorm", "Fire": "a crackling fire",
    "Bird": "birds", "Bird vocalization, bird call, bird song": "birdsong", "Chirp, tweet": "chirping",
    "Insect": "insects", "Cricket": "crickets", "Dog": "a dog", "Bark": "barking", "Cat": "a cat",
    "Livestock, farm animals, working animals": "farm animals", "Fowl": "poultry", "Pig": "a pig",
    "Car": "car noise", "Vehicle": "vehicle noise", "Engine": "engine noise", "Motor vehicle (road)": "road traffic",
    "Traffic noise, roadway noise": "traffic", "Train": "train noise", "Aircraft": "aircraft noise",
    "Crowd": "a crowd", "Applause": "applause", "Clapping": "clapping", "Laughter": "laughter",
    "Footsteps": "footsteps", "Door": "a door", "Doorbell": "a doorbell", "Knock": "knocking",
    "Telephone": "a telephone", "Alarm": "an alarm", "Siren": "a siren", "Bell": "a bell",
    "Clock": "a clock", "Tick-tock": "a ticking clock", "Computer keyboard": "keyboard typing",
    "Mechanisms": "mechanical noise", "Tools": "tools at work", "Drum kit": "drums",
    "Keyboard (musical)": "keyboards", "Plucked string instrument": "plucked strings",
}

_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


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


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _count_phrase(n: int, noun: str) -> str:
    return f"{_NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else 'several'} {noun}{'' if n == 1 else 's'}"


def _noun(label: str) -> str:
    """A label as a natural noun: 'Vehicle horn, car horn, honking' -> 'vehicle horn'."""
    if label in LABEL_NOUNS:
        return LABEL_NOUNS[label]
    return re.sub(r"\s*\([^)]*\)", "", _label_phrase(label)).strip()


def _sound_noun(event: _Event) -> str:
    """A sound-event label as a noun; bare source names get 'sounds' ('car horn sounds')."""
    if event.label in LABEL_NOUNS:
        return LABEL_NOUNS[event.label]
    phrase = _noun(event.label)
    if re.search(r"(ing|sounds?|noise|s)$", phrase):
        return phrase
    sources = _subtree(SOUNDS_OF_THINGS) | _subtree(ANIMAL)
    return f"{phrase} sounds" if event.mid in sources else phrase


def _hedge(phrase: str, key: str, salt: str) -> str:
    """A moderately supported noun phrase: 'what sounds like a stream', 'possibly rain', ..."""
    if phrase.endswith(("sounds", "noise")):
        return _pick(key, salt + "/hedge", ("possible " + phrase, "what may be " + phrase,
                                            "what sounds like " + phrase))
    article = re.match(r"(an?) (.*)", phrase)
    possible = f"a possible {article.group(2)}" if article else f"possible {phrase}"
    return _pick(key, salt + "/hedge", ("what sounds like " + phrase, possible, "a sound resembling " + phrase,
                                        "what may be " + phrase, "perhaps " + phrase))


def _named(event: _Event, key: str, salt: str) -> str:
    noun = _sound_noun(event)
    return _hedge(noun, key, salt) if event.hedged else noun


def _when(spans: Sequence[tuple[float, float]], duration: float | None, key: str = "", salt: str = "") -> str | None:
    """Where in the clip a set of spans lies, in words ('throughout', 'intermittently', ...).

    Without ``key`` the first wording is used; with one, a stable choice among several.
    """
    if not spans:
        return None

    def say(*options: str) -> str:
        return _pick(key, salt + "/when", options) if key else options[0]

    spans = sorted(spans)
    if duration and _covered(spans) >= 0.8 * duration:
        return say("throughout", "for the whole clip", "continuously", "from start to finish", "all the way through",
                   "without letup", "for the entire duration")
    if len(spans) > 1:
        return say("intermittently", "on and off", "at intervals", "now and then", "repeatedly", "sporadically",
                   "every so often", "at irregular moments", "several times")
    start, end = spans[0]
    if start <= 0.5:
        return say("at the start", "early on", "in the opening seconds", "at the beginning", "right at the outset")
    if duration and end >= duration - 0.5:
        return say("towards the end", "in the closing seconds", "later in the clip", "near the end",
                   "as the clip draws to a close")
    return say("midway through", "in the middle of the clip", "partway through", "halfway through")


# --------------------------------------------------------------------------------------------
# Phrases per content part
# --------------------------------------------------------------------------------------------


class _Phrases:
    """Noun phrases and clauses for each present part; ``salt`` separates the variants' choices."""

    def __init__(self, facts: _Facts) -> None:
        self.f = facts
        self.k = facts.key

    def pick(self, salt: str, options: Sequence[str]) -> str:
        return _pick(self.k, salt, options)

    # speech ---------------------------------------------------------------------------------
    def _plural(self) -> bool:
        s = self.f.speech
        return bool(s and s.speakers and s.speakers > 1)

    def speaker(self, salt: str = "speaker") -> str:
        """'a man', 'a female voice', 'a voice that sounds male', 'two speakers', 'someone'."""
        s = self.f.speech
        assert s is not None
        if self._plural():
            return _count_phrase(s.speakers or 2, "speaker")
        if s.gender and not s.gender_hedged:
            man, male = ("man", "male") if s.gender == "male" else ("woman", "female")
            return self.pick(salt, (f"a {man}", f"a {male} speaker", f"a {male} voice", f"a {man}'s voice",
                                    f"a {male} talker"))
        if s.gender:
            man, male = ("man", "male") if s.gender == "male" else ("woman", "female")
            return self.pick(salt, (f"a voice that sounds {male}", f"a speaker who sounds {male}"))
        return self.pick(salt, ("a speaker", "a voice", "someone", "a person", "somebody"))

    def voice(self, salt: str = "voice") -> str:
        """'a deep male voice', 'a high-pitched voice that sounds female'."""
        s = self.f.speech
        assert s is not None
        if self._plural():
            age = f"{s.age} " if s.age and s.age.isalpha() else ""
            return _count_phrase(s.speakers or 2, "speaker").replace(" ", f" {age}", 1)
        pitch = {"low": ("low-pitched", "deep"), "high": ("high-pitched", "bright")}.get(s.pitch or "")
        words = [self.pick(salt + "/pitch", pitch)] if pitch else []
        if s.age and s.age.isalpha():
            words.append(f"{s.age}-sounding")
        if s.gender and not s.gender_hedged:
            words.append(s.gender)
        words.append("voice")
        text = " ".join(words)
        text = f"{_article(text)} {text}"
        return text + (f" that sounds {s.gender}" if s.gender and s.gender_hedged else "")

    def language_in(self, salt: str = "lang") -> str | None:
        """'in English', 'possibly in English', 'in what sounds like English' (None if unknown)."""
        s = self.f.speech
        if s is None or s.language is None:
            return None
        if not s.language_hedged:
            return f"in {s.language}"
        return self.pick(salt, (f"possibly in {s.language}", f"in what sounds like {s.language}"))

    def pace(self, salt: str = "pace") -> str | None:
        s = self.f.speech
        options = {"fast": ("quickly", "at a brisk pace", "rapidly", "at a fast pace", "briskly", "swiftly"),
                   "slow": ("slowly", "at an unhurried pace", "at a leisurely pace", "deliberately",
                            "at a measured pace"),
                   "steady": ("at an even pace", "at a steady pace", "steadily", "at a regular pace", "evenly"),
                   }.get((s and s.pace) or "")
        return self.pick(salt, options) if options else None

    def pace_adjective(self, salt: str = "pace-adj") -> str | None:
        s = self.f.speech
        options = {"fast": ("fast-paced", "rapid", "brisk", "quick", "swift"),
                   "slow": ("slow", "unhurried", "leisurely", "measured", "deliberate"),
                   "steady": ("evenly paced", "steady", "even", "regular")}.get((s and s.pace) or "")
        return self.pick(salt, options) if options else None

    def speech_clause(self, salt: str = "clause", pace: bool = True) -> str:
        """'a man speaks English quickly', 'a voice seems to speak, possibly in French'."""
        s = self.f.speech
        assert s is not None
        plural = self._plural()
        subject = self.speaker(salt + "/who")
        if s.hedged:
            be = "seem" if plural else "seems"
            options = ((f"{be} to be talking", f"{'appear' if plural else 'appears'} to be talking")
                       if "speaker" in subject else (f"{be} to speak", f"{'appear' if plural else 'appears'} to be talking"))
            verb = self.pick(salt + "/verb", options)
        elif "speaker" in subject or "talker" in subject:
            verb = self.pick(salt + "/verb", ("talk", "are talking") if plural else ("talks", "is talking"))
        else:
            verb = self.pick(salt + "/verb", ("speak", "talk", "are speaking", "are talking") if plural
                             else ("speaks", "talks", "is speaking", "is talking"))
        how = self.pace(salt + "/pace") if pace else None
        if s.language and not s.language_hedged:
            lang = f" {s.language}" if verb.endswith(("speaks", "speak", "speaking")) else f" in {s.language}"
            return f"{subject} {verb}{lang}" + (f" {how}" if how else "")
        lang = self.language_in(salt + "/lang")
        return f"{subject} {verb}" + (f" {how}" if how else "") + (f", {lang}" if lang else "")

    def _speaking(self, subject: str, salt: str) -> str:
        """'{subject} speaking English quickly' / '{subject} speaking quickly, possibly in French'."""
        s = self.f.speech
        assert s is not None
        verb = "talking" if "speaker" in subject or "talker" in subject else "speaking"
        how = self.pace(salt + "/pace")
        text = f"{subject} {verb}"
        if s.language and not s.language_hedged:
            text += f" {s.language}" if verb == "speaking" else f" in {s.language}"
        text += f" {how}" if how else ""
        if s.language and s.language_hedged:
            text += f", {self.language_in(salt + '/lang')}"
        return text

    def speech_np(self, salt: str = "np") -> str:
        """'a man speaking English quickly'."""
        return self._speaking(self.speaker(salt + "/who"), salt)

    def speech_descriptive(self, salt: str = "desc") -> str:
        """'fast-paced English speech from a deep male voice' or 'a deep male voice speaking ...'."""
        s = self.f.speech
        assert s is not None
        lang = self.language_in(salt + "/lang")
        if self.pick(salt + "/form", ("noun", "verb")) == "noun":
            adjective = self.pace_adjective(salt + "/pace")
            head = " ".join(x for x in (adjective, s.language if s.language and not s.language_hedged else None,
                                        "speech") if x)
            text = f"{head} from {self.voice(salt + '/voice')}"
            if s.language and s.language_hedged:
                text += f", {lang}"
        else:
            text = self._speaking(self.voice(salt + "/voice"), salt)
        if s.emotion:
            text += f", sounding {s.emotion}"
        return text

    def speech_terse(self) -> str:
        """'male English speech' (a hedged language is left to the longer phrases)."""
        s = self.f.speech
        assert s is not None
        parts = [s.gender] if s.gender and not s.gender_hedged and not self._plural() else []
        if s.language and not s.language_hedged:
            parts.append(s.language)
        return " ".join(parts + ["speech"])

    def speech_backdrop(self, salt: str = "backdrop") -> str | None:
        """What the speech is heard against: 'over music', 'against rain', ..."""
        f = self.f
        if f.music is not None:
            return self.pick(salt, ("over music", "with music playing", "against a musical backing",
                                    "with music in the background", "accompanied by music", "over a musical bed"))
        if f.sound is not None and f.sound.events:
            thing = _named(f.sound.events[0], self.k, salt + "/thing")
            return f"{self.pick(salt + '/prep', ('over', 'against', 'amid', 'alongside', 'over the sound of'))} {thing}"
        if f.sound is not None:
            return "over other sounds"
        return None

    # music ----------------------------------------------------------------------------------
    def music_noun(self, salt: str, mood: bool = True) -> str:
        """'happy pop music', 'what sounds like jazz', 'instrumental music', 'a piece of music'."""
        m = self.f.music
        assert m is not None
        if m.genres:
            label, _, hedged = m.genres[0]
            genre = _noun(label)
            bare = re.sub(r"\s*music$", "", genre)
            if hedged:
                return self.pick(salt + "/genre", (f"what sounds like {bare} music", f"music resembling {bare}",
                                                   f"what may be {bare} music"))
            noun = self.pick(salt + "/genre", (f"{bare} music", f"a {bare} track", f"{bare} music", f"a {bare} piece",
                                               f"{bare}-style music"))
        elif m.vocals == "instrumental":
            noun = self.pick(salt + "/noun", ("instrumental music", "an instrumental piece", "instrumental music",
                                              "an instrumental track", "an instrumental passage"))
        else:
            noun = self.pick(salt + "/noun", ("music", "a piece of music", "a musical passage", "a musical piece",
                                              "a stretch of music", "a musical excerpt"))
        if mood and m.moods and not m.moods[0][2]:
            adjective = re.sub(r"\s*music$", "", _noun(m.moods[0][0]))
            noun = re.sub(r"^(an?) ", "", noun)
            noun = f"{adjective} {noun}" if noun.endswith("music") else f"{_article(adjective)} {adjective} {noun}"
        return noun

    def instruments(self, salt: str) -> str | None:
        """'with guitar and what sounds like drums'."""
        m = self.f.music
        if m is None or not m.instruments:
            return None
        sure = [_noun(label) for label, _, hedged in m.instruments if not hedged]
        maybe = [_noun(label) for label, _, hedged in m.instruments if hedged]
        bits = [_join(sure)] if sure else []
        if maybe:
            bits.append(self.pick(salt + "/maybe", ("what sounds like ", "what may be ")) + _join(maybe))
        return self.pick(salt + "/with", ("with ", "featuring ", "played on ")) + " and ".join(bits)

    def key(self, salt: str) -> str | None:
        m = self.f.music
        if m is None or m.key is None:
            return None
        return f"in {m.key}" if not m.key_hedged else self.pick(salt, (f"possibly in {m.key}", f"perhaps in {m.key}"))

    def rhythm(self, salt: str) -> str | None:
        """'at an upbeat tempo', 'with a steady beat', 'without a clear beat'."""
        m = self.f.music
        if m is None:
            return None
        if m.tempo:
            article = _article(m.tempo)
            return self.pick(salt, (f"at {article} {m.tempo} tempo", f"{m.tempo} in tempo",
                                    f"moving at {article} {m.tempo} pace"))
        if m.beat == "steady":
            return self.pick(salt, ("with a steady beat", "over a steady pulse", "with a regular beat",
                                    "driven by a steady rhythm"))
        if m.beat == "loose":
            return self.pick(salt, ("without a clear beat", "with no steady pulse", "loosely timed",
                                    "in free time", "without a fixed rhythm"))
        return None

    def vocals(self, salt: str) -> str | None:
        m = self.f.music
        if m is None or m.vocals in (None, "instrumental"):
            return None
        if m.vocals == "possible":
            return self.pick(salt, ("possibly with vocals", "with what may be singing", "perhaps with a vocal line"))
        text = self.pick(salt, ("with singing", "with sung vocals", "with a singing voice", "with a vocal line"))
        return text + (f" in {m.vocal_language}" if m.vocal_language else "")

    def music_place(self, salt: str) -> str | None:
        """Where the music sits: 'beneath the speech', 'early on', ..."""
        f, m = self.f, self.f.music
        assert m is not None
        whole = bool(f.duration) and _covered(m.segments) >= 0.8 * (f.duration or 0.0)
        when = None if whole else _when(m.segments, f.duration, self.k, salt)
        if f.speech is not None:
            where = self.pick(salt + "/where", ("beneath the speech", "alongside the speech", "behind the voice",
                                                "under the voice", "behind the talking"))
            return f"{where} {when}" if when else where
        return when

    def music_core(self, style: str) -> str:
        """The music in one phrase: 'plain', 'descriptive' or 'terse'."""
        m = self.f.music
        assert m is not None
        salt = f"music-{style}"
        if style == "terse" or not m.expert_ok:
            return self.music_noun(salt, mood=False)
        parts = [self.music_noun(salt), self.instruments(salt), self.key(salt + "/key")]
        if style == "descriptive":
            texture = {"tonal": "mostly melodic", "percussive": "percussion-heavy"}.get(m.texture or "")
            parts += [self.music_place(salt), self.rhythm(salt + "/rhythm"), texture and f"{texture} in texture"]
        else:
            parts.append(self.rhythm(salt + "/rhythm"))
        head, rest = parts[0], [p for p in parts[1:] if p]
        first = (", " if rest and (m.hedged or rest[0].startswith(("possibly", "perhaps"))) else " ")
        return head + (first + rest[0] if rest else "") + "".join(f", {p}" for p in rest[1:])

    # sound ----------------------------------------------------------------------------------
    def sound_core(self, style: str) -> str:
        """The other sounds in one phrase: 'plain', 'descriptive' or 'terse'."""
        s = self.f.sound
        assert s is not None
        salt = f"sound-{style}"
        if not s.events:
            return "other sounds" if style != "descriptive" else "unidentified background sounds"
        names = [_named(e, self.k, f"{salt}/{i}") for i, e in enumerate(s.events)]
        if style == "terse":
            return _join(names[:2])
        key = "" if style == "plain" else self.k
        main = s.events[0]
        when = _when(main.spans, self.f.duration, key, salt)
        if style == "plain":
            text = names[0] + (f" {when}" if when else "")
            return text + (f", with {names[1]}" if len(names) > 1 else "")
        pieces = []
        for i, e in enumerate(s.events[1:], 1):
            w = _when(e.spans, self.f.duration, key, f"{salt}/{i}") if not when else None
            pieces.append(names[i] + (f" {w}" if w else ""))
        form = self.pick(salt + "/form", ("heard", "joined", "plain", "together"))
        if form == "heard":
            text = f"{names[0]} {self.heard(salt)}" + (f" {when}" if when else "")
            return text + (f", along with {_join(pieces)}" if pieces else "")
        text = names[0] + (f" {when}" if when else "")
        joiner = {"joined": ", joined by ", "together": ", together with "}.get(form, " and ")
        return text + (joiner + _join(pieces) if pieces else "")

    def heard(self, salt: str) -> str:
        """A verb phrase for a sound being there, right for singular and plural names."""
        return self.pick(salt + "/heard", ("can be heard", "can be made out", "can be picked out"))

    def sound_clause(self) -> str:
        s = self.f.sound
        assert s is not None
        if not s.events:
            return "other sounds are heard"
        names = [_named(e, self.k, f"clause/{i}") for i, e in enumerate(s.events)]
        when = _when(s.events[0].spans, self.f.duration, self.k, "clause")
        text = f"{names[0]} {self.heard('clause')}" + (f" {when}" if when else "")
        return text + (f", with {names[1]}" if len(names) > 1 else "")

    # recording conditions -------------------------------------------------------------------
    def env_adjectives(self, salt: str) -> list[str]:
        """'clean', 'dry', 'muffled', ... for the recording."""
        env = self.f.env
        out = []
        if env.noise:
            out.append(self.pick(salt + "/noise", {
                "clean": ("clean", "clear", "crisp"),
                "slight noise": ("mostly clean", "slightly noisy", "lightly noisy"),
                "noticeable noise": ("noticeably noisy", "somewhat noisy", "fairly noisy"),
                "noisy": ("noisy", "noise-laden", "rough, noisy"), "dense": ("busy", "dense", "crowded")}[env.noise]))
        if env.reverb:
            out.append(self.pick(salt + "/reverb", {
                "dry": ("dry", "close-sounding", "intimate", "acoustically dry"),
                "slightly reverberant": ("slightly reverberant", "lightly reverberant", "faintly echoing"),
                "reverberant": ("reverberant", "roomy", "echoing"),
                "highly reverberant": ("highly reverberant", "hall-like", "cavernous")}[env.reverb]))
        if env.band:
            out.append(self.pick(salt + "/band", ("telephone-like", "narrow-band", "tinny") if env.band == "narrow"
                                 else ("muffled", "dull, band-limited", "dull")))
        if env.clipping:
            out.append("heavily clipped" if env.clipping == "heavy" else "slightly clipped")
        return out

    def env_features(self, salt: str, ambience: bool = True) -> list[str]:
        """Noun phrases for what else the recording has: 'short pauses', 'mains hum in the background'."""
        f, env = self.f, self.f.env
        out = []
        if env.noise == "dense":
            out.append(self.pick(salt + "/dense", ("no quiet gaps", "sound that never falls quiet",
                                                   "no moments of quiet")))
        if env.pauses and not (env.pauses == "none" and env.noise == "dense"):
            gaps = (self.pick(salt + "/gaps", ("pauses between phrases", "gaps between sentences",
                                               "breaks in the speech", "pauses between sentences",
                                               "breaks between phrases"))
                    if f.speech is not None else "silent gaps")
            out.append({"short": f"{self.pick(salt + '/short', ('short', 'brief'))} {gaps}", "long": "long silent stretches",
                        "mostly silent": "silence for most of the clip",
                        "none": self.pick(salt + "/gapless", ("no silent pauses", "sound filling the whole clip"))
                        }[env.pauses])
        if env.noises:
            name, hedged = env.noises[0]
            out.append((_hedge(name, self.k, salt + "/noise") if hedged else name) + " in the background")
        if env.ambience and ambience:
            names = [_named(e, self.k, f"{salt}/amb{i}") for i, e in enumerate(env.ambience)]
            out.append(f"ambient {_join(names)}")
        return out

    def env_setting(self, salt: str) -> str | None:
        env = self.f.env
        if not env.settings:
            return None
        name, hedged = env.settings[0]
        return _hedge(name, self.k, salt) if hedged else name

    def env_level(self) -> str | None:
        """Loudness in words, only where it is notable."""
        level = self.f.env.level
        return None if level in (None, "moderate") else level


def _env_summary(env: _Environment, p: _Phrases, salt: str) -> str | None:
    """'clean, dry' - the leading adjectives, or None."""
    adjectives = p.env_adjectives(salt)
    if not adjectives and env.level and env.level != "moderate":
        adjectives = [env.level]
    return ", ".join(adjectives[:2]) or None


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
    """Phrases for the present parts, speech first (a clause in the plain style)."""
    parts = []
    if facts.speech is not None:
        parts.append({"plain": p.speech_clause, "noun": p.speech_np, "descriptive": p.speech_descriptive,
                      "terse": lambda: p.speech_terse()}[style]())
    music_style = "plain" if style == "noun" else style
    if facts.music is not None:
        parts.append(p.music_core(music_style))
    if facts.sound is not None:
        parts.append(p.sound_core(music_style))
    return parts


def _with_rest(parts: Sequence[str], connector: str = " with ") -> str:
    """'a, with b and c'-style: the first part, then the others after ``connector``."""
    if len(parts) > 1 and "," in parts[0] and not connector.startswith(","):
        connector = "," + connector
    return parts[0] + (connector + _join(parts[1:]) if len(parts) > 1 else "")
