"""Operations at scale: 10,000 shard partitions on a SQLite instance (time to register them, to
load the definitions, to evaluate the manifest sensor and the nightly backfill schedule), and the
orchestration overhead per shard run of the demo (run wall time minus time in the steps' code).

    .venv/bin/python benchmarks/bench_operations.py [--shards 10000] [--demo-home acav_demo/dagster_home]

Without --demo-home the demo is run first into a temporary folder (about a minute).
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa


def timed(label: str, fn):
    started = time.perf_counter()
    value = fn()
    print(f"{label:<58} {time.perf_counter() - started:8.3f} s")
    return value


def scale(shards: int) -> None:
    import dagster as dg

    from acav_assets.contracts.layout import DataLayout
    from acav_assets.io import storage

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "data"
        home = Path(folder) / "home"
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        names = [f"bench-{i:05d}" for i in range(shards)]
        plan = pa.table({"key": ["x"]})
        for name in names:  # every shard planned; a tenth of them fully computed earlier
            storage.write_table(plan, DataLayout(str(root)).table("shard_plans", name))
        print(f"{shards} shards, SQLite instance, local data root")
        with dg.DagsterInstance.from_config(str(home)) as instance:
            timed(f"register {shards} shard partitions (one call)", lambda: instance.add_dynamic_partitions("shards", names))
            timed("read them back", lambda: instance.get_dynamic_partitions("shards"))
        load = subprocess.run(
            [sys.executable, "-c", "import time; t = time.perf_counter(); from acav_assets.definitions import defs; "
             "defs.get_repository_def(); [defs.resolve_job_def(j.name) for j in defs.jobs]; "
             "print(time.perf_counter() - t)"], capture_output=True, text=True, check=True)
        print(f"{'load the definitions (import, resolve graph and jobs; fresh process)':<58} {float(load.stdout.split()[-1]):8.3f} s")

        from acav_assets.definitions import defs
        from acav_assets.defs.resources import AcavSettings

        repository = defs.get_repository_def()
        settings = AcavSettings(data_root=str(root), max_shards_per_tick=200)
        from acav_assets.definitions import ASSETS
        from acav_assets.defs.schedules import per_shard_dependencies

        done = per_shard_dependencies(ASSETS)
        for name in names[: shards // 10]:
            for asset in done:
                storage.write_table(plan, DataLayout(str(root)).table(asset, name))
        with dg.DagsterInstance.from_config(str(home)) as instance:
            sensor = repository.get_sensor_def("manifest_sensor")
            timed("manifest sensor tick (no new manifest)", lambda: sensor(dg.build_sensor_context(
                instance=instance, repository_def=repository, resources={"settings": settings})))
            (root / "manifests").mkdir()
            (root / "manifests" / "new.csv").write_text("audio\n" + "".join(f"/nonexistent/{i}.wav\n" for i in range(50)))
            result = timed("manifest sensor tick (one new 50-clip manifest)", lambda: sensor(dg.build_sensor_context(
                instance=instance, repository_def=repository, resources={"settings": settings})))
            print(f"{'':<4}-> {len(result.run_requests)} run request(s), "
                  f"{sum(len(r.partition_keys) for r in result.dynamic_partitions_requests)} partition(s) to add")
            schedule = repository.get_schedule_def("nightly_backfill")
            tick = timed(f"nightly backfill schedule tick ({shards} shards, limit 200)", lambda: schedule.evaluate_tick(
                dg.build_schedule_context(instance=instance, repository_def=repository, resources={"settings": settings},
                                          scheduled_execution_time=datetime.datetime(2026, 11, 4, 2, tzinfo=datetime.UTC))))
            print(f"{'':<4}-> {len(tick.run_requests)} run requests")


def overhead(home: str) -> None:
    import dagster as dg

    print(f"\nOrchestration overhead per run ({home})")
    print(f"{'run':<40} {'wall s':>8} {'in steps s':>11} {'overhead s':>11} {'steps':>6}")
    with dg.DagsterInstance.from_config(home) as instance:
        for record in sorted(instance.get_run_records(), key=lambda r: r.start_time or 0):
            run = record.dagster_run
            starts, spent, steps = {}, 0.0, 0
            for event in instance.all_logs(run.run_id):
                kind = event.dagster_event.event_type_value if event.dagster_event else None
                if kind == "STEP_START":
                    starts[event.step_key] = event.timestamp
                elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in starts:
                    spent += event.timestamp - starts.pop(event.step_key)
                    steps += 1
            if record.start_time is None or record.end_time is None:
                continue
            wall = record.end_time - record.start_time
            label = (run.tags.get("dagster/partition") or "all shards") + f" ({len(run.asset_selection or [])} assets)"
            print(f"{label:<40} {wall:8.2f} {spent:11.2f} {wall - spent:11.2f} {steps:6d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=10_000)
    parser.add_argument("--demo-home", help="DAGSTER_HOME of a finished demo (default: run the demo now)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    scale(args.shards)
    if args.demo_home:
        overhead(args.demo_home)
        return
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, ACAV_DATA_ROOT=f"{folder}/data", DAGSTER_HOME=f"{folder}/dagster_home")
        started = time.perf_counter()
        demo = subprocess.run([sys.executable, "-m", "acav_assets.cli", "demo"], env=env, capture_output=True, text=True,
                              check=False)
        if demo.returncode != 0:
            sys.exit(demo.stdout[-3000:] + demo.stderr[-3000:])
        print(f"\ndemo: {time.perf_counter() - started:.1f} s end to end, three `dagster asset materialize` processes")
        for line in demo.stdout.splitlines():
            if line.startswith("materialised"):
                print("   ", line)
        overhead(env["DAGSTER_HOME"])


if __name__ == "__main__":
    main()
