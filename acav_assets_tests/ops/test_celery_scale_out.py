"""Scale-out: the same definitions with their steps on Dagster's Celery executor, a local Redis
broker and two worker processes, write the same tables as the in-process run."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from acav_assets.ingest.shard_plans import plan_shards, store_shard_plans

REDIS = shutil.which("redis-server")
SELECTION = ["clips", "acoustics", "tags", "routing", "metadata"]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(REDIS is None and not os.environ.get("CI"),
                                reason="needs redis-server (Debian package redis-server; CI installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what: str, limit_s: float = 120.0) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def materialize(module: str, shard: str, env: dict, config: dict) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "dagster", "asset", "materialize", "-m", module, "--select", ",".join(SELECTION),
               "--partition", shard, "--config-json", json.dumps(config)]
    return subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=600)


def test_celery_workers_write_what_the_in_process_run_writes(tmp_path, bad_corpus):
    import redis

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    manifest = tmp_path / "scale.csv"
    manifest.write_text("audio\n" + "".join(f"{bad_corpus['folder'] / n}\n" for n in ("good.flac", "good.ogg", "video.mp4")))
    (shard,) = plan_shards(str(manifest), 10.0, 1.0, 1000).keys()
    roots = {"in_process": tmp_path / "in_process", "celery": tmp_path / "celery"}
    for root in roots.values():
        store_shard_plans(plan_shards(str(manifest), 10.0, 1.0, 1000), str(root))
    base = dict(os.environ, DAGSTER_HOME=str(home), HF_HUB_OFFLINE="1", PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
                NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("shards", [shard])

    port = free_port()
    broker, backend = f"redis://127.0.0.1:{port}/0", f"redis://127.0.0.1:{port}/1"
    server = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, start_new_session=True)
    workers: list[subprocess.Popen] = []
    logs = [tmp_path / f"worker{i}.log" for i in (1, 2)]
    try:
        wait_for(lambda: _pings(redis, port), "redis-server")
        config_yaml = tmp_path / "celery.yaml"
        config_yaml.write_text(f"execution:\n  config:\n    broker: '{broker}'\n    backend: '{backend}'\n")
        celery_env = dict(base, ACAV_DATA_ROOT=str(roots["celery"]))
        for i, log in enumerate(logs, start=1):
            workers.append(subprocess.Popen(
                [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(config_yaml),
                 "-n", f"acav{i}", "--", "--pool", "solo", "--concurrency", "1"],
                env=celery_env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True))
        wait_for(lambda: all("ready." in log.read_text() for log in logs), "two celery workers")

        celery_run = materialize("acav_assets.defs.celery_location", shard, celery_env,
                                 {"execution": {"config": {"broker": broker, "backend": backend}}})
        assert celery_run.returncode == 0, celery_run.stdout[-3000:] + celery_run.stderr[-3000:]
    finally:
        for worker in workers:
            stop(worker)
        stop(server)
    worker_logs = [log.read_text() for log in logs]
    succeeded = [len(re.findall(r"Task execute_plan\[[^\]]+\] succeeded", text)) for text in worker_logs]
    assert sum(succeeded) >= len(SELECTION) and all(n > 0 for n in succeeded), (succeeded, worker_logs[0][-2000:])
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert run.is_success
        steps = {e.dagster_event.step_key for e in instance.all_logs(run.run_id)
                 if e.dagster_event and e.dagster_event.event_type_value == "STEP_SUCCESS"}
        assert set(SELECTION) <= steps

    in_process = materialize("acav_assets.definitions", shard, dict(base, ACAV_DATA_ROOT=str(roots["in_process"])),
                             {"execution": {"config": {"in_process": {}}}})
    assert in_process.returncode == 0, in_process.stderr[-3000:]
    for asset in SELECTION:
        a = pq.read_table(roots["in_process"] / asset / f"{shard}.parquet")
        b = pq.read_table(roots["celery"] / asset / f"{shard}.parquet")
        assert a.num_rows == 3 and a.equals(b), asset
    tar = f"audio/{shard}.tar"
    assert (roots["in_process"] / tar).read_bytes() == (roots["celery"] / tar).read_bytes()


def _pings(redis, port: int) -> bool:
    try:
        return redis.Redis(port=port, socket_connect_timeout=0.5).ping()
    except redis.exceptions.ConnectionError:
        return False
