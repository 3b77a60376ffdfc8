"""The data-root layout: every path in one place, and the local vs object-store rule."""

from pathlib import Path

import pytest

from acav_assets.contracts.layout import (
    DataLayout,
    is_remote,
    local_path,
    normalise_root,
)


def test_paths_under_a_local_root(tmp_path):
    layout = DataLayout(str(tmp_path) + "/")
    assert layout.table("clips", "s-00000") == f"{tmp_path}/clips/s-00000.parquet"
    assert layout.table("dataset_comparison") == f"{tmp_path}/dataset_comparison/dataset_comparison.parquet"
    assert layout.glob("tags") == f"{tmp_path}/tags/*.parquet"
    assert layout.audio_tar("s-00000") == f"{tmp_path}/audio/s-00000.tar"
    assert layout.shard_plan("s-00000") == f"{tmp_path}/shard_plans/s-00000.parquet"
    assert layout.release_folder() == tmp_path / "release"
    assert layout.training_run_file("run1") == tmp_path / "training_runs" / "run1.json"
    assert layout.downstream_scores("run1", "asr") == tmp_path / "downstream_scores" / "run1" / "asr.json"
    assert layout.predictions("sys") == f"{tmp_path}/predictions/sys"
    assert layout.warehouse() == f"{tmp_path}/warehouse.duckdb"
    assert layout.is_local


def test_object_store_root_has_urls_but_no_local_folders():
    layout = DataLayout("s3://bucket/acav")
    assert not layout.is_local and is_remote("gs://b/x") and not is_remote("file:///tmp/x")
    assert layout.table("captions", "a") == "s3://bucket/acav/captions/a.parquet"
    assert layout.llm_cache == "s3://bucket/acav/llm_cache"
    with pytest.raises(ValueError, match="the release needs a local data root"):
        layout.release_folder()
    assert layout.warehouse() == str(Path("acav_warehouse.duckdb").resolve())
    assert local_path("file:///tmp/x") == "/tmp/x" and local_path("s3://b") is None


def test_local_roots_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert normalise_root("data") == str(tmp_path / "data")
    assert normalise_root("s3://b/data") == "s3://b/data"


@pytest.mark.parametrize("name", ["..", ".", "../../x-00000", "a/b", "a\\b", "", "x\n", "a b", "ａ", ".hidden",
                                  "x\u2215y", "a..b", "-rf", "x" * 201])
def test_names_cannot_leave_the_data_root(tmp_path, name):
    layout = DataLayout(str(tmp_path))
    for path_of in (lambda: layout.table("clips", name), lambda: layout.audio_tar(name),
                    lambda: layout.shard_plan(name), lambda: layout.predictions(name),
                    lambda: layout.training_run_file(name), lambda: layout.table(name)):
        with pytest.raises(ValueError, match="not a safe name|non-empty"):
            path_of()

