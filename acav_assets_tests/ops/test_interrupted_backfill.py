"""A backfill of three shards killed (SIGKILL) while the second shard's captions wait on the LLM,
then re-launched: finished work is reused, no LLM request is repeated, the interrupted shard
completes and no partial file is left. The nightly schedule sees the same due work."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from acav_assets.captions.reply_cache import count_replies
from acav_assets_tests.openai_stub import OpenAIStub

SHARDS = ["ops-00000", "ops-00001", "ops-00002"]
FILES = ("good.flac", "good.ogg", "silence.wav", "good.mp3", "café ü.wav", "video.mp4")


def cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "acav_assets.cli", *args], env=env, capture_output=True, text=True,
                          timeout=900, check=False)


def outputs(data: Path) -> dict[str, float]:
    return {str(p.relative_to(data)): p.stat().st_mtime_ns for p in data.rglob("*.parquet")
            if p.parent.name not in ("shard_plans",) and "llm_cache" not in p.parts}


def cached_replies(data: Path) -> int:
    return count_replies(str(data / "llm_cache"))


def test_killed_backfill_resumes_without_recomputing(tmp_path, bad_corpus):
    data = tmp_path / "data"
    manifest = tmp_path / "ops.csv"
    manifest.write_text("audio\n" + "".join(f'"{bad_corpus["folder"] / n}"\n' for n in FILES))
    env = dict(os.environ, ACAV_DATA_ROOT=str(data), DAGSTER_HOME=str(tmp_path / "dagster_home"), ACAV_SHARD_SIZE="2",
               HF_HUB_OFFLINE="1", ACAV_LLM_MODEL="stub-r1", ACAV_LLM_CONCURRENCY="1")
    registered = cli("register", str(manifest), "--prefix", "ops", env=env)
    assert registered.returncode == 0, registered.stderr
    assert "6 clips in 3 shards" in registered.stdout

    # Every reply takes 2 s; the run is killed as soon as the first clip of the second shard is
    # answered and cached (the server's count runs ahead of the client's cache), while its second
    # clip is waiting.
    with OpenAIStub(latency_s=2.0) as first_endpoint:
        backfill = subprocess.Popen([sys.executable, "-m", "acav_assets.cli", "materialize"],
                                    env=dict(env, OPENAI_BASE_URL=first_endpoint.base_url), stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            while cached_replies(data) < 3 and backfill.poll() is None:
                time.sleep(0.05)
        finally:
            os.killpg(backfill.pid, signal.SIGKILL)
            log = backfill.communicate()[0]
    assert "materialised shard ops-00000" in log and "materialised shard ops-00001" not in log, log[-3000:]
    assert not (data / "captions" / "ops-00001.parquet").exists()  # interrupted inside its captions
    assert (data / "evidence" / "ops-00001.parquet").exists()
    assert not (data / "clips" / "ops-00002.parquet").exists()
    answered = cached_replies(data)  # replies received before the kill (2 of shard 0, 1 of shard 1)
    assert answered >= 3
    before = outputs(data)

    # What the nightly schedule would request now (the killed run marked failed, as run
    # monitoring does): the rest of shard 1 and all of shard 2.
    os.environ["DAGSTER_HOME"], previous = env["DAGSTER_HOME"], os.environ.get("DAGSTER_HOME")
    try:
        from acav_assets.definitions import defs
        from acav_assets.defs.resources import AcavSettings

        with dg.DagsterInstance.get() as instance:
            for run in instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
                instance.report_run_failed(run)
            repository = defs.get_repository_def()
            schedule = repository.get_schedule_def("nightly_backfill")
            tick = schedule.evaluate_tick(dg.build_schedule_context(
                instance=instance, repository_def=repository, resources={"settings": AcavSettings(data_root=str(data))},
                scheduled_execution_time=datetime.datetime(2026, 11, 4, 2, tzinfo=datetime.UTC)))
            requests = {r.partition_key: [k.to_user_string() for k in r.asset_selection] for r in tick.run_requests}
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = previous
    assert sorted(requests) == ["ops-00001", "ops-00002"]
    assert requests["ops-00001"] == ["captions", "curated_captions", "caption_tokens"]
    assert requests["ops-00002"][0] == "clips" and len(requests["ops-00002"]) == 13

    # Re-launch against a fresh endpoint: only what is missing runs.
    with OpenAIStub(latency_s=0.0) as second_endpoint:
        resumed = cli("materialize", "--resume", env=dict(env, OPENAI_BASE_URL=second_endpoint.base_url))
        repeated_or_new = second_endpoint.answered
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "shard ops-00000 is up to date" in resumed.stdout
    assert "materialised shard ops-00001 (captions, curated_captions, caption_tokens)" in resumed.stdout

    after = outputs(data)
    reused = {path: mtime for path, mtime in before.items() if "ops-00000" in path or (
        "ops-00001" in path and path.split("/")[0] not in ("captions", "curated_captions", "caption_tokens", "curation_drops"))}
    assert reused and all(after[path] == mtime for path, mtime in reused.items())
    captions = [row for shard in SHARDS for row in pq.read_table(data / "captions" / f"{shard}.parquet").to_pylist()]
    assert len(captions) == 6 and all(r["status"] == "ok" and r["model"] == "stub-r1" for r in captions)
    # Every clip was asked exactly once across both runs: the resumed run asked only for the
    # clips whose replies had not arrived before the kill.
    assert repeated_or_new == len(captions) - answered
    for shard in SHARDS:
        assert (data / "curated_captions" / f"{shard}.parquet").exists()
    assert not [p for p in data.rglob("*") if ".tmp-" in p.name]

    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        records = instance.fetch_materializations(dg.AssetRecordsFilter(
            asset_key=dg.AssetKey("captions"), asset_partitions=["ops-00000"]), limit=10).records
        assert len(records) == 1  # shard 0's captions materialised once, by the killed backfill
