import numpy as np
import pytest

from acav_assets.experts.routing import (
    DOMAINS,
    ContentGroups,
    RoutingThresholds,
    confusion_markdown,
    confusion_matrix,
    merge_windows,
    route_clip,
    route_row,
)
from acav_assets.experts.sound_events import sound_event_row, sound_events
from acav_assets.experts.tagging.audioset_ontology import load_ontology

NAMES = ["Speech", "Music", "Piano", "Dog", "Silence", "Inside, small room", "Singing", "Female speech, woman speaking"]


@pytest.fixture(scope="module")
def labels():
    ontology = load_ontology()
    mids = [ontology.mid(name) for name in NAMES]
    return mids, ContentGroups.from_labels(mids, ontology)


def scores(rows: list[dict[str, float]]) -> np.ndarray:
    matrix = np.zeros((len(rows), len(NAMES)), dtype=np.float32)
    for w, row in enumerate(rows):
        for name, value in row.items():
            matrix[w, NAMES.index(name)] = value
    return matrix


def windows(n: int) -> tuple[np.ndarray, np.ndarray]:
    starts = np.arange(n) * 2.0
    return starts, starts + 2.0


def test_groups_follow_the_ontology(labels):
    _, groups = labels
    assert [NAMES[i] for i in groups.speech] == ["Speech", "Female speech, woman speaking"]
    assert [NAMES[i] for i in groups.music] == ["Music", "Piano", "Singing"]
    # Silence and room acoustics describe the recording, not a source: not "other sound".
    assert [NAMES[i] for i in groups.sound] == ["Dog"]


@pytest.mark.parametrize(
    "rows, domain",
    [
        ([{}, {}], "000"),
        ([{"Dog": 0.9}, {}], "00A"),
        ([{"Piano": 0.8}, {"Music": 0.9}], "0M0"),
        ([{"Music": 0.9}, {"Dog": 0.5}], "0MA"),
        ([{"Speech": 0.9, "Inside, small room": 0.9}], "S00"),
        ([{"Female speech, woman speaking": 0.7}, {"Dog": 0.4}], "S0A"),
        ([{"Speech": 0.6, "Singing": 0.5}], "SM0"),
        ([{"Speech": 0.9}, {"Music": 0.5}, {"Dog": 0.35}], "SMA"),
        ([{"Silence": 0.99}], "000"),
        ([{"Speech": 0.49, "Music": 0.29, "Dog": 0.29}], "000"),  # all just under the thresholds
    ],
)
def test_every_domain(labels, rows, domain):
    _, groups = labels
    starts, ends = windows(len(rows))
    assert route_clip(scores(rows), starts, ends, groups).domain == domain


def test_silent_clips_are_000_and_thresholds_are_configurable(labels):
    _, groups = labels
    starts, ends = windows(1)
    matrix = scores([{"Speech": 0.9}])
    assert route_clip(matrix, starts, ends, groups, is_silent=True).domain == "000"
    assert route_clip(matrix, starts, ends, groups, RoutingThresholds(speech=0.95)).domain == "000"


def test_segments_merge_consecutive_windows(labels):
    _, groups = labels
    rows = [{"Speech": 0.9}, {"Speech": 0.8}, {"Music": 0.9}, {"Speech": 0.7}, {}]
    starts, ends = windows(len(rows))
    route = route_clip(scores(rows), starts, ends, groups)
    assert route.domain == "SM0"
    assert route.segments["speech"] == [(0.0, 4.0), (6.0, 8.0)]
    assert route.segments["music"] == [(4.0, 6.0)]
    assert route.scores["speech"] == pytest.approx(0.9)
    assert merge_windows(np.array([True, True]), np.array([0.0, 2.0]), np.array([2.0, 3.1])) == [(0.0, 3.1)]


def test_route_row_reads_a_tags_row(labels):
    _, groups = labels
    matrix = scores([{"Dog": 0.9}, {"Speech": 0.9}])
    row = route_row({"window_scores": matrix.tolist(), "window_starts_s": [0.0, 2.0], "window_ends_s": [2.0, 3.5]},
                    groups, RoutingThresholds(), is_silent=False)
    assert row["domain"] == "S0A" and row["speech_segments"] == [[2.0, 3.5]] and row["sound_segments"] == [[0.0, 2.0]]


def test_confusion_matrix():
    matrix, agreement = confusion_matrix(["S00", "S00", "0M0", None], ["S00", "S0A", "0M0", "00A"])
    assert agreement == pytest.approx(2 / 3)  # the clip without a recorded domain is not counted
    assert matrix["S00"]["S0A"] == 1 and matrix["0M0"]["0M0"] == 1
    text = confusion_markdown(matrix)
    assert "| **S00** |" in text and "**SMA**" not in text and all(d in text for d in DOMAINS)


def test_sound_events_have_onsets_and_offsets(labels):
    mids, groups = labels
    rows = [{"Dog": 0.2}, {"Dog": 0.6}, {"Dog": 0.5}, {}, {"Dog": 0.9}]
    starts, ends = windows(len(rows))
    events = sound_events(scores(rows), starts, ends, mids, NAMES, groups.sound, threshold=0.3)
    assert [(e["label"], e["onset_s"], e["offset_s"]) for e in events] == [("Dog", 2.0, 6.0), ("Dog", 8.0, 10.0)]
    assert events[0]["max_score"] == pytest.approx(0.6) and events[0]["mean_score"] == pytest.approx(0.55)
    row = sound_event_row(events, 0.3)
    assert row["labels"] == ["Dog"]
    # Speech and music never become sound events.
    assert sound_events(scores([{"Speech": 1.0, "Music": 1.0}]), *windows(1), mids, NAMES, groups.sound) == []
