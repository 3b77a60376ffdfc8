"""`acav-assets register`: the clip-length limit, and a manifest that shrinks."""

import dagster as dg
import pytest

from acav_assets import cli
from acav_assets.ingest.shard_plans import RETIRED
from acav_assets.io import storage


@pytest.fixture
def environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ACAV_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ACAV_SHARD_SIZE", "1")
    return tmp_path


def test_register_refuses_windows_past_the_clip_limit(environment, bad_corpus, capsys, monkeypatch):
    monkeypatch.setenv("ACAV_MAX_CLIP_SECONDS", "20")
    manifest = environment / "long.csv"
    manifest.write_text(f"audio,start,end\n{bad_corpus['folder'] / 'good.flac'},0,25\n")
    assert cli.main(["register", str(manifest)]) == 2
    assert "row 1: the window 0-25 s is 25 s, longer than the 20 s limit" in capsys.readouterr().err
    assert not (environment / "data" / "shard_plans").exists()


def test_registering_a_shrunk_manifest_retires_its_orphaned_shards(environment, bad_corpus, capsys):
    good, data = bad_corpus["folder"] / "good.flac", str(environment / "data")
    manifest = environment / "m.csv"
    manifest.write_text(f"audio,start,end\n{good},0,1\n{good},1,2\n{good},2,3\n")
    assert cli.main(["register", str(manifest)]) == 0
    shards = ["m-00000", "m-00001", "m-00002"]
    for shard in shards:
        storage.write_text("x", f"{data}/clips/{shard}.parquet")
        storage.write_text("x", f"{data}/audio/{shard}.tar")
    capsys.readouterr()

    manifest.write_text(f"audio,start,end\n{good},0,1\n")
    assert cli.main(["register", str(manifest)]) == 0
    assert "retired 2 shards it no longer produces (outputs moved to _retired/): m-00001, m-00002" in (
        capsys.readouterr().out)
    with dg.DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions("shards") == ["m-00000"]
    for asset, ext in (("shard_plans", "parquet"), ("clips", "parquet"), ("audio", "tar")):
        assert storage.list_partitions(data, asset, ext) == ["m-00000"]
        assert sorted(p.name for p in (environment / "data" / asset / RETIRED).iterdir()) == [
            f"m-00001.{ext}", f"m-00002.{ext}"]
