"""`acav-assets calibrate`: fit on one split, report on the other, write a file the pipeline reads."""

import csv
import json
from pathlib import Path

import pytest

from acav_assets import cli
from acav_assets.defs.resources import AcavSettings
from acav_assets.experts.routing import RoutingThresholds, thresholds_from

DEMO = Path(cli.DEMO_MANIFEST)
ROWS = ["demo-birds-01", "demo-siren-01", "demo-piano-01", "demo-guitar-strings-01", "demo-speech-en-01",
        "demo-speech-fr-01", "demo-jazz-phone-01", "demo-speech-rain-en-01"]


@pytest.fixture
def environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ACAV_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    for name in ("ACAV_ROUTING_THRESHOLDS_FILE", "ACAV_SPEECH_THRESHOLD", "ACAV_MUSIC_THRESHOLD",
                 "ACAV_SOUND_THRESHOLD", "ACAV_PROFILE", "ACAV_TAGGER_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_calibrate_fits_on_one_split_and_reports_the_other(environment, capsys, monkeypatch):
    with DEMO.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["source_id"] in ROWS]
    for i, row in enumerate(rows):
        row["audio"], row["split"] = str(DEMO.parent / row["audio"]), "heldout" if i >= 6 else "calibration"
    manifest, out = environment / "m.csv", environment / "thresholds.json"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    assert cli.main(["calibrate", str(manifest), "--out", str(out), "--folds", "2"]) == 0
    printed = capsys.readouterr().out
    for line in ("current thresholds: 2 clips", "cross-validated accuracy (fit clips: 6, folds grouped by source)",
                 "held out (split 'heldout', final thresholds): 2 clips", "| music |", f"wrote {out}"):
        assert line in printed
    provenance = json.loads(out.read_text())["provenance"]
    assert provenance["n_clips"] == 6 and provenance["heldout_clips"] == 2 and provenance["tagger"].startswith("yamnet")
    assert 0.0 <= provenance["cv_accuracy"] <= 1.0
    heatmap = out.with_name(out.stem + ".confusion.png")
    assert heatmap.read_bytes().startswith(b"\x89PNG") and f"heatmap (recorded x routed, held out): {heatmap}" in printed

    monkeypatch.setenv("ACAV_ROUTING_THRESHOLDS_FILE", str(out))
    settings = AcavSettings.from_env()
    assert settings.routing_thresholds_file == str(out)
    assert thresholds_from(settings.model_dump()) == RoutingThresholds.from_file(str(out))


def test_calibrate_refuses_a_bad_thresholds_file(environment, capsys, monkeypatch):
    bad = environment / "bad.json"
    bad.write_text('{"routing_thresholds": {"speech": 0.5, "music": 0.3, "sound": -1, "min_windows": 1}}')
    monkeypatch.setenv("ACAV_ROUTING_THRESHOLDS_FILE", str(bad))
    assert cli.main(["calibrate", str(DEMO)]) == 2
    assert f"routing thresholds file {bad}: sound is -1, not a number in [0, 1]" in capsys.readouterr().err
