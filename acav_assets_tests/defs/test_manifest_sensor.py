"""The manifest sensor: manifests on an object store, and a manifest that shrinks."""

import io
import os

import dagster as dg
import fsspec
import numpy as np
import pytest
import soundfile as sf

from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.resources import AcavSettings
from acav_assets.defs.sensors import manifest_sensor, manifest_signatures
from acav_assets.ingest.shard_plans import RETIRED, load_shard_plan, plan_shards
from acav_assets.io import storage


def tick(instance: dg.DagsterInstance, settings: AcavSettings, cursor: str | None = None) -> dg.SensorResult:
    """One evaluation, then what the daemon does with its partition requests."""
    result = manifest_sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources={"settings": settings}))
    for request in result.dynamic_partitions_requests:
        if isinstance(request, dg.DeleteDynamicPartitionsRequest):
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
        else:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


@pytest.fixture
def bucket():
    fs = fsspec.filesystem("memory")
    yield fs
    if fs.exists("/bucket"):
        fs.rm("/bucket", recursive=True)


def test_manifests_on_an_object_store_keep_their_protocol(bucket, tmp_path):
    wav = io.BytesIO()
    sf.write(wav, (0.1 * np.sin(np.arange(3 * 16000) * 0.2)).astype(np.float32), 16000, format="WAV")
    bucket.pipe("memory://bucket/manifests/a.wav", wav.getvalue())
    bucket.pipe("memory://bucket/manifests/batch.csv", b"audio\na.wav\n")
    (name,) = manifest_signatures("memory://bucket/manifests")
    assert name.startswith("memory://") and name.endswith("/bucket/manifests/batch.csv")
    (plan,) = plan_shards(name, 10.0, 1.0, 1000).values()
    assert plan["end_s"].to_pylist() == [3.0]  # the audio was found and probed through fsspec

    settings = AcavSettings(data_root=str(tmp_path / "data"), manifests_dir="memory://bucket/manifests")
    with dg.instance_for_test() as instance:
        result = tick(instance, settings)
        assert [r.partition_key for r in result.run_requests] == ["batch-00000"]
        assert load_shard_plan(settings.data_root, "batch-00000")["source"].to_pylist() == [
            name.rsplit("/", 1)[0] + "/a.wav"]


def test_a_shrunk_manifest_retires_its_orphaned_shards(tmp_path, bad_corpus):
    settings = AcavSettings(data_root=str(tmp_path / "data"), shard_size=1)
    layout, good = settings.layout, bad_corpus["folder"] / "good.flac"
    manifest = tmp_path / "data" / "manifests" / "batch.csv"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(f"audio,start,end\n{good},0,1\n{good},1,2\n{good},2,3\n")
    with dg.instance_for_test() as instance:
        first = tick(instance, settings)
        shards = ["batch-00000", "batch-00001", "batch-00002"]
        assert instance.get_dynamic_partitions(shard_partitions.name) == shards
        for shard in shards:
            storage.write_text("x", layout.table("clips", shard))
            storage.write_text("x", layout.audio_tar(shard))

        manifest.write_text(f"audio,start,end\n{good},0,1\n")
        os.utime(manifest, (2_000_000_000, 2_000_000_000))
        second = tick(instance, settings, first.cursor)
        (delete,) = [r for r in second.dynamic_partitions_requests if isinstance(r, dg.DeleteDynamicPartitionsRequest)]
        assert list(delete.partition_keys) == shards[1:]
        assert instance.get_dynamic_partitions(shard_partitions.name) == shards[:1]
        assert storage.list_partitions(settings.data_root, "clips") == shards[:1]
        assert storage.list_partitions(settings.data_root, "shard_plans") == shards[:1]
        assert sorted(p.name for p in (tmp_path / "data" / "audio" / RETIRED).iterdir()) == [
            "batch-00001.tar", "batch-00002.tar"]


def test_roll_up_automation_runs_by_default():
    import dagster as dg

    from acav_assets.definitions import defs

    sensor = defs.get_sensor_def("roll_up_automation")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    targeted = sensor.asset_selection.resolve(defs.resolve_asset_graph())
    assert {key.to_user_string() for key in targeted} == {"corpus_duplicates", "release", "dataset_stats",
                                                           "dataset_comparison"}
