"""Every expert the pipeline runs, in the order the graph shows them.

Adding an expert: write its core module (its fields, a function from one shard's inputs to a
table, and a ``SPEC``; see ``experts/spec.py`` and ``experts/sound_events.py`` for a small one),
then add its ``SPEC`` here. The Dagster shell builds the asset and its blocking check from it;
add its name to ``EVIDENCE_EXPERTS`` if captions should read it.
"""

from __future__ import annotations

from acav_assets.experts import (
    acoustics,
    lalm_description,
    metadata,
    music,
    routing,
    sound_events,
)
from acav_assets.experts.spec import ExpertSpec
from acav_assets.experts.speech import expert as speech
from acav_assets.experts.tagging import tag_table

EXPERTS: tuple[ExpertSpec, ...] = (
    acoustics.SPEC,
    tag_table.SPEC,
    routing.SPEC,
    speech.SPEC,
    music.SPEC,
    sound_events.SPEC,
    metadata.SPEC,
    lalm_description.SPEC,
)

# The expert tables the evidence table joins (the tagger's top labels are added separately).
EVIDENCE_EXPERTS = ("acoustics", "routing", "speech", "music", "sound_events", "metadata", "lalm_description")


def expert(name: str) -> ExpertSpec:
    """The spec of the expert called ``name``."""
    for spec in EXPERTS:
        if spec.name == name:
            return spec
    raise KeyError(f"no expert {name!r}: the experts are {', '.join(s.name for s in EXPERTS)}")
