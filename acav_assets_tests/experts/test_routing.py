import numpy as np
import pytest

from acav_assets.experts.routing import (
    DOMAINS,
    ContentGroups,
    RoutingThresholds,
    confusion_markdown,
    confusion_matrix,
    event_strength,
    frame_evidence,
    merge_intervals,
    merge_windows,
    route_clip,
    route_row,
)
from acav_assets.experts.sound_events import sound_event_row, sound_events
from acav_assets.experts.tagging.audioset_ontology import load_ontology

NAMES = ["Speech", "Music", "Piano", "Dog", "Silence", "Inside, small room", "Singing", "Female speech, woman speaking",
         "Sigh", "Door", "Car alarm", "Ding", "Church bell"]


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
    assert [NAMES[i] for i in groups.music] == ["Music", "Piano", "Singing", "Church bell"]
    # Silence and room acoustics describe the recording, not a source: not "other sound".
    assert [NAMES[i] for i in groups.sound] == ["Dog", "Sigh", "Door", "Car alarm", "Ding"]
    assert [NAMES[i] for i in groups.human] == ["Sigh"]  # a voice can raise them
    assert [NAMES[i] for i in groups.tonal] == ["Car alarm"]
    assert [NAMES[i] for i in groups.ambiguous] == ["Ding"]  # an instrument can make it
    assert [NAMES[i] for i in groups.dual] == ["Church bell"]  # a musical instrument and a sound of things


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
        # all just under the peak thresholds (0.5, 0.34 and 0.19 since the fit on the real corpus)
        ([{"Speech": 0.49, "Music": 0.33, "Dog": 0.18}], "000"),
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


def bed(n: int, **level: float) -> list[dict[str, float]]:
    """``n`` frames of a steady bed: every sound class far down, the given classes at their level."""
    return [{"Dog": 1e-6, "Sigh": 1e-6, "Door": 1e-6, **level} for _ in range(n)]


def frames_route(rows, thresholds=None):
    """Route a 10 s clip with these frame scores every 0.48 s; each 2 s window scores the best of
    the frames that start in it."""
    starts, ends = windows(5)
    frame_starts = np.arange(len(rows)) * 0.48
    frames = scores(rows)
    window_scores = np.stack([frames[(frame_starts >= s) & (frame_starts < e)].max(axis=0) for s, e in zip(starts, ends)])
    return route_clip(window_scores, starts, ends, labels_groups(), thresholds or RoutingThresholds(), frame_scores=frames,
                      frame_starts=frame_starts)


def labels_groups():
    ontology = load_ontology()
    return ContentGroups.from_labels([ontology.mid(name) for name in NAMES], ontology)


def test_a_short_event_under_music_is_other_sound():
    music = bed(19, Music=0.95)
    quiet = [dict(row) for row in music]
    quiet[7]["Door"] = 0.1  # below the peak threshold, but 11.6 log-odds above its level in the rest of the clip
    route = frames_route(quiet)
    assert route.scores["sound"] < RoutingThresholds().sound and route.domain == "0MA"
    assert route.segments["sound"] == [(7 * 0.48, 7 * 0.48 + 0.975)]
    assert frames_route(music).domain == "0M0"
    # The same rise is not enough with a stricter event threshold, nor with the rule off.
    assert frames_route(quiet, RoutingThresholds(sound_event=14.0)).domain == "0M0"
    assert frames_route(quiet, RoutingThresholds(sound_event=None)).domain == "0M0"


def test_events_under_speech_need_more_and_a_voice_is_no_event():
    speech = bed(19, Speech=0.95)
    strength = event_strength(scores(speech), labels_groups())
    assert strength.max() == 0.0
    voiced = [dict(row) for row in speech]
    voiced[5]["Door"] = 2e-3  # 7.6 log-odds above its level elsewhere, which never moves (spread 0, plus 1)
    rules, per_frame = frame_evidence(scores(voiced), labels_groups())
    rise = np.log(2e-3 / (1 - 2e-3)) - np.log(1e-6 / (1 - 1e-6))
    assert rules["sound_event"] == 0.0 and rules["sound_event_voiced"] == pytest.approx(rise, rel=1e-4)
    assert per_frame["sound_event_voiced"].argmax() == 5
    lenient = RoutingThresholds(sound_event=5.0, sound_event_voiced=7.0)
    assert frames_route(voiced, lenient).domain == "S0A"
    assert frames_route(voiced, RoutingThresholds(sound_event=5.0, sound_event_voiced=8.0)).domain == "S00"
    # A sigh rising in a voiced frame is the voice; in a pause it is an event.
    sigh = [dict(row) for row in speech]
    sigh[5]["Sigh"] = 2e-3
    assert frames_route(sigh, lenient).domain == "S00"
    sigh[5]["Speech"] = 0.1
    assert frames_route(sigh, lenient).domain == "S0A"


def test_an_alarm_rising_in_a_voiced_frame_is_the_voice():
    lenient = RoutingThresholds(sound_event=5.0, sound_event_voiced=7.0)
    alarm = bed(19, Speech=0.95)
    alarm[5]["Car alarm"] = 2e-3  # about 10 log-odds above its level elsewhere
    assert frames_route(alarm, lenient).domain == "S00"
    alarm[5]["Speech"] = 0.1  # in a pause it is an event
    assert frames_route(alarm, lenient).domain == "S0A"


def test_a_ding_in_music_is_the_music():
    music = bed(19, Music=0.95, Ding=1e-6)
    music[7]["Ding"] = 0.1  # the same rise as the door under music, but a ding names a timbre, not a source
    assert frames_route(music).domain == "0M0"
    music[7]["Music"] = 0.3  # where the music is unsure, a ding is an event
    assert frames_route(music).domain == "0MA"


def test_a_bell_is_music_among_music_and_a_sound_alone():
    bell = bed(19, **{"Church bell": 0.9})
    route = frames_route(bell)
    assert route.scores["sound"] == pytest.approx(0.9) and route.domain == "00A"  # lasting, but no other music: a bell
    assert frames_route(bed(19, **{"Church bell": 0.9, "Music": 0.95})).domain == "0M0"  # among music: an instrument


def test_music_without_a_voice_must_last():
    effect = bed(19, Door=0.6)
    effect[7]["Music"] = effect[8]["Music"] = 0.8  # a tonal effect the tagger hears as music in 2 of 19 frames
    route = frames_route(effect)
    assert route.scores["music"] >= RoutingThresholds().music
    assert route.domain == "00A" and route.segments["music"] == []
    assert frame_evidence(scores(effect), labels_groups())[0]["music_extent"] == pytest.approx(2 / 19)
    assert frames_route(effect, RoutingThresholds(music_extent=0.1)).domain == "0MA"
    assert frames_route(effect, RoutingThresholds(music_extent=None)).domain == "0MA"
    # Music that lasts is music; under a voice, music is masked in many frames and is not held to it.
    assert frames_route(bed(19, Door=0.6, Music=0.8)).domain == "0MA"
    voiced = [dict(row, Speech=0.9) for row in effect]
    assert frame_evidence(scores(voiced), labels_groups())[0]["music_extent"] == 1.0
    assert frames_route(voiced).domain == "SMA"


def test_without_frames_the_windows_stand_in():
    rows = bed(5, Music=0.95)
    rows[2]["Door"] = 0.1
    starts, ends = windows(5)
    route = route_clip(scores(rows), starts, ends, labels_groups(), RoutingThresholds(sound=0.3))
    assert route.domain == "0MA" and route.segments["sound"] == [(4.0, 6.0)]
    # Fewer than three frames give no clip level to rise above.
    assert route_clip(scores(rows[1:3]), starts[:2], ends[:2], labels_groups(), RoutingThresholds(sound=0.3)).domain == "0M0"


def test_the_music_bed_rule():
    quiet_music = bed(19, Speech=0.95, Music=0.02)  # never near the peak threshold, but always there (-3.9)
    assert frames_route(quiet_music).domain == "SM0"
    assert frames_route(quiet_music, RoutingThresholds(music_bed=-3.0)).domain == "S00"
    assert frames_route(quiet_music, RoutingThresholds(music_bed=None)).domain == "S00"
    # Only under a voice: without one, music peaks when it is there.
    no_voice = [dict(row, Speech=0.0) for row in quiet_music]
    assert frame_evidence(scores(no_voice), labels_groups())[0]["music_bed"] == -np.inf
    assert frames_route(no_voice).domain == "000"
    # Nor from 2 s windows, whose scores are their best moments.
    starts, ends = windows(5)
    assert route_clip(scores(bed(5, Speech=0.95, Music=0.02)), starts, ends, labels_groups()).domain == "S00"


def test_merge_intervals():
    assert merge_intervals([(3.0, 4.0), (0.0, 1.0), (0.5, 2.0), (2.0, 2.5)]) == [(0.0, 2.5), (3.0, 4.0)]
    assert merge_intervals([]) == []
