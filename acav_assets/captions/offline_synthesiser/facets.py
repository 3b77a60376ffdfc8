"""Facets: the six caption facets, each as three variants of different construction.

``speech``, ``music`` and ``sound`` (or their absence), ``environment`` (recording conditions),
and the ``long`` and ``short`` summaries built from them, with the per-variant confidences of
the content and environment facets. Constructions are chosen per clip (stable hash of its key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from acav_assets.captions.offline_synthesiser.facts import (
    _clamp,
    _Facts,
    _mean,
    _routing_score,
)
from acav_assets.captions.offline_synthesiser.phrasing import (
    ABSENCE_PHRASES,
    _absent_parts_clause,
    _cap,
    _content_parts,
    _distinct,
    _env_summary,
    _join,
    _Phrases,
    _pick,
    _pick_two,
    _with_rest,
    _words,
)
from acav_assets.captions.schema import ABSENT

SHORT_MAX_WORDS = 12
# Word budgets of the long variants (MECAT's long captions average about 22, 15 and 14 words).
LONG_MAX_WORDS = (28, 20)
# Transcript problems that mean the text is not what was said (vs merely an unsure decode).
UNRELIABLE = ("hallucination", "repetition", "sparse", "script")


# --------------------------------------------------------------------------------------------
# Content facets
# --------------------------------------------------------------------------------------------


def _speech_facet(facts: _Facts, p: _Phrases) -> tuple[list[str], list[float]]:
    s = facts.speech
    assert s is not None
    presence = s.score
    if not s.expert_ok:
        texts = ["Speech is present, but its words and speaker were not analysed",
                 "Spoken voice whose content was not analysed", "Unanalysed speech"]
        return texts, [_clamp(0.6 * presence)] * 3
    claim = []
    if s.gender:
        claim.append(s.gender_confidence)
    if s.language:
        claim.append(s.language_probability or 0.5)
    transcript_conf = 0.5 + 0.5 * (s.language_probability or 0.0)

    plain = _cap(p.speech_clause("speech-plain"))
    if s.quote:
        plain += p.pick("speech-quote", (f", saying {s.quote}", f": {s.quote}"))
    elif s.transcript_issue in UNRELIABLE:
        plain += "; the words could not be transcribed reliably"
    elif (backdrop := p.speech_backdrop("speech-plain")) is not None:
        plain += f", {backdrop}" if "," in plain else f" {backdrop}"
    plain_claims = claim + ([transcript_conf] if s.quote else [0.6])

    desc = _cap(p.speech_descriptive("speech-desc"))
    details = []
    pauses = facts.env.pauses
    if pauses in ("short", "long"):
        details.append(p.pick("speech-pauses", ("with short pauses between phrases", "pausing briefly between phrases"))
                       if pauses == "short" else "with long silent stretches")
    if s.language_unclear and s.language is None:
        details.append(p.pick("speech-unclear", ("in a language that is hard to identify", "in an unidentified language")))
    if s.speakers and s.speakers > 1 and s.gender:
        details.append(f"mostly {s.gender} voices")
    desc += "".join(f", {d}" for d in details[:2])
    desc_claims = claim + [0.8] * (1 if s.pace else 0) + [0.7] * (1 if s.pitch else 0)

    terse = _cap(p.speech_terse())
    backdrop = p.speech_backdrop("speech-terse")
    if s.quote:
        terse = p.pick("speech-terse", (f"{terse}: {s.quote}", f"{terse} {backdrop}" if backdrop else f"{terse}: {s.quote}"))
    elif backdrop:
        terse += f" {backdrop}"
    elif p.pace_adjective("speech-terse-pace"):
        terse = f"{_cap(p.pace_adjective('speech-terse-pace') or '')} {terse[0].lower()}{terse[1:]}"
    terse_claims = claim or [0.7]
    confs = [_clamp(presence * _mean(c or [0.7])) for c in (plain_claims, desc_claims, terse_claims)]
    return _distinct([plain, desc, terse], [f"{_cap(p.speech_terse())} is heard", "Spoken voice"]), confs


def _music_facet(facts: _Facts, p: _Phrases) -> tuple[list[str], list[float]]:
    m = facts.music
    assert m is not None
    presence = m.score
    if not m.expert_ok:
        texts = ["Music is present, but it was not analysed further",
                 "Music whose genre, key and rhythm were not analysed", "Unanalysed music"]
        return texts, [_clamp(0.6 * presence)] * 3
    label_scores = [score for _, score, _ in m.genres + m.moods + m.instruments]
    claims = label_scores + ([m.key_confidence] if m.key and m.key_confidence else []) + (
        [m.beat_confidence] if m.beat and m.beat_confidence else [])
    vocals = p.vocals("music-vocals")
    hedge = p.pick("music-hedge", ("What sounds like ", "Possibly ")) if m.hedged else ""

    plain = p.music_core("plain")
    hedged_already = plain.startswith(("what sounds like", "music resembling", "what may be"))
    plain = hedge + plain if hedge and not hedged_already else _cap(plain)
    if vocals:
        plain += f", {vocals}"
    if m.vocal_quote:
        plain += f": {m.vocal_quote}"

    desc = _cap(p.music_core("descriptive"))
    if vocals:
        desc += f", {p.vocals('music-vocals-2')}"

    terse = _cap(p.music_core("terse"))
    place = p.music_place("music-terse")
    rhythm = p.rhythm("music-terse-rhythm")
    extras = [x for x in (place, rhythm) if x]
    if m.vocals == "singing":
        terse += " with singing"
    elif extras:
        terse += f" {extras[0]}"
    vocal_claim = []
    if m.vocal_presence is not None:
        vocal_claim = [m.vocal_presence if m.vocals in ("singing", "possible") else 1.0 - m.vocal_presence]
    base = _mean(claims + vocal_claim) if claims or vocal_claim else 0.6
    confs = [_clamp(presence * (0.5 + 0.5 * base)), _clamp(presence * (0.45 + 0.5 * base)),
             _clamp(presence * (0.55 + 0.45 * base))]
    return _distinct([plain, desc, terse], ["Music can be heard in the clip", "A musical passage"]), confs


def _sound_facet(facts: _Facts, p: _Phrases) -> tuple[list[str], list[float]]:
    s = facts.sound
    assert s is not None
    presence = s.score
    if not s.events:
        texts = [p.pick("sound-unknown", ("Other sounds are present, but none could be identified",
                                          "Sounds of some other kind whose source is unclear",
                                          "Further sounds whose source cannot be told")),
                 p.pick("sound-unknown2", ("Non-speech, non-musical sounds of uncertain origin",
                                           "Sounds that are neither speech nor music, of unclear origin")),
                 p.pick("sound-unknown3", ("Unidentified sounds", "Indistinct other sounds", "Unrecognised sounds"))]
        return texts, [_clamp(0.5 * presence)] * 3
    plain = _cap(p.sound_core("plain"))
    desc = _cap(p.sound_core("descriptive"))
    terse = _cap(p.sound_core("terse"))
    if s.hedged:
        terse = p.pick("sound-hedge", ("Faint ", "Possibly ", "Perhaps ")) + terse[0].lower() + terse[1:]
    if s.from_tags:
        plain += p.pick("sound-tags", (" somewhere in the clip", " present in the clip", " at some point in the clip"))
    scores = [e.score for e in s.events]
    factor = 0.85 if s.from_tags else 1.0
    confs = [_clamp(factor * (0.5 * presence + 0.5 * _mean(scores[:2]))),
             _clamp(factor * (0.5 * presence + 0.5 * _mean(scores))),
             _clamp(factor * (0.5 * presence + 0.5 * _mean(scores[:2])))]
    names = p.sound_core("terse")
    return _distinct([plain, desc, terse], [f"{_cap(names)} can be heard", f"Sounds of {names}"]), confs


def _absent_facet(facts: _Facts, facet: str, evidence: Mapping[str, Any]) -> tuple[list[str], list[float]]:
    first, second = _pick_two(facts.key, facet + "-absent", ABSENCE_PHRASES[facet])
    score = _routing_score(evidence, facet)
    conf = _clamp(1.0 - score) if score is not None and facts.decoded else 0.5 if facts.decoded else 0.0
    return [ABSENT, first, second], [conf] * 3


# --------------------------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------------------------


def _environment_facet(facts: _Facts, p: _Phrases) -> tuple[list[str], list[float]]:
    env = facts.env
    k = facts.key
    if not facts.decoded:
        return (["Undecodable clip, so the recording conditions are unknown",
                 "The audio could not be decoded, so nothing is known of the recording",
                 "Unknown recording conditions"], [0.0] * 3)
    if not env.measured:
        return (["Recording conditions were not analysed", "No acoustic analysis is available for this clip",
                 "Unanalysed acoustic conditions"], [0.2] * 3)
    if env.silent:
        return ([_pick(k, "env-silent", ("Silence throughout the recording", "Completely silent recording",
                                         "Total silence from start to finish")),
                 _pick(k, "env-silent2", ("A silent recording with no audible signal at all",
                                          "A silent, empty recording in which nothing can be heard",
                                          "Silence, without any audible signal")),
                 _pick(k, "env-silent3", ("Silent, empty soundscape", "Digital silence",
                                          "Soundless, empty recording"))],
                [0.95] * 3)
    adjectives = p.env_adjectives("env-plain")
    features = p.env_features("env-plain")
    setting = p.env_setting("env-setting")
    level = p.env_level()
    noun = _pick(k, "env-noun", ("recording", "acoustic environment", "recording environment", "acoustic space",
                                 "studio-like space" if env.reverb == "dry" and env.noise == "clean" else "soundscape",
                                 "acoustic setting", "sound environment", "sonic backdrop"))
    if setting:
        plain = _cap(", ".join(adjectives[:2]) + (" " if adjectives else "") + f"{noun} suggesting {setting}")
    elif adjectives:
        plain = _cap(", ".join(adjectives[:2]) + f" {noun}")
    else:
        plain = _cap(f"{_pick(k, 'env-plain-none', ('unremarkable', 'ordinary'))} {noun}")
    extra = features[:1] + ([f"at a {level} level"] if level and not features else [])
    plain += "".join(f" with {x}" if not x.startswith("at ") else f" {x}" for x in extra)

    desc = _env_description(facts, p, "env-desc")
    summary = _env_summary(env, p, "env-terse")
    noun3 = _pick(k, "env-terse", ("recording", "setting", "capture", "sound", "ambience", "acoustics"))
    terse = _cap(f"{summary} {noun3}") if summary else _cap(f"{level or 'unremarkable'} {noun3}")
    if env.ambience:
        terse += f" with {p.env_features('env-terse')[-1]}"
    elif setting:
        terse += f", {setting}"
    conf = 0.85 if not env.tag_scores else 0.5 * 0.85 + 0.5 * _mean(env.tag_scores)
    alternatives = [_cap(", ".join(adjectives) + " acoustic conditions") if adjectives
                    else "Unremarkable acoustic conditions", "Recording conditions without notable features"]
    return _distinct([plain, desc, terse], alternatives), [_clamp(conf), _clamp(conf - 0.05), _clamp(conf + 0.03)]


def _env_description(facts: _Facts, p: _Phrases, salt: str, ambience: bool = True) -> str:
    """The recording conditions as a list of features: 'close, dry acoustics and a quiet background'."""
    env, k = facts.env, facts.key
    clauses = []
    reverb = {"dry": ("close, dry acoustics", "little or no room reverberation", "close-miked, dry sound",
                      "a dry sound without room echo", "an intimate, close sound", "almost no room reflections"),
              "slightly reverberant": ("slight room reverberation", "a touch of room echo", "a faint room ambience",
                                       "mild reflections from the room"),
              "reverberant": ("noticeable reverberation", "an echoing room sound", "a roomy, reflective sound"),
              "highly reverberant": ("strong, hall-like reverberation", "a long, echoing decay",
                                     "a cavernous echo")}.get(env.reverb or "")
    if reverb:
        clauses.append(_pick(k, salt + "/reverb", reverb))
    background = {"clean": ("a quiet background", "a near-silent background", "no audible background noise",
                            "a clean, hiss-free background", "a still background"),
                  "slight noise": ("a faint background hiss", "a low background noise", "a soft underlying noise",
                                   "slight background noise"),
                  "noticeable noise": ("a noticeable background noise", "audible background noise",
                                       "a clearly audible background noise"),
                  "noisy": ("a high background noise", "heavy background noise", "a loud noisy backdrop")
                  }.get(env.noise or "")
    if background:
        clauses.append(_pick(k, salt + "/noise", background))
    clauses += p.env_features(salt, ambience=ambience)
    if env.band:
        clauses.append("a telephone-like narrow band" if env.band == "narrow" else "a muffled, band-limited sound")
    if env.clipping:
        clauses.append("heavy clipping" if env.clipping == "heavy" else "occasional clipping")
    setting = p.env_setting(salt + "/setting")
    if setting:
        clauses.append(f"the sound of {setting}")
    level = p.env_level()
    desc = _cap(_join(clauses[:3])) if clauses else _pick(k, salt + "/none", (
        "Unremarkable acoustics", "Acoustics without notable features"))
    if level and len(clauses) < 3:
        desc += f", at a {level} level"
    return desc


# --------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------


def _others(facts: _Facts, p: _Phrases, style: str) -> list[str]:
    """Phrases for the present parts after the first."""
    return _content_parts(facts, p, style)[1:]


def _long_facet(facts: _Facts, p: _Phrases, env_texts: list[str]) -> list[str]:
    if not facts.decoded:
        return ["The clip could not be decoded, so its audio content was not analysed.",
                "No description is possible: decoding the audio failed and nothing could be heard.",
                "Undecodable audio clip without analysis."]
    if facts.domain == "000":
        if facts.env.silent:
            return [p.pick("long-silent", ("Silence throughout the recording, with no speech, music or other sounds.",
                                           "Nothing but silence in this recording: no speech, music or other sounds.")),
                    p.pick("long-silent2", (
                        "A completely silent clip with no speech, music or sound event at any point.",
                        "A soundless clip in which no voice, music or sound event ever appears.")),
                    p.pick("long-silent3", ("Silent clip with no audible content.", "Empty, silent audio throughout."))]
        env_desc = env_texts[1][0].lower() + env_texts[1][1:]
        return [f"A recording in which no speech, music or distinct sound events can be made out. {env_texts[0]}.",
                f"No identifiable speech, music or sound source is present; the recording has {env_desc}.",
                "Audio without identifiable content."]
    s, m = facts.speech, facts.music
    env_adj = _env_summary(facts.env, p, "long-env")
    # Plain: a sentence per part, then the recording conditions; simpler forms when content is rich.
    rest = _others(facts, p, "plain")
    candidates = []
    if s is not None:
        lead = p.pick("long-also", ("The speech is accompanied by", "In the background there is",
                                    "Alongside it plays" if m is not None else "Behind the voice is",
                                    "The voice is accompanied by", "It is set against"))
        terse_rest = _others(facts, p, "terse")
        for pace, quote, others in ((True, s.quote, rest), (False, s.quote_short, rest),
                                    (False, s.quote_short, terse_rest), (False, None, terse_rest)):
            first = _cap(p.speech_clause("long-plain", pace=pace))
            if quote:
                first += p.pick("long-quote", (f", saying {quote}", f": {quote}"))
            candidates.append(first + (f". {lead} {_join(others)}" if others else ""))
    elif m is not None:
        lead = p.pick("long-music", ("The clip features", "The recording contains", "This is", "The recording features",
                                     "The clip contains", "Heard here is"))
        connector = p.pick("long-connector", (", accompanied by ", " alongside ", " with ", ", together with "))
        candidates.append(f"{lead} {p.music_core('plain')}" + (connector + _join(rest) if rest else ""))
        candidates.append(f"{lead} {p.music_noun('long-plain')}" + (connector + _join(rest) if rest else ""))
    else:
        candidates.append(_cap(p.sound_clause()))
    plain = _fit([f"{c}. {env_texts[0]}." for c in candidates] + [f"{c}." for c in candidates[-1:]],
                 LONG_MAX_WORDS[0])

    # Descriptive: the parts and the recording in one sentence.
    parts = _content_parts(facts, p, "descriptive")
    with_ = p.pick("long-desc-with", (", together with ", ", set against ", ", with ", ", alongside ",
                                      ", accompanied by "))
    recorded = f"in {_article_for(env_adj)} {env_adj} recording" if env_adj else ""
    absent = _absent_parts_clause(facts)

    def described(text: str, with_absent: bool) -> str:
        text = _cap(text) + ((", " if "," in text else " ") + recorded if recorded else "")
        return text + (f", with {absent}." if with_absent and absent else ".")

    desc = _fit([described(_with_rest(parts, with_), True), described(_with_rest(parts, with_), False),
                 described(_with_rest(parts[:1] + _others(facts, p, "terse"), with_), False)], LONG_MAX_WORDS[1])

    # Terse: the parts and the recording in one line.
    terse_parts = _content_parts(facts, p, "terse")
    setting = p.pick("long-terse-noun", ("recording", "setting", "capture", "clip", "environment"))
    several = len(terse_parts) > 2 or any(" and " in t for t in terse_parts)
    head = _cap(_with_rest(terse_parts, p.pick("long-terse-with", (" with ", " over ") if several
                                               else (" with ", " over ", " and "))))
    terse = f"{head} in {_article_for(env_adj)} {env_adj} {setting}." if env_adj else f"{head}."
    return [plain, desc, terse]


def _fit(candidates: Sequence[str], limit: int) -> str:
    """The first candidate of at most ``limit`` words, else the shortest."""
    return next((c for c in candidates if _words(c) <= limit), min(candidates, key=_words))


def _article_for(phrase: str) -> str:
    return "an" if phrase[:1].lower() in "aeiou" else "a"


def _fit_short(candidates: Sequence[str]) -> str:
    """The first candidate of at most SHORT_MAX_WORDS words (the last one cut if none fits)."""
    for text in candidates:
        if text and _words(text) <= SHORT_MAX_WORDS:
            return text
    return " ".join(candidates[-1].split()[:SHORT_MAX_WORDS]).rstrip(",;:.") + "."


def _short_facet(facts: _Facts, p: _Phrases) -> list[str]:
    if not facts.decoded:
        return ["Undecodable clip, not analysed.", "Audio could not be decoded.", "No analysable audio."]
    if facts.domain == "000":
        if facts.env.silent:
            return [p.pick("short-silent", ("Silence throughout the recording.", "Nothing audible at all.")),
                    p.pick("short-silent2", ("Completely silent clip with no content.", "A soundless, empty clip.")),
                    p.pick("short-silent3", ("Silent audio.", "Pure silence."))]
        level = p.env_level()
        return [f"{_cap(level)} recording without identifiable content." if level
                else "Recording without identifiable content.",
                "No speech, music or distinct sounds can be made out.", "Content-free recording."]
    terse = _content_parts(facts, p, "terse")
    rest = _join(terse[1:])
    env_adj = _env_summary(facts.env, p, "short-env")
    if facts.speech is not None:
        backdrop = p.speech_backdrop("short-backdrop")
        clauses = [_cap(p.speech_clause("short-plain")), _cap(p.speech_clause("short-plain", pace=False))]
        v1 = [c + ((", " if "," in c else " ") + backdrop if backdrop else "") + "." for c in clauses]
        v1.append(f"{clauses[1]}.")
    elif facts.music is not None:
        noun = _cap(p.music_noun("short-plain"))
        with_rest = f", with {rest}" if rest else ""
        key_rhythm = [x for x in (p.key("short-key"), p.rhythm("short-rhythm")) if x]
        v1 = [f"{_cap(p.music_core('plain'))}{with_rest}.",
              f"{noun} {p.instruments('short') or ''}".rstrip() + f"{with_rest}.",
              f"{noun} {', '.join(key_rhythm)}".rstrip() + f"{with_rest}.", f"{noun}{with_rest}."]
    else:
        v1 = [f"{_cap(p.sound_clause())}.", f"{_cap(p.sound_core('plain'))}."]
    joined = _with_rest(terse, p.pick("short-with", (" with ", " over ", " and ")))
    if env_adj:
        of = p.pick("short-of", ("recording of", "capture of", "clip of"))
        v2 = [f"{_cap(env_adj)} {of} {joined}.", f"{_cap(env_adj)} {of} {terse[0]}."]
    else:
        heard = p.heard("short-heard")
        v2 = [f"{_cap(joined)} {heard}.", f"{_cap(terse[0])} {heard}."]
    descriptive = _content_parts(facts, p, "descriptive")
    v3 = [f"{_cap(descriptive[0])}.", f"{_cap(', '.join(terse))}.", f"{_cap(terse[0])} only."]
    chosen: list[str] = []
    for candidates in (v1, v2, v3):
        fitting = [c for c in candidates if _words(c) <= SHORT_MAX_WORDS and c not in chosen]
        unused = [c for c in candidates if c not in chosen] or list(candidates)
        chosen.append(fitting[0] if fitting else _fit_short(unused))
    return chosen
