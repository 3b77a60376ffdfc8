import os

import dagster as dg
import pytest

from acav_assets import cli


@pytest.fixture
def environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ACAV_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ACAV_SHARD_SIZE", "5")
    return tmp_path


def test_register_is_idempotent(environment, bad_corpus, capsys):
    manifest = environment / "m.csv"
    files = [bad_corpus["folder"] / n for n in ("good.flac", "good.ogg", "silence.wav")]
    manifest.write_text("audio,start,end\n" + "".join(f"{f},0,{s}\n" for f in files for s in (0.5, 1.0, 1.5)))
    assert cli.main(["register", str(manifest)]) == 0
    assert "9 clips in 2 shards (2 new partitions, 2 plans written)" in capsys.readouterr().out
    assert cli.main(["register", str(manifest)]) == 0
    assert "(0 new partitions, 0 plans written)" in capsys.readouterr().out
    with dg.DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions("shards") == ["m-00000", "m-00001"]
    assert os.path.exists(environment / "data" / "shard_plans" / "m-00001.parquet")


def test_malformed_manifest_is_a_clear_error(environment, capsys):
    manifest = environment / "bad.csv"
    manifest.write_text("audio,end\na.wav,ten\n")
    assert cli.main(["register", str(manifest)]) == 2
    assert "row 1: end 'ten' is not a number of seconds" in capsys.readouterr().err


def test_register_refuses_a_prefix_that_climbs_out(environment, tmp_path, bad_corpus, capsys):
    manifest = tmp_path / "corpus.csv"
    manifest.write_text(f"audio\n{bad_corpus['folder'] / 'good.flac'}\n")
    code = cli.main(["register", str(manifest), "--prefix", "../../escaped"])
    assert code == 2 and "not a safe name" in capsys.readouterr().err
    assert not list(tmp_path.rglob("escaped*"))
