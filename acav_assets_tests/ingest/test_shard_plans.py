"""Shard plans: stored once, never silently replaced by another manifest's."""

import pytest

from acav_assets.contracts.layout import DataLayout
from acav_assets.ingest.manifests import ManifestError
from acav_assets.ingest.shard_plans import (
    load_shard_plan,
    plan_shards,
    store_shard_plans,
)


def test_two_manifests_with_one_file_name_do_not_overwrite_each_other(tmp_path, bad_corpus):
    root = str(tmp_path / "data")
    first, second = tmp_path / "a" / "corpus.csv", tmp_path / "b" / "corpus.csv"
    for manifest, name in ((first, "good.flac"), (second, "good.ogg")):
        manifest.parent.mkdir()
        manifest.write_text(f"audio\n{bad_corpus['folder'] / name}\n")
    assert store_shard_plans(plan_shards(str(first), 10.0, 1.0, 1000), root) == ["corpus-00000"]
    assert store_shard_plans(plan_shards(str(first), 10.0, 1.0, 1000), root) == []  # same manifest: idempotent
    with pytest.raises(ManifestError, match="already holds the plan of .*a/corpus.csv.*--prefix"):
        store_shard_plans(plan_shards(str(second), 10.0, 1.0, 1000), root)
    assert load_shard_plan(root, "corpus-00000")["source"].to_pylist() == [str(bad_corpus["folder"] / "good.flac")]
    assert store_shard_plans(plan_shards(str(second), 10.0, 1.0, 1000, prefix="corpus-b"), root) == ["corpus-b-00000"]
    assert DataLayout(root).shard_plan("corpus-b-00000").endswith("corpus-b-00000.parquet")
