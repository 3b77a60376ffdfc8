"""The manifest sensor: a manifest dropped into the manifests folder becomes shards and runs."""


import json

import dagster as dg
import fsspec

from acav_assets.contracts.layout import is_remote
from acav_assets.defs.jobs import ingest_job
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.resources import AcavSettings
from acav_assets.ingest.manifests import MANIFEST_EXTENSIONS, ManifestError
from acav_assets.ingest.shard_plans import (
    plan_shards,
    retire_orphaned_shards,
    store_shard_plans,
)


def manifest_signatures(folder: str) -> dict[str, str]:
    """Each manifest file in ``folder`` (a URL on an object store) with a signature that changes
    when the file does."""
    fs, path = fsspec.core.url_to_fs(folder)
    if not fs.exists(path):
        return {}
    url = fs.unstrip_protocol if is_remote(folder) else str
    signatures = {}
    for info in fs.ls(path, detail=True):
        name = url(info["name"])
        if info.get("type") == "file" and any(name.lower().endswith(e) for e in MANIFEST_EXTENSIONS):
            signatures[name] = f"{info.get('size')}:{info.get('mtime') or info.get('LastModified') or info.get('ETag')}"
    return signatures


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Registers the shards of new or changed manifests in the manifests folder "
    "(ACAV_MANIFESTS_DIR, default {data_root}/manifests) and requests their ingest runs.",
)
def manifest_sensor(context: dg.SensorEvaluationContext, settings: AcavSettings) -> dg.SensorResult:
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    current = manifest_signatures(settings.manifests)
    changed = {name: sig for name, sig in current.items() if seen.get(name) != sig}
    if not changed:
        return dg.SensorResult(skip_reason=f"no new or changed manifests in {settings.manifests}", cursor=context.cursor)
    existing = set(context.instance.get_dynamic_partitions(shard_partitions.name))
    new_partitions: list[str] = []
    retired: list[str] = []
    run_requests = []
    for name, signature in sorted(changed.items()):
        try:
            shards = plan_shards(name, settings.clip_seconds, settings.min_clip_seconds, settings.shard_size,
                                 max_clip_seconds=settings.max_clip_seconds)
            written = store_shard_plans(shards, settings.data_root, log=context.log)
            retired += retire_orphaned_shards(settings.data_root, name, shards, log=context.log)
        except ManifestError as error:
            context.log.error("manifest %s skipped until it changes: %s", name, error)
            continue
        new_partitions += [s for s in shards if s not in existing]
        run_requests += [
            dg.RunRequest(partition_key=shard, run_key=f"{shard}:{signature}") for shard in shards if shard in written
        ]
        context.log.info("manifest %s: %d shards, %d new or changed", name, len(shards), len(written))
    seen.update(changed)
    partition_requests = [shard_partitions.build_add_request(new_partitions)] if new_partitions else []
    if gone := [s for s in retired if s in existing]:
        partition_requests.append(shard_partitions.build_delete_request(gone))
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=partition_requests,
        cursor=json.dumps(seen, sort_keys=True),
    )


# The roll-ups' declarative automation (``policies.ROLL_UP``), evaluated by a sensor that runs as
# soon as the daemon does: Dagster's implicit default sensor is created stopped, so the roll-ups
# would never refresh on their own.
roll_up_automation_sensor = dg.AutomationConditionSensorDefinition(
    "roll_up_automation",
    target=dg.AssetSelection.groups("release", "statistics"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Refreshes the roll-ups (corpus_duplicates, release, dataset_stats, dataset_comparison) once a day "
    "after their shards updated.",
)
