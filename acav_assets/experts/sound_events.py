"""Sound events: AudioSet labels outside speech and music, with onset/offset segments merged
from the 2 s window scores.

A label is active in a window when its score is at least ``threshold`` (default 0.3, the same
as the routing threshold for other sound); consecutive active windows merge into one event, so
onsets and offsets have the window's resolution (2 s).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from acav_assets.contracts.domains import STATUS_OK
from acav_assets.experts.routing import ContentGroups, merge_windows
from acav_assets.experts.spec import ExpertOutput, ExpertSpec, ShardInputs, ok_rows
from acav_assets.experts.tagging.audioset_ontology import load_ontology
from acav_assets.experts.tagging.tag_table import label_mids_of

EVENT_TYPE = pa.struct(
    [
        pa.field("mid", pa.string()),
        pa.field("label", pa.string()),
        pa.field("onset_s", pa.float64(), metadata={"unit": "s"}),
        pa.field("offset_s", pa.float64(), metadata={"unit": "s"}),
        pa.field("max_score", pa.float64(), metadata={"unit": "probability"}),
        pa.field("mean_score", pa.float64(), metadata={"unit": "probability"}),
    ]
)


def sound_events(
    window_scores: np.ndarray,
    window_starts: np.ndarray,
    window_ends: np.ndarray,
    label_mids: Sequence[str],
    label_names: Sequence[str],
    sound_columns: np.ndarray,
    threshold: float = 0.3,
) -> list[dict]:
    """Events sorted by onset, then by descending peak score."""
    scores = np.asarray(window_scores, dtype=np.float32)
    events = []
    for column in np.asarray(sound_columns):
        active = scores[:, column] >= threshold
        if not active.any():
            continue
        for onset, offset in merge_windows(active, np.asarray(window_starts), np.asarray(window_ends)):
            inside = (np.asarray(window_starts) >= onset - 1e-6) & (np.asarray(window_ends) <= offset + 1e-6)
            events.append(
                {
                    "mid": label_mids[column],
                    "label": label_names[column],
                    "onset_s": onset,
                    "offset_s": offset,
                    "max_score": float(scores[inside, column].max()),
                    "mean_score": float(scores[inside, column].mean()),
                }
            )
    return sorted(events, key=lambda e: (e["onset_s"], -e["max_score"]))


SOUND_EVENT_FIELDS = [
    pa.field("events", pa.list_(EVENT_TYPE), metadata={"description": "labels with onset/offset, by onset"}),
    pa.field("labels", pa.list_(pa.string()), metadata={"description": "distinct event labels, best first"}),
    pa.field("threshold", pa.float64(), metadata={"unit": "probability"}),
]


def sound_event_row(events: list[dict], threshold: float) -> dict:
    best_first = sorted(events, key=lambda e: -e["max_score"])
    return {"events": events, "labels": list(dict.fromkeys(e["label"] for e in best_first)), "threshold": threshold}


SOUND_EVENT_THRESHOLD = 0.3


def sound_events_of_shard(inputs: ShardInputs) -> ExpertOutput:
    """Events of every clip routed with other sound, from its window scores."""
    keys = set(inputs.keys("sound"))
    tags_table = inputs.read("tags")
    mids = label_mids_of(tags_table)
    ontology = load_ontology()
    names = [ontology.name(mid) for mid in mids]
    sound_columns = ContentGroups.from_labels(mids, ontology).sound
    rows = []
    for row in ok_rows(tags_table):
        if row["key"] not in keys:
            continue
        scores = np.asarray(row["window_scores"], dtype=np.float32).reshape(len(row["window_starts_s"]), -1)
        events = sound_events(scores, np.asarray(row["window_starts_s"]), np.asarray(row["window_ends_s"]),
                              mids, names, sound_columns, SOUND_EVENT_THRESHOLD)
        rows.append({"key": row["key"], "shard": inputs.shard, **sound_event_row(events, SOUND_EVENT_THRESHOLD),
                     "status": STATUS_OK})
    table = pa.Table.from_pylist(rows, schema=SPEC.schema)
    labels = Counter(label for row in rows for label in row["labels"])
    return ExpertOutput(table, {"top_labels": dict(labels.most_common(15))})


SPEC = ExpertSpec(
    name="sound_events",
    description="Sound events on clips routed to **A: AudioSet labels outside speech and music with onset/offset "
    f"merged from 2 s windows (score >= {SOUND_EVENT_THRESHOLD}).",
    fields=tuple(SOUND_EVENT_FIELDS), analyse=sound_events_of_shard, reads=("routing", "tags"), coverage="sound",
    ranges={"threshold": (0.0, 1.0)},
    check="One row per **A clip.",
)
