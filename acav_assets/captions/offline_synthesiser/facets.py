"""Facets: the six caption facets, each as three variants (plain, descriptive, terse).

``speech``, ``music`` and ``sound`` (or their absence), ``environment`` (recording conditions),
and the ``long`` and ``short`` summaries built from them, with the per-variant confidences of
the content and environment facets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from acav_assets.captions.offline_synthesiser.facts import (
    _clamp,
    _Environment,
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
    _join,
    _Phrases,
    _pick,
    _pick_two,
    _when,
    _with_rest,
    _words,
)
from acav_assets.captions.schema import ABSENT

SHORT_MAX_WORDS = 12


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
