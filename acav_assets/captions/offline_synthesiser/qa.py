"""QA: MECAT-style question-answer pairs with their confidences.

Every question the clip's evidence can answer is built in a fixed order, then five are chosen
following a difficulty layout, each from a new category where possible.
"""

from __future__ import annotations

from dataclasses import dataclass

from acav_assets.captions.offline_synthesiser.facts import (
    _clamp,
    _covered,
    _Facts,
    _label_phrase,
    _overlap,
)
from acav_assets.captions.offline_synthesiser.phrasing import (
    ABSENCE_PHRASES,
    _cap,
    _content_parts,
    _join,
    _named,
    _Phrases,
    _pick,
    _sound_noun,
    _stable,
    _when,
    _with_rest,
)
from acav_assets.captions.schema import QA_PER_CLIP, QaPair

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
    part_q = {"speech": "Is anyone speaking in the clip?", "music": "Does the clip contain any music?",
              "sound": "Are there sounds other than speech and music?"}[part]
    if facts.present(part):
        detail = {"speech": lambda: p.speech_np("qa-np"), "music": lambda: p.music_core("plain"),
                  "sound": lambda: p.sound_core("plain")}[part]()
        add("direct_perception", "intermediate", part_q, f"Yes: {detail}.", conf[part][0])
    else:
        add("direct_perception", "intermediate", part_q, f"No, {ABSENCE_PHRASES[part][0].lower()}.", conf[part][0])

    # sound characteristics
    if env.level:
        answer = {"nearly inaudible": "Barely audible.", "very quiet": "Very quiet.", "quiet": "Fairly quiet.",
                  "moderate": "At a moderate, comfortable level.", "loud": "Loud.",
                  "very loud": "Very loud."}[env.level]
        add("sound_characteristics", "basic", "How loud is the recording overall?", answer, env_conf)
    elif env.silent:
        add("sound_characteristics", "basic", "How loud is the recording overall?", "It is silent.", env_conf)
    if s is not None and s.pace:
        add("sound_characteristics", "intermediate", "How fast does the speaker talk?",
            _cap(p.pace("qa-pace") or "") + ".", conf["speech"][1])
    elif s is not None and s.pitch:
        add("sound_characteristics", "intermediate", "Is the voice high or low?",
            {"low": "Low-pitched.", "mid": "In a middle range, neither high nor low.",
             "high": "High-pitched."}[s.pitch], conf["speech"][1])
    if m is not None and (m.key or m.tempo or m.beat):
        bits = [x for x in (p.rhythm("qa-rhythm"), p.key("qa-key")) if x]
        add("sound_characteristics", "intermediate", "How would you describe the tempo and key of the music?",
            _cap(", ".join(bits)) + ".", conf["music"][0])
    if snd is not None and snd.events and snd.events[0].spans and not snd.events[0].hedged:
        main = snd.events[0]
        add("sound_characteristics", "intermediate", f"When is the {_label_phrase(main.label)} heard?",
            _cap(_when(main.spans, facts.duration, k, "qa-when") or "at times") + ".", conf["sound"][1])

    # quality assessment
    if env.measured and not env.silent:
        verdict = {
            "clean": "Clean, with a quiet background",
            "slight noise": "Fairly clean, with only faint background noise",
            "noticeable noise": "There is noticeable background noise",
            "noisy": "Noisy, with a high background level",
            "dense": "The sound never falls quiet, so any background noise is masked",
        }.get(env.noise or "", "Unremarkable")
        quality_q = _pick(k, "q-quality",
                          ("How clean is the recording?", "How would you describe the recording clarity?"))
        band = {"narrow": ", and it sounds narrow, like a telephone.",
                "muffled": ", and it sounds muffled."}.get(env.band or "", ".")
        add("quality_assessment", "intermediate", quality_q, verdict + band, env_conf)
        if env.clipping_measured:
            answer = {"heavy": "Yes, heavy clipping distorts the loudest moments.",
                      "some": "Slightly: a few peaks are clipped."}.get(env.clipping or "", "No, there is no clipping.")
            add("quality_assessment", "advanced", "Is there any clipping or distortion from overload?", answer,
                env_conf)

    # environment reasoning
    if env.reverb:
        answer = {"dry": "No, it sounds dry and close.", "slightly reverberant": "Slightly, with a little room echo.",
                  "reverberant": "Yes, it is noticeably reverberant.",
                  "highly reverberant": "Yes, strongly, like a large hall."}[env.reverb]
        add("environment_reasoning", "advanced", "Does the recording space sound reverberant?", answer, env_conf)
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
            answer = "No distinct background sound source can be made out."
        add("environment_reasoning", "intermediate", "Is there any background sound behind the main content?",
            answer, conf["sound"][0] if snd is not None else env_conf)
    add("environment_reasoning", "complex", "What can be inferred about the recording setting?",
        _cap(_setting_summary(facts, p)) + ".", env_conf * 0.9)

    # inference and judgement
    if s is not None and s.expert_ok:
        if s.language and not s.language_hedged:
            answer = f"{s.language}, clearly identifiable."
        elif s.language:
            answer = f"Probably {s.language}, though that is not certain."
        elif s.language_probability is not None:
            answer = "Unclear: the language cannot be identified with certainty."
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
                thing = _named(snd.events[0], k, "qa-overlap") if snd and snd.events else "the other sounds"
            shared, speech_len = _overlap(s.segments, spans), _covered(s.segments)
            if speech_len and shared >= 0.8 * speech_len:
                answer = f"Yes, {thing} continues under the speech."
            elif shared > 0:
                answer = f"Partly: {thing} overlaps some of the speech."
            else:
                answer = f"No, {thing} and the speech do not overlap."
            add("inference_judgement", "complex", f"Does the speech overlap with {thing}?", answer, long_conf)
    main_part = next((f for f in ("speech", "music", "sound") if facts.present(f)), None)
    if main_part is not None:
        part_facts = {"speech": s, "music": m, "sound": snd}[main_part]
        what = "other sounds" if main_part == "sound" else main_part
        answer = ("Quite certain: it is clearly audible." if not part_facts.hedged  # type: ignore[union-attr]
                  else "Fairly uncertain: it is faint or partly masked.")
        add("inference_judgement", "advanced", f"How certain is the presence of {what}?", answer,
            _clamp(part_facts.score))  # type: ignore[union-attr]
    else:
        answer = ("It is silent throughout." if env.silent
                  else "Nothing in it is clear enough to be called speech, music or a distinct sound.")
        add("inference_judgement", "advanced", "Why might this clip contain no identifiable content?", answer, env_conf)

    # application context
    question, answer = _application(facts)
    add("application_context", "complex", question, answer, long_conf)
    return out


def _setting_summary(facts: _Facts, p: _Phrases) -> str:
    """One sentence on the recording setting, from what the clip sounds like."""
    env = facts.env
    if env.silent:
        return "nothing can be inferred: the clip is silent"
    bits = []
    setting = p.env_setting("qa-setting")
    if setting:
        bits.append(f"it sounds like {setting}")
    if env.reverb:
        bits.append({"dry": "the space sounds dry and close",
                     "slightly reverberant": "there is slight room reverberation",
                     "reverberant": "the space is noticeably reverberant",
                     "highly reverberant": "the space is strongly reverberant"}[env.reverb])
    if env.ambience:
        bits.append(f"{_join([_named(e, facts.key, 'qa-amb') for e in env.ambience])} can be heard")
    if env.noise in ("clean", "slight noise"):
        bits.append("the background is quiet")
    elif env.noise == "noisy":
        bits.append("the background is noisy")
    return "; ".join(bits) if bits else "little about the setting can be told from the sound"


def _application(facts: _Facts) -> tuple[str, str]:
    """An application-context question and its evidence-based answer."""
    s, m, snd, env = facts.speech, facts.music, facts.sound, facts.env
    if facts.domain == "000":
        return "What use could this clip have in an audio dataset?", "Mainly as an example of content-free audio."
    if s is not None:
        question = "Would this clip suit training a speech recogniser?"
        reliable = bool(s.quote and s.language and not s.language_hedged)
        if reliable and env.noise in ("clean", "slight noise") and m is None and snd is None:
            return question, "Yes: the words are clear, with nothing else behind them and a quiet background."
        if reliable:
            return question, "Only with care: other sound or background noise accompanies the speech."
        if not s.expert_ok:
            return question, "Not as it is: the words were not transcribed."
        return question, "Not as it is: the words or their language cannot be made out reliably."
    if m is not None:
        if snd is not None:
            return ("Could this clip serve as a clean music sample?",
                    "Not entirely: other sounds occur alongside the music.")
        question = "Could this clip serve as an instrumental music sample?"
        if m.vocals == "singing":
            return question, "No, singing is present."
        if m.vocals == "instrumental":
            return question, "Yes, there is no speech or singing."
        return question, "Possibly; it is unclear whether there is singing."
    if snd is not None and snd.events and not snd.events[0].hedged:
        name = _sound_noun(snd.events[0])
        return f"Could this clip serve as a sound effect of {name}?", f"Yes: {name} can be heard with no speech or music."
    if snd is not None and snd.events:
        return "Could this clip serve as a sound effect?", "Possibly, though the sound is not clearly identifiable."
    return "Could this clip serve as a sound effect?", "Hardly: the sounds cannot be identified."


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
