"""Shard plans: stored once, never silently replaced by another manifest's."""

import pytest

from acav_assets.contracts.layout import PLANS, DataLayout
from acav_assets.ingest.manifests import ManifestError
from acav_assets.ingest.shard_plans import (
    RETIRED,
    load_shard_plan,
    plan_shards,
    retire_orphaned_shards,
    store_shard_plans,
)
from acav_assets.io import storage


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


def test_a_shrunk_manifest_retires_the_shards_it_no_longer_produces(tmp_path, bad_corpus):
    root, layout = str(tmp_path / "data"), DataLayout(str(tmp_path / "data"))
    manifest, other = tmp_path / "corpus.csv", tmp_path / "other.csv"
    good = bad_corpus["folder"] / "good.flac"
    manifest.write_text(f"audio,start,end\n{good},0,1\n{good},1,2\n{good},2,3\n")
    other.write_text(f"audio,start,end\n{good},0,1\n{good},1,2\n")
    shards = plan_shards(str(manifest), 10.0, 1.0, shard_size=1)
    store_shard_plans(shards, root)
    store_shard_plans(plan_shards(str(other), 10.0, 1.0, shard_size=1), root)
    for shard in [*shards, "other-00001"]:
        for url in (layout.table("clips", shard), layout.table("tags", shard), layout.audio_tar(shard)):
            storage.write_text("x", url)
    assert retire_orphaned_shards(root, str(manifest), shards) == []  # nothing shrank

    manifest.write_text(f"audio,start,end\n{good},0,1\n")
    shrunk = plan_shards(str(manifest), 10.0, 1.0, shard_size=1)
    assert store_shard_plans(shrunk, root) == []
    assert retire_orphaned_shards(root, str(manifest), shrunk) == ["corpus-00001", "corpus-00002"]
    assert storage.list_partitions(root, PLANS) == ["corpus-00000", "other-00000", "other-00001"]
    for asset, ext in ((PLANS, "parquet"), ("clips", "parquet"), ("tags", "parquet"), ("audio", "tar")):
        if asset != PLANS:  # the other manifest's shard with the same number stays
            assert storage.list_partitions(root, asset, ext) == ["corpus-00000", "other-00001"]
        retired = sorted(p.name for p in (tmp_path / "data" / asset / RETIRED).iterdir())
        assert retired == [f"corpus-00001.{ext}", f"corpus-00002.{ext}"]
    assert retire_orphaned_shards(root, str(manifest), shrunk) == []  # retiring twice does nothing

    # It grows back: the plans return (their retired copies stay until retired again).
    manifest.write_text(f"audio,start,end\n{good},0,1\n{good},1,2\n{good},2,3\n")
    assert store_shard_plans(plan_shards(str(manifest), 10.0, 1.0, shard_size=1), root) == [
        "corpus-00001", "corpus-00002"]
