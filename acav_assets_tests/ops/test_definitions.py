"""The Dagster shell: definitions load, the sensor registers shards once, assets and checks run."""

import json

import dagster as dg

from acav_assets.defs import experts, ingest
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.resources import AcavSettings
from acav_assets.defs.sensors import manifest_sensor
from acav_assets.io import storage


def test_definitions_load():
    from acav_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == {
        "clips", "acoustics", "tags", "routing", "speech", "music", "sound_events", "metadata", "lalm_description",
        "evidence", "captions", "curated_captions", "caption_tokens", "corpus_duplicates", "release", "dataset_stats", "dataset_comparison",
        "caption_model", "caption_predictions", "downstream_scores", "downstream_table",
        "mecat_caption_scores", "caption_benchmark_table",
    }
    assert defs.resolve_job_def("ingest_shard") and defs.resolve_job_def("statistics")
    check_keys = {k.name for k in graph.asset_check_keys}
    assert check_keys == {
        "clips_quality", "acoustics_quality", "dataset_stats_consistent", "tags_quality", "routing_quality",
        "speech_quality", "music_quality", "sound_events_quality", "metadata_quality", "lalm_description_quality",
        "evidence_quality", "captions_quality", "curation_accounts_for_every_clip", "release_round_trip",
        "mecat_scores_cover_the_references", "caption_model_loss_falls", "predictions_cover_every_clip",
    }
    # Data checks block downstream assets; the training curve and benchmark coverage checks only warn.
    assert {k.name for k in graph.asset_check_keys if not graph.get_check_spec(k).blocking} == {
        "mecat_scores_cover_the_references", "caption_model_loss_falls"}


def write_manifest(folder, name: str, files: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("audio\n" + "".join(f"{f}\n" for f in files))


def test_sensor_registers_new_manifests_once(tmp_path, bad_corpus):
    settings = AcavSettings(data_root=str(tmp_path / "data"), shard_size=2)
    manifests = tmp_path / "data" / "manifests"
    good = [str(bad_corpus["folder"] / n) for n in ("good.flac", "good.ogg", "silence.wav")]
    write_manifest(manifests, "first.csv", good)
    (manifests / "broken.csv").write_text("audio,start\nx.wav,abc\n")
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"settings": settings})
        result = manifest_sensor(context)
        assert [r.partition_key for r in result.run_requests] == ["first-00000", "first-00001"]
        (request,) = result.dynamic_partitions_requests
        assert list(request.partition_keys) == ["first-00000", "first-00001"]
        assert storage.exists(settings.layout.table("shard_plans", "first-00001"))
        instance.add_dynamic_partitions(shard_partitions.name, list(request.partition_keys))

        # Same manifests again: nothing registered, nothing run.
        again = manifest_sensor(dg.build_sensor_context(instance=instance, cursor=result.cursor,
                                                        resources={"settings": settings}))
        assert not again.run_requests and not again.dynamic_partitions_requests

        # A new manifest: only its shards.
        write_manifest(manifests, "second.jsonl", [])
        (manifests / "second.jsonl").write_text(json.dumps({"audio": good[0], "end": 1.5}) + "\n")
        third = manifest_sensor(dg.build_sensor_context(instance=instance, cursor=result.cursor,
                                                        resources={"settings": settings}))
        assert [r.partition_key for r in third.run_requests] == ["second-00000"]


def test_bad_shard_materialises_with_reasons(tmp_path, bad_corpus, monkeypatch):
    """Through Dagster: the bad-input shard materialises, good clips have acoustics, the failed
    ones are reasoned; explained input defects never hold the good clips back, even with no
    error budget, while unexplained failures over the budget stop the shard, naming the clips."""
    from acav_assets.ingest import clip_decoding
    from acav_assets.ingest.shard_plans import plan_shards, store_shard_plans

    root = str(tmp_path / "data")
    shards = plan_shards(str(bad_corpus["manifest"]), 10.0, 1.0, 1000)
    store_shard_plans(shards, root)
    (shard,) = shards
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(shard_partitions.name, [shard])
        strict = AcavSettings(data_root=root, max_error_rate=0.0)
        result = dg.materialize(
            [ingest.clips, experts.asset_named("acoustics"), ingest.clips_quality, experts.check_named("acoustics_quality")],
            partition_key=shard, instance=instance, resources={"settings": strict},
        )
        assert result.success
        evaluations = result.get_asset_check_evaluations()
        assert all(e.passed for e in evaluations)
        clips = storage.read_table(strict.layout.table("clips", shard))
        acoustics = storage.read_table(strict.layout.table("acoustics", shard))
        ok = [r["key"] for r in clips.to_pylist() if r["status"] == "ok"]
        assert acoustics["key"].to_pylist() == ok and len(ok) == 188
        assert all(r["error"] for r in clips.to_pylist() if r["status"] != "ok")

        # A decoder that breaks on two files (an unexplained exception) is over a zero budget.
        real_decode = clip_decoding.decode_clip

        def broken(url, *args, **kwargs):
            if url.endswith(("good.flac", "good.ogg")):
                raise RuntimeError("decoder bug")
            return real_decode(url, *args, **kwargs)

        monkeypatch.setattr(clip_decoding, "decode_clip", broken)
        result = dg.materialize(
            [ingest.clips, experts.asset_named("acoustics"), ingest.clips_quality],
            partition_key=shard, instance=instance, resources={"settings": strict}, raise_on_error=False,
        )
        assert not result.success  # refused before promotion: acoustics never ran
        (failure,) = [e for e in result.all_events if e.is_step_failure]
        message = failure.step_failure_data.user_failure_data.description  # a dg.Failure: not retried
        assert message.startswith("PromotionRefused: clips of shard")
        assert "blocking checks failed" in message and "good" in message
        assert storage.read_table(strict.layout.table("clips", shard)).equals(clips)  # the good shard stays live
        assert not any(e.asset_key.to_user_string() == "acoustics" for e in result.get_asset_materialization_events())
