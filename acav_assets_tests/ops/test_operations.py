"""Operations: stage jobs, the nightly backfill schedule and the manifest sensor on a real
instance, backfill policies, pools and retries, and the production instance configuration."""

import datetime
import json
import os
import shutil
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from acav_assets.contracts.layout import DataLayout
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.resources import AcavSettings
from acav_assets.defs.schedules import per_shard_dependencies
from acav_assets.io import storage
from acav_assets_tests.reference_data import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy" / "dagster.yaml"
PER_SHARD_CHAIN = ["clips", "acoustics", "tags", "routing", "speech", "music", "sound_events", "metadata",
                   "lalm_description", "evidence", "captions", "curated_captions", "caption_tokens"]


@pytest.fixture(scope="module")
def defs():
    from acav_assets.definitions import defs

    return defs


def job_keys(defs, name: str) -> set[str]:
    return {k.to_user_string() for k in defs.resolve_job_def(name).asset_layer.executable_asset_keys}


def group_keys(defs, *groups: str) -> set[str]:
    graph = defs.resolve_asset_graph()
    return {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).group_name in groups}


def test_stage_jobs_cover_their_groups(defs):
    assert job_keys(defs, "ingest") == {"clips"}
    assert job_keys(defs, "annotate") == group_keys(defs, "experts") >= {"tags", "routing", "speech", "evidence"}
    assert job_keys(defs, "synthesise") == {"captions"}
    assert job_keys(defs, "curate_release") == group_keys(defs, "curation", "release", "statistics")
    assert {"curated_captions", "release", "dataset_stats"} <= job_keys(defs, "curate_release")
    # The CLI's jobs keep working.
    assert job_keys(defs, "ingest_shard") == set(PER_SHARD_CHAIN)
    assert job_keys(defs, "statistics") == group_keys(defs, "release", "statistics")


def test_stage_5_jobs_cover_training_and_evaluation_one_partitioning_each(defs):
    names = ("train", "evaluate_captions", "probe_downstream", "benchmark_tables")
    assert set().union(*(job_keys(defs, n) for n in names)) == group_keys(defs, "training", "evaluation")
    graph = defs.resolve_asset_graph()
    partitioning = {}
    for name in names:  # each resolves, so each can be launched and backfilled from the UI
        partitioning[name] = {graph.get(dg.AssetKey.from_user_string(k)).partitions_def for k in job_keys(defs, name)}
    assert [len(p) for p in partitioning.values()] == [1, 1, 1, 1]
    assert partitioning["benchmark_tables"] == {None}
    assert next(iter(partitioning["probe_downstream"])).partitions_defs[0].name == "run"


def test_pools_backfill_policies_and_retries(defs):
    graph = defs.resolve_asset_graph()
    node = {k.to_user_string(): graph.get(k) for k in graph.get_all_asset_keys()}
    gpu = {name for name, n in node.items() if "gpu" in (n.pools or ())}
    llm = {name for name, n in node.items() if "llm_api" in (n.pools or ())}
    assert {"tags", "speech", "music"} <= gpu and {"captions", "lalm_description"} <= llm
    assert not (gpu | llm) & {"clips", "acoustics", "routing", "evidence", "curated_captions", "release"}
    for name in ("tags", "speech", "music", "captions", "lalm_description"):
        policy = node[name].backfill_policy
        assert policy == dg.BackfillPolicy.multi_run(max_partitions_per_run=1)
        retry = defs.get_assets_def(name).op.retry_policy
        assert retry.max_retries >= 2 and retry.backoff == dg.Backoff.EXPONENTIAL and retry.jitter is not None
    for name in PER_SHARD_CHAIN:
        assert node[name].backfill_policy.max_partitions_per_run == 1
    for name in ("release", "dataset_stats", "dataset_comparison"):
        assert node[name].backfill_policy == dg.BackfillPolicy.single_run()
        assert node[name].automation_condition is not None


def test_per_shard_dependencies_follow_the_graph(defs):
    from acav_assets.definitions import ASSETS

    dependencies = per_shard_dependencies(ASSETS)
    assert set(dependencies) == set(PER_SHARD_CHAIN)
    assert dependencies["clips"] == [] and dependencies["captions"] == ["evidence"]
    assert set(dependencies["evidence"]) >= {"clips", "acoustics", "tags", "routing", "speech", "music"}


def write_outputs(root: Path, shard: str, assets: list[str], mtime: float) -> None:
    for asset in assets:
        url = DataLayout(str(root)).table(asset, shard)
        storage.write_table(pa.table({"key": [shard]}), url)
        os.utime(url, (mtime, mtime))


def evaluate_schedule(defs, instance, settings, when: datetime.datetime):
    repository = defs.get_repository_def()
    schedule = repository.get_schedule_def("nightly_backfill")
    context = dg.build_schedule_context(instance=instance, resources={"settings": settings},
                                        scheduled_execution_time=when, repository_def=repository)
    return schedule.evaluate_tick(context)


def test_nightly_backfill_requests_due_shards_only(defs, tmp_path):
    root = tmp_path / "data"
    settings = AcavSettings(data_root=str(root), max_shards_per_tick=10)
    write_outputs(root, "complete", ["shard_plans"], 1_000)
    write_outputs(root, "complete", PER_SHARD_CHAIN, 2_000)
    write_outputs(root, "killed", ["shard_plans"], 1_000)
    write_outputs(root, "killed", PER_SHARD_CHAIN[: PER_SHARD_CHAIN.index("captions")], 2_000)
    write_outputs(root, "replanned", PER_SHARD_CHAIN, 2_000)
    write_outputs(root, "replanned", ["shard_plans"], 3_000)  # its manifest changed after the run
    write_outputs(root, "new", ["shard_plans"], 1_000)
    night = datetime.datetime(2026, 11, 3, 2, 0, tzinfo=datetime.UTC)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(shard_partitions.name, ["complete", "killed", "new", "replanned", "unplanned"])
        result = evaluate_schedule(defs, instance, settings, night)
        requests = {r.partition_key: r for r in result.run_requests}
        assert sorted(requests) == ["killed", "new", "replanned"]
        assert [k.to_user_string() for k in requests["killed"].asset_selection] == ["captions", "curated_captions", "caption_tokens"]
        assert requests["killed"].tags["acav/due"] == "captions: missing"
        assert {k.to_user_string() for k in requests["new"].asset_selection} == set(PER_SHARD_CHAIN)
        assert requests["replanned"].tags["acav/due"] == "clips: older than shard_plans"
        ingest = {k.to_user_string() for k in defs.resolve_job_def("ingest_shard").asset_layer.executable_asset_keys}
        assert all({k.to_user_string() for k in r.asset_selection} <= ingest for r in result.run_requests)

        # The same tick evaluated again asks for the same runs (deduplicated by run key); the next
        # night gets new keys for shards still due.
        again = evaluate_schedule(defs, instance, settings, night)
        assert [r.run_key for r in again.run_requests] == [r.run_key for r in result.run_requests]
        tomorrow = evaluate_schedule(defs, instance, settings, night + datetime.timedelta(days=1))
        assert not {r.run_key for r in tomorrow.run_requests} & {r.run_key for r in result.run_requests}

        # Bounded per tick, and shards with a run in flight are left for the next tick.
        bounded = evaluate_schedule(defs, instance, AcavSettings(data_root=str(root), max_shards_per_tick=1), night)
        assert [r.partition_key for r in bounded.run_requests] == ["killed"]
        instance.add_run(dg.DagsterRun(job_name="ingest_shard", run_id="0" * 36, status=dg.DagsterRunStatus.STARTED,
                                       tags={"dagster/partition": "killed"}))
        busy = evaluate_schedule(defs, instance, settings, night)
        assert sorted(r.partition_key for r in busy.run_requests) == ["new", "replanned"]

        write_outputs(root, "killed", PER_SHARD_CHAIN[PER_SHARD_CHAIN.index("captions"):], 4_000)
        write_outputs(root, "new", PER_SHARD_CHAIN, 4_000)
        write_outputs(root, "replanned", PER_SHARD_CHAIN, 4_000)
        done = evaluate_schedule(defs, instance, settings, night)
        assert not done.run_requests and "0 of 5 shards due" in done.skip_message


def write_manifest(folder: Path, name: str, files: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("audio\n" + "".join(f"{f}\n" for f in files))


def test_manifest_sensor_registers_and_requests_in_one_result_never_twice(defs, tmp_path, bad_corpus):
    settings = AcavSettings(data_root=str(tmp_path / "data"), shard_size=2)
    manifests = tmp_path / "data" / "manifests"
    files = [str(bad_corpus["folder"] / n) for n in ("good.flac", "good.ogg", "silence.wav")]
    write_manifest(manifests, "batch.csv", files)
    repository = defs.get_repository_def()
    sensor = repository.get_sensor_def("manifest_sensor")

    def tick(instance, cursor=None) -> dg.SensorResult:
        """One evaluation, then what the daemon does with it: add the partitions, check the requests."""
        result = sensor(dg.build_sensor_context(instance=instance, cursor=cursor, repository_def=repository,
                                                resources={"settings": settings}))
        for request in result.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        registered = instance.get_dynamic_partitions(shard_partitions.name)
        assert len(registered) == len(set(registered))
        assert all(r.partition_key in registered for r in result.run_requests)
        return result
    with dg.instance_for_test() as instance:
        first = tick(instance)
        (added,) = first.dynamic_partitions_requests
        assert list(added.partition_keys) == ["batch-00000", "batch-00001"]
        assert [(r.partition_key, r.job_name or sensor.job_name) for r in first.run_requests] == [
            ("batch-00000", "ingest_shard"), ("batch-00001", "ingest_shard")]
        assert json.loads(first.cursor)  # every manifest seen, with its signature

        # Nothing new: nothing registered or run, the cursor unchanged.
        second = tick(instance, first.cursor)
        assert not second.run_requests and not second.dynamic_partitions_requests
        assert second.cursor == first.cursor

        # The manifest grows by one clip: only the changed shard runs again, no partition is
        # added twice, and its run key differs from the first run's.
        write_manifest(manifests, "batch.csv", files + [str(bad_corpus["folder"] / "good.mp3")])
        os.utime(manifests / "batch.csv", (2_000_000_000, 2_000_000_000))
        third = tick(instance, first.cursor)
        assert [r.partition_key for r in third.run_requests] == ["batch-00001"]
        assert third.run_requests[0].run_key not in {r.run_key for r in first.run_requests}
        assert not third.dynamic_partitions_requests
        assert third.cursor != first.cursor

        # Lost cursor: partitions are not re-added, and the run keys repeat (Dagster skips them).
        fresh = tick(instance)
        assert not fresh.dynamic_partitions_requests
        assert {r.run_key for r in fresh.run_requests} <= {r.run_key for r in third.run_requests}


def test_production_instance_config_validates(tmp_path, monkeypatch):
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster_postgres import DagsterPostgresStorage
    from dagster_postgres.utils import pg_url_from_config

    shutil.copy(DEPLOY, tmp_path / "dagster.yaml")
    config, instance_class = dagster_instance_config(str(tmp_path))  # Dagster's own schema validation
    assert instance_class is None
    assert config["concurrency"]["pools"]["default_limit"] >= 1
    assert config["concurrency"]["runs"]["max_concurrent_runs"] > 0
    assert config["run_monitoring"]["enabled"]
    for name, value in {"HOST": "db.internal", "PORT": "5433", "DB": "dagster", "USER": "acav", "PASSWORD": "s"}.items():
        monkeypatch.setenv(f"DAGSTER_PG_{name}", value)
    storage_config = process_config(DagsterPostgresStorage.config_type(), config["storage"]["postgres"])
    assert storage_config.success, storage_config.errors
    assert pg_url_from_config(storage_config.value) == "postgresql://acav:s@db.internal:5433/dagster"
