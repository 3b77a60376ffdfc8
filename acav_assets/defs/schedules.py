"""The nightly backfill: runs for the shards whose per-shard outputs are missing or older than
their inputs, at most ``max_shards_per_tick`` of them, each run selecting only what is due."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Mapping, Sequence

import dagster as dg

from acav_assets.contracts.layout import PLANS
from acav_assets.defs.jobs import ingest_job
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.policies import NIGHTLY_BACKFILL_CRON
from acav_assets.defs.resources import AcavSettings
from acav_assets.ops.shard_freshness import due_shards, modification_times, refusal_times

PARTITION_TAG = "dagster/partition"  # the tag Dagster puts on a partitioned run
ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def per_shard_dependencies(assets_defs: Iterable) -> dict[str, list[str]]:
    """Each shard-partitioned asset and its shard-partitioned upstream assets (by name)."""
    specs = {}
    for assets_def in assets_defs:
        if isinstance(assets_def, dg.AssetsDefinition) and assets_def.partitions_def == shard_partitions:
            for spec in assets_def.specs:
                specs[spec.key] = spec
    return {
        key.to_user_string(): sorted(d.asset_key.to_user_string() for d in spec.deps if d.asset_key in specs)
        for key, spec in specs.items()
    }


def shards_with_active_runs(instance: dg.DagsterInstance) -> set[str]:
    """Shards that a queued or running run already covers."""
    records = instance.get_run_records(dg.RunsFilter(statuses=ACTIVE_STATUSES))
    return {r.dagster_run.tags[PARTITION_TAG] for r in records if PARTITION_TAG in r.dagster_run.tags}


def backfill_requests(
    instance: dg.DagsterInstance, settings: AcavSettings, dependencies: Mapping[str, Sequence[str]], tick: str,
) -> tuple[list[dg.RunRequest], str]:
    """One run request per due shard (registered, not already running), and a summary line."""
    shards = sorted(instance.get_dynamic_partitions(shard_partitions.name))
    times = modification_times(settings.data_root, [PLANS, *dependencies])
    busy = shards_with_active_runs(instance)
    due = due_shards(shards, dependencies, times, limit=settings.max_shards_per_tick, skip=busy,
                     refused=refusal_times(settings.data_root, dependencies))
    requests = []
    for item in due:
        # The key names the tick and what is due, so re-evaluating a tick never launches twice.
        state = hashlib.sha256(repr([(a, times.get(a, {}).get(item.shard)) for a in item.assets]).encode()).hexdigest()[:16]
        requests.append(dg.RunRequest(
            run_key=f"backfill:{tick}:{item.shard}:{state}",
            partition_key=item.shard,
            asset_selection=[dg.AssetKey(a) for a in item.assets],
            tags={"acav/due": item.reason[:200]},
        ))
    summary = f"{len(requests)} of {len(shards)} shards due (limit {settings.max_shards_per_tick}, {len(busy)} running)"
    return requests, summary


def build_backfill_schedule(assets_defs: Iterable) -> dg.ScheduleDefinition:
    """The nightly backfill schedule over the per-shard assets among ``assets_defs``."""
    dependencies = per_shard_dependencies(assets_defs)

    @dg.schedule(
        name="nightly_backfill",
        job=ingest_job,
        cron_schedule=NIGHTLY_BACKFILL_CRON,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Nightly: runs for registered shards whose per-shard outputs are missing or older than "
        "their inputs (only the due assets), at most max_shards_per_tick (ACAV_MAX_SHARDS_PER_TICK) per tick; "
        "shards with a queued or running run are left for the next tick.",
    )
    def nightly_backfill(context: dg.ScheduleEvaluationContext, settings: AcavSettings):
        when = context.scheduled_execution_time or datetime.datetime.now(datetime.UTC)
        requests, summary = backfill_requests(context.instance, settings, dependencies, when.strftime("%Y-%m-%dT%H:%M"))
        context.log.info(summary)
        return requests if requests else dg.SkipReason(summary)

    return nightly_backfill
