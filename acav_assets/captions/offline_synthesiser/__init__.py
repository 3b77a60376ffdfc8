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

Submodules, in import order (each imports only the ones above it):

* :mod:`.facts` - an evidence row read into what the captions may state: present parts,
  measurements, labels, confidence thresholds and transcript quotations.
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
    _clamp,
    _facts,
    _mean,
    quote_transcript,
)
from acav_assets.captions.offline_synthesiser.phrasing import _Phrases
from acav_assets.captions.offline_synthesiser.qa import _qa_candidates, _select_qa
from acav_assets.captions.schema import CONTENT_FACETS, FACETS, CaptionRecord

__all__ = ["SYNTHESIZER_NAME", "quote_transcript", "synthesize_caption"]

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
