"""Sound events: AudioSet labels outside speech and music, with onset/offset segments merged
from the 2 s window scores.

A label is active in a window when its score is at least ``threshold`` (default 0.3, the same
as the routing threshold for other sound); consecutive active windows merge into one event, so
onsets and offsets have the window's resolution (2 s).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from acav_assets.experts.routing import merge_windows

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
