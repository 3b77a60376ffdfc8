"""Offline caption synthesis: a deterministic evidence-to-text template synthesiser.

The default caption stage when no LLM endpoint is configured. It turns one evidence row (see
:mod:`acav_assets.experts.evidence`) into a complete :class:`CaptionRecord` - six facets x three
stylistically different variants (plain, descriptive, terse), five MECAT-style QA pairs and a
confidence for every item - with no model and no randomness.

Rules it keeps:

* Only what an expert reported is stated. An expert whose ``status`` is not ``"ok"`` counts as
  absent; ``"unavailable"`` speaker attributes (emotion, age, speaker count) are never
  mentioned.
* Labels and attributes follow their evidence's strength (:data:`.facts.EVIDENCE_LEVELS`):
  strong ones are stated, moderate ones hedged ("what sounds like", "possibly"), weak ones
  left out.
* Captions speak of the sound, not of the tools: no metric names, units, numbers, tool names
  or scores. Measurements stay in their columns; a value at an estimator's limit (the
  reverberation-time floor) is never reported as a measurement.
* Source metadata (title, description, tags) and the LALM description are ignored entirely:
  they are untrusted text and never evidence about the audio.
* Transcripts are untrusted text too: they appear only as short quotations (never
  paraphrased, never followed), and only when the ASR is confident and
  :func:`~.facts.transcript_issue` finds no hallucination pattern (known phrases, repetition,
  too few characters for the speech, a script that does not match the language).
* Content facets follow the routed domain: a ``0`` letter gives ``["None", <absence>,
  <absence>]``; ``long``, ``short`` and ``environment`` are never ``"None"``.
* Constructions and wording are chosen by a stable hash of the clip key, so the same row always
  gives the same record while different clips do not all read alike; label names come from the
  evidence (as natural nouns), so the vocabulary grows with the content.

Submodules, in import order (each imports only the ones above it):

* :mod:`.facts` - an evidence row read into what the captions may state: present parts,
  measurements in words, labels with their evidence level, and transcript quotations.
* :mod:`.phrasing` - wording helpers: stable choice among alternatives, joining lists, numbers
  and times in words, absence phrases and per-part noun phrases and clauses.
* :mod:`.facets` - the six facet texts (long, short, speech, music, sound, environment) x three
  variants, with the content and environment confidences.
* :mod:`.qa` - the QA candidates, their confidences and the choice of five per clip.

This package assembles them in :func:`synthesize_caption`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from acav_assets.captions.offline_synthesiser.facets import (
    _absent_facet,
    _environment_facet,
    _long_facet,
    _music_facet,
    _short_facet,
    _sound_facet,
    _speech_facet,
)
from acav_assets.captions.offline_synthesiser.facts import (
    EVIDENCE_LEVELS,
    _clamp,
    _facts,
    _mean,
    evidence_level,
    quote_transcript,
    transcript_issue,
)
from acav_assets.captions.offline_synthesiser.phrasing import _Phrases
from acav_assets.captions.offline_synthesiser.qa import _qa_candidates, _select_qa
from acav_assets.captions.schema import CONTENT_FACETS, FACETS, CaptionRecord

__all__ = ["EVIDENCE_LEVELS", "SYNTHESIZER_NAME", "evidence_level", "quote_transcript", "synthesize_caption",
           "transcript_issue"]

SYNTHESIZER_NAME = "acav-evidence-template-v1"


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
    facets["environment"], confidences["environment"] = _environment_facet(facts, phrases)
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
