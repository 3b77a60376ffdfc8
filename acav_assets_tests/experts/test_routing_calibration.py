"""Routing calibration: the fast routing matches route_clip, the search fits what separates the
domains, folds keep a source together, held-out clips never tune, and the thresholds file."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from acav_assets.contracts.domains import DOMAINS, PARTS
from acav_assets.experts import routing_calibration as rc
from acav_assets.experts.routing import (
    ContentGroups,
    RoutingThresholds,
    frame_evidence,
    route_clip,
    thresholds_from,
)
from acav_assets.experts.tagging.audioset_ontology import load_ontology
from acav_assets.ingest.manifests import plan_clips, read_manifest
from acav_assets.io.audio_decoding import probe_duration

DEMO_MANIFEST = Path(__file__).resolve().parents[2] / "acav_assets" / "demo_corpus" / "manifest.csv"


def clip(n: int, domain: str, windows: dict[str, list[float]], source: str | None = None, split=None, silent=False):
    return rc.ClipEvidence(f"c{n}", source or f"s{n}", domain, silent,
                           {part: np.asarray(windows.get(part, [0.0]), dtype=np.float32) for part in PARTS}, split)


def synthetic(n: int = 60, seed: int = 0) -> list[rc.ClipEvidence]:
    """Clips whose parts are present exactly when their best window is >= 0.6 (speech), 0.4, 0.35."""
    rng = np.random.default_rng(seed)
    clips = []
    for i in range(n):
        domain = DOMAINS[i % len(DOMAINS)]
        windows = {}
        for part, cut, letter in zip(PARTS, (0.6, 0.4, 0.35), domain):
            high = rng.uniform(cut + 0.05, 1.0) if letter != "0" else rng.uniform(0.0, cut - 0.05)
            windows[part] = [high, *rng.uniform(0.0, min(high, cut - 0.05), 4)]
        clips.append(clip(i, domain, windows, source=f"s{i // 2}", silent=domain == "000" and i % 16 == 0))
    return clips


def test_fast_routing_matches_route_clip():
    ontology = load_ontology()
    mids = [ontology.mid(name) for name in ("Speech", "Music", "Dog")]
    groups = ContentGroups.from_labels(mids, ontology)
    rng = np.random.default_rng(1)
    evidence, raw = [], []
    for i in range(40):
        scores = rng.uniform(0, 1, (int(rng.integers(1, 6)), 3)).astype(np.float32) ** 3
        silent = i % 7 == 0
        raw.append((scores, silent))
        evidence.append(rc.ClipEvidence(f"c{i}", f"s{i}", "000", silent, {p: scores[:, j] for j, p in enumerate(PARTS)},
                                        rules=frame_evidence(scores, groups)[0]))  # the windows as frames
    for thresholds in (RoutingThresholds(), RoutingThresholds(0.7, 0.2, 0.5, 2), RoutingThresholds(0.4, 0.4, 0.4, 3),
                       RoutingThresholds(0.9, 0.9, 0.9, 1, music_bed=-2.0, sound_event=1.0, sound_event_voiced=1.5),
                       RoutingThresholds(0.3, 0.1, 0.3, 1, music_extent=0.6)):
        expected = [route_clip(s, np.arange(len(s)) * 2.0, np.arange(1, len(s) + 1) * 2.0, groups, thresholds,
                               silent, s, np.arange(len(s)) * 2.0).domain for s, silent in raw]
        assert rc.route_evidence(evidence, thresholds) == expected
    # Each frame rule fires on some clip of this set: the comparison above tests them all.
    assert any(e.rules["sound_event"] >= 1.0 for e in evidence) and any(e.rules["music_bed"] >= -2.0 for e in evidence)
    assert any(e.windows["music"].max() >= 0.1 and e.rules["music_extent"] < 0.6 for e in evidence)  # the gate bites


def test_the_search_fits_the_frame_rules():
    """Sound is present exactly when a clip's event passes 9 (its peak stays low); music when its
    bed passes -4 or its peak passes 0.5."""
    rng = np.random.default_rng(2)
    clips = []
    for i in range(48):
        domain = DOMAINS[i % len(DOMAINS)]
        music = domain[1] == "M"
        peak = rng.uniform(0.55, 1.0) if music and i % 3 else rng.uniform(0.0, 0.3)
        windows = {"speech": [0.9 if domain[0] == "S" else 0.1], "music": [peak], "sound": [rng.uniform(0.0, 0.1)]}
        rules = {"music_bed": rng.uniform(-3.5, 0) if music else rng.uniform(-9, -4.5),
                 "sound_event": rng.uniform(9.5, 15) if domain[2] == "A" else rng.uniform(0, 8.5),
                 "sound_event_voiced": 0.0}
        clips.append(replace(clip(i, domain, windows), rules=rules))
    start = RoutingThresholds(music_bed=0.0, sound_event=12.0, sound_event_voiced=14.0)
    fitted, accuracy = rc.fit_thresholds(clips, start)
    needed = min(c.rules["music_bed"] for c in clips if c.domain[1] == "M" and c.windows["music"][0] < 0.5)
    assert accuracy == 1.0 and 8.5 < fitted.sound_event < 9.5 and -4.5 < fitted.music_bed <= needed
    # Held thresholds keep their value; a rule that is off stays off.
    held, held_accuracy = rc.fit_thresholds(clips, start, fixed=("sound_event",))
    assert held.sound_event == 12.0 and held_accuracy < 1.0
    off, _ = rc.fit_thresholds(clips, replace(start, music_bed=None))
    assert off.music_bed is None
    with pytest.raises(ValueError, match="cannot hold loudness"):
        rc.fit_thresholds(clips, start, fixed=("loudness",))


def test_the_search_fits_the_music_extent():
    """Music peaks in every clip with a music letter and in tonal effects; only real music lasts
    (extent >= 0.8, effects <= 0.3)."""
    rng = np.random.default_rng(3)
    clips = []
    for i in range(40):
        domain = ("0M0", "0MA", "00A", "000")[i % 4]
        music, effect = domain[1] == "M", domain == "00A"
        windows = {"speech": [0.1], "music": [rng.uniform(0.6, 1.0) if music or effect else 0.1],
                   "sound": [0.9 if domain[2] == "A" else 0.0]}
        extent = rng.uniform(0.8, 1.0) if music else rng.uniform(0.0, 0.3)
        clips.append(replace(clip(i, domain, windows), rules={"music_extent": extent}))
    start = RoutingThresholds(music_extent=0.05, music_bed=None, sound_event=None, sound_event_voiced=None)
    assert rc.score_routing([c.domain for c in clips], rc.route_evidence(clips, start)).accuracy < 0.8
    fitted, accuracy = rc.fit_thresholds(clips, start)
    lasting = min(c.rules["music_extent"] for c in clips if c.domain[1] == "M")
    brief = max(c.rules["music_extent"] for c in clips if c.domain == "00A")
    assert accuracy == 1.0 and brief < fitted.music_extent <= lasting
    assert "music 0.34 (lasting" in rc.thresholds_text(fitted)
    # Off stays off, and a clip without the value passes the gate.
    assert rc.fit_thresholds(clips, replace(start, music_extent=None))[0].music_extent is None
    assert rc.route_evidence([replace(clips[2], rules={})], fitted) == ["0MA"]


def test_the_search_finds_thresholds_that_separate_the_domains():
    clips = synthetic()
    wrong = RoutingThresholds(0.95, 0.05, 0.9, 2)
    assert rc.score_routing([c.domain for c in clips], rc.route_evidence(clips, wrong)).accuracy < 0.5
    fitted, accuracy = rc.fit_thresholds(clips, wrong)
    assert accuracy == 1.0 and fitted.min_windows == 1
    assert rc.route_evidence(clips, fitted) == [c.domain for c in clips]
    # Already perfect: the current thresholds stay.
    assert rc.fit_thresholds(clips, RoutingThresholds(0.6, 0.4, 0.35))[0] == RoutingThresholds(0.6, 0.4, 0.35)


def test_folds_keep_each_source_together():
    sources = [f"s{i // 3}" for i in range(30)] + ["big"] * 7
    fold = rc.source_folds(sources, 4)
    for source in set(sources):
        assert len({f for f, s in zip(fold, sources) if s == source}) == 1
    assert sorted(set(fold)) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="cannot make 5 folds from 2 sources"):
        rc.source_folds(["a", "a", "b"], 5)


def test_reported_clips_never_tune_the_thresholds():
    clips = [replace(c, split="fit" if i % 4 else "report") for i, c in enumerate(synthetic(80))]
    first = rc.calibrate(clips, folds=3, fit="fit", report="report")
    # Relabel every reported clip: the fit cannot change, only the held-out score.
    relabelled = [replace(c, domain="SMA") if c.split == "report" else c for c in clips]
    second = rc.calibrate(relabelled, folds=3, fit="fit", report="report")
    assert first.thresholds == second.thresholds and first.cv_accuracy == second.cv_accuracy
    assert first.heldout.accuracy == 1.0 and second.heldout.accuracy < 0.5
    assert first.n_fit == 60 and first.n_report == 20 and first.shared_sources == 20
    with pytest.raises(ValueError, match="no clips with a recorded domain in the split 'test'"):
        rc.calibrate(clips, folds=3, fit="fit", report="test")


@pytest.fixture(scope="module")
def demo_evidence():
    from acav_assets.experts.tagging.yamnet_tagger import YamnetTagger

    tagger = YamnetTagger()
    groups = ContentGroups.from_labels(tagger.label_mids, load_ontology())
    clips = plan_clips(read_manifest(str(DEMO_MANIFEST)), probe_duration)
    return rc.collect_evidence(clips, tagger, groups)


def test_calibration_on_the_demo_corpus(demo_evidence):
    evidence, skipped = demo_evidence
    assert len(evidence) == 24 and not skipped
    assert sum(c.is_silent for c in evidence) == 2
    result = rc.calibrate(evidence, RoutingThresholds(), folds=3)
    assert result.n_fit == result.n_report == 24 and len(result.fold_accuracies) == 3
    for score in (result.before, result.heldout):
        assert sum(map(sum, (row.values() for row in score.matrix.values()))) == 24
        assert 0.0 <= score.accuracy <= 1.0
        assert all(0.0 <= v <= 1.0 for letter in score.letters.values() for v in letter.values() if v is not None)
    assert result.before.accuracy >= 0.9 and 0.0 <= result.cv_accuracy <= 1.0
    assert result.fit_accuracy >= result.before.accuracy
    text = rc.calibration_text(result)
    for line in ("current thresholds: 24 clips", "cross-validated accuracy", "| recorded \\ routed |",
                 "| speech |", "final thresholds (fitted on all 24 fit clips"):
        assert line in text


def test_the_thresholds_file_round_trips(tmp_path):
    path = str(tmp_path / "routing_thresholds.json")
    thresholds = RoutingThresholds(0.45, 0.25, 0.35, 2, music_bed=-4.5, music_extent=0.4, sound_event=10.0,
                                   sound_event_voiced=None)
    rc.write_thresholds_file(path, thresholds, {"manifest": "m.csv", "cv_accuracy": 0.9})
    assert json.loads(Path(path).read_text())["provenance"]["cv_accuracy"] == 0.9
    assert RoutingThresholds.from_file(path) == thresholds
    # A file from before the frame rules: they keep their defaults.
    older = tmp_path / "older.json"
    older.write_text('{"routing_thresholds": {"speech": 0.45, "music": 0.25, "sound": 0.35, "min_windows": 2}}')
    assert RoutingThresholds.from_file(str(older)) == RoutingThresholds(0.45, 0.25, 0.35, 2)
    settings = {"speech_threshold": 0.9, "music_threshold": 0.9, "sound_threshold": 0.9}
    assert thresholds_from({**settings, "routing_thresholds_file": path}) == thresholds  # the file wins
    assert thresholds_from({**settings, "routing_thresholds_file": ""}) == RoutingThresholds(0.9, 0.9, 0.9)


@pytest.mark.parametrize("content, message", [
    ('{"routing_thresholds": {"speech": 1.5, "music": 0.3, "sound": 0.3, "min_windows": 1}}',
     "speech is 1.5, not a number in \\[0, 1\\]"),
    ('{"routing_thresholds": {"speech": 0.5, "music": "high", "sound": 0.3, "min_windows": 0}}',
     "music is 'high', not a number .*min_windows is 0, not an integer >= 1"),
    ('{"routing_thresholds": {"speech": 0.5, "music": 0.3, "min_windows": 1, "noise": 2}}',
     "unknown field 'noise'; missing 'sound'"),
    ('{"routing_thresholds": {"speech": 0.5, "music": 0.3, "sound": 0.3, "min_windows": 1, "sound_event": "high"}}',
     "sound_event is 'high', not a number or null"),
    ('{"routing_thresholds": {"speech": 0.5, "music": 0.3, "sound": 0.3, "min_windows": 1, "music_extent": 1.5}}',
     "music_extent is 1.5, not a share in \\[0, 1\\] or null"),
    ('{"speech": 0.5}', "no 'routing_thresholds' object"),
    ("speech: 0.5", "not JSON"),
])
def test_a_bad_thresholds_file_is_refused_clearly(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=f"routing thresholds file {path}: {message}"):
        thresholds_from({"routing_thresholds_file": str(path)})
