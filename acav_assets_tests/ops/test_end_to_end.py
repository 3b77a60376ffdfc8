"""The whole graph on the demo corpus through the CLI (real Dagster runs in a temporary instance)."""

import csv
import os

import duckdb
import pyarrow.parquet as pq
import pytest

from acav_assets.cli import DEMO_MANIFEST
from acav_assets.contracts.domains import DOMAINS
from acav_assets_tests.reference_data import MECAT_SAMPLE_FILE


def test_demo_corpus_covers_every_domain():
    with open(DEMO_MANIFEST) as handle:
        rows = list(csv.DictReader(handle))
    assert {r["domain"] for r in rows} == set(DOMAINS)
    assert sum(p.stat().st_size for p in DEMO_MANIFEST.parent.iterdir()) < 6_000_000
    assert all(r["license"] and r["what"] for r in rows)


def test_every_shard_and_the_statistics_materialise(demo_run):
    root, stdout = demo_run
    data = root / "data"
    assert "materialised shard demo-00000 (decode, experts, captions, curation)" in stdout
    assert "materialised shard demo-00001 (decode, experts, captions, curation)" in stdout and "materialised release and statistics (all shards)" in stdout
    assert "dg dev" in stdout  # tells where results are and how to look
    clips = pq.read_table(sorted((data / "clips").glob("*.parquet"))).to_pylist()
    assert len(clips) == 24 and all(c["status"] == "ok" for c in clips)
    assert {c["domain"] for c in clips} == set(DOMAINS)
    assert {c["original_sample_rate"] for c in clips} >= {16_000, 44_100, 48_000}
    acoustics = pq.read_table(sorted((data / "acoustics").glob("*.parquet"))).to_pylist()
    assert sorted(a["key"] for a in acoustics) == sorted(c["key"] for c in clips)
    by_key = {a["key"]: a for a in acoustics}
    silence = [c["key"] for c in clips if c["source_id"] == "demo-silence-01"]
    assert by_key[silence[0]]["is_silent"] and by_key[silence[0]]["rms_dbfs"] == -120.0
    assert sorted((data / "audio").glob("*.tar")) and not list(data.rglob("*.tmp-*"))

    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        (stats,) = con.execute("SELECT samples, hours, shards, clips_error FROM dataset_stats").fetchall()
        assert stats[0] == 24 and stats[2] == 2 and stats[3] == 0
        assert stats[1] == pytest.approx(sum(c["duration_s"] for c in clips) / 3600)
        (domains,) = con.execute("SELECT domains FROM dataset_stats").fetchall()[0]
        assert all(part in domains.split() for part in ("000=2", "00A=4", "S00=5")), domains


def test_runs_are_recorded_on_the_instance(demo_run):
    root, _ = demo_run
    import dagster as dg

    env = os.environ.copy()
    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    try:
        with dg.DagsterInstance.get() as instance:
            assert sorted(instance.get_dynamic_partitions("shards")) == ["demo-00000", "demo-00001"]
            runs = instance.get_runs()
            assert len(runs) == 3 and all(r.is_success for r in runs)
            checks = instance.event_log_storage.get_asset_check_execution_history(
                dg.AssetCheckKey(dg.AssetKey("clips"), "clips_quality"), limit=10
            )
            assert len(checks) == 2
    finally:
        os.environ.clear()
        os.environ.update(env)


def test_experts_on_the_demo_corpus(demo_run):
    root, _ = demo_run
    data = root / "data"

    def table(asset: str) -> list[dict]:
        return pq.read_table(sorted((data / asset).glob("*.parquet"))).to_pylist()

    routing = table("routing")
    agreement = sum(r["domain"] == r["recorded_domain"] for r in routing) / len(routing)
    assert len(routing) == 24 and agreement >= 0.9, agreement
    speech = {r["key"].rsplit("_", 2)[0]: r for r in table("speech")}
    assert speech["demo-speech-en-01_0"]["language"] == "en"
    assert "station" in speech["demo-speech-en-01_0"]["transcript"].lower() or speech["demo-speech-en-01_0"]["words"] > 5
    assert all(r["emotion"] == "unavailable" for r in speech.values() if r["status"] == "ok")
    music = table("music")
    assert music and all(r["status"] == "ok" for r in music)
    events = table("sound_events")
    assert any("Applause" in r["labels"] for r in events)
    evidence = table("evidence")
    assert len(evidence) == 24 and all(r["routed_domain"] for r in evidence)
    assert not any(r["experts_failed"] for r in evidence)


def test_captions_on_the_demo_corpus(demo_run):
    root, _ = demo_run
    captions = pq.read_table(sorted((root / "data" / "captions").glob("*.parquet"))).to_pylist()
    assert len(captions) == 24 and all(r["status"] == "ok" for r in captions)
    assert {r["model"] for r in captions} == {"acav-evidence-template-v1"}  # offline: the synthesiser
    german = next(r for r in captions if r["key"].startswith("demo-speech-de-01"))
    assert not any("piano" in text.lower() for f in ("long", "short", "music") for text in german[f])


def test_release_and_caption_statistics(demo_run):
    root, _ = demo_run
    from acav_assets.curation.release import read_qa, read_release

    release = root / "data" / "release"
    released = read_release(str(release))
    curated = pq.read_table(sorted((root / "data" / "curated_captions").glob("*.parquet"))).to_pylist()
    drops = pq.read_table(sorted((root / "data" / "curation_drops").glob("*.parquet"))).to_pylist()
    assert len(curated) + len(drops) == 24 and all(d["reason"] for d in drops)
    assert set(released) == {r["key"] for r in curated if r["domain"] != "000"}
    assert not (release / "000.jsonl.gz").exists() and (release / "S00.jsonl.gz").exists()
    assert read_qa(str(release)) and (release / "captions.parquet").exists()
    assert sorted((release / "webdataset").glob("*.tar"))
    with duckdb.connect(str(root / "data" / "warehouse.duckdb"), read_only=True) as con:
        (unique_tokens, captioned) = con.execute("SELECT unique_tokens, captioned_samples FROM dataset_stats").fetchall()[0]
    assert unique_tokens > 100 and captioned == len(curated)


def test_table_1_comparison(demo_run):
    root, _ = demo_run
    rows = {r["dataset"]: r for r in pq.read_table(root / "data" / "dataset_comparison" / "dataset_comparison.parquet").to_pylist()}
    assert rows["acav"]["samples"] > 0 and rows["acav"]["unique_tokens"] > 100
    clips = sum(1 for line in MECAT_SAMPLE_FILE.read_text().splitlines() if line.strip())
    assert rows["MECAT-sample"]["samples"] == clips == 150
    with duckdb.connect(str(root / "data" / "warehouse.duckdb"), read_only=True) as con:
        datasets = {r[0] for r in con.execute("SELECT dataset FROM dataset_comparison").fetchall()}
    assert "acav" in datasets


def test_alignment_run_on_the_demo_release_is_captioned_and_scored(demo_run, tmp_path):
    """Stage 5 end to end on the demo's own release: `acav-assets add-run`, then caption_model,
    caption_predictions and mecat_caption_scores through `dagster asset materialize`, with the
    release's captions as references. Tiny random models (no hub here), so the score is low but
    real: all nine groups and the final score come out of DuckDB."""
    import gzip
    import json
    import shutil
    import subprocess
    import sys

    from acav_assets.stats import sql_runner
    from acav_assets_tests.tiny_audio_models import save_tiny_models

    root, _ = demo_run
    data = tmp_path / "data"
    shutil.copytree(root / "data" / "release", data / "release")  # the demo's own state stays as it was
    encoder, decoder = save_tiny_models(tmp_path / "tiny")
    run_file = tmp_path / "tiny.json"
    run_file.write_text(json.dumps({
        "encoder": encoder, "decoder": decoder, "tokenizer": "qwen3-packaged", "regime": "alignment",
        "batch_size": 4, "max_steps": 4, "warmup_steps": 1, "save_every": 4, "max_audio_seconds": 1.0,
        "max_target_tokens": 8, "predictions": {"max_new_tokens": 4}}))
    env = dict(os.environ, ACAV_DATA_ROOT=str(data), DAGSTER_HOME=str(tmp_path / "home"), HF_HUB_OFFLINE="1",
               ACAV_MECAT_REFERENCES=str(data / "release"))

    def run(*args: str) -> None:
        result = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    run("-m", "acav_assets.cli", "add-run", "tiny", "--config", str(run_file))
    for selection in ("caption_model,caption_predictions", "mecat_caption_scores"):
        run("-m", "dagster", "asset", "materialize", "-m", "acav_assets.definitions", "--select", selection,
            "--partition", "tiny")
    released = sum(1 for path in (data / "release").glob("*.jsonl.gz") if not path.name.startswith("qa")
                   for _ in gzip.open(path, "rt"))
    with open(data / "predictions" / "tiny" / "long.csv", newline="") as handle:
        assert len(list(csv.reader(handle))) == released  # every released clip, no header (the official format)
    (scores,) = sql_runner.query(str(data / "warehouse.duckdb"),
                                 "SELECT * FROM caption_benchmark WHERE system = 'tiny'").to_pylist()
    assert scores["clips"] == released
    groups = ("content_long", "content_short", "pure_speech", "mixed_speech", "pure_music", "mixed_music",
              "pure_sound", "mixed_sound", "environment", "score")
    assert all(scores[g] is not None and 0 <= scores[g] < 100 for g in groups), scores
    print("\nTiny alignment run on the demo release, DATE ×100: "
          + ", ".join(f"{g} {scores[g]:.1f}" for g in groups))
