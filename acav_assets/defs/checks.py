"""Blocking data-quality checks: great-expectations suites from the core, reported per partition."""


import dagster as dg

from acav_assets.quality import suites as quality_checks
from acav_assets.stats import sql_runner as sql_models
from acav_assets.io import storage
from acav_assets.ingest.clip_decoding import CLIPS_SCHEMA, MIN_DECODED_SECONDS, STATUS_OK
from acav_assets.defs.assets import ACOUSTICS_SCHEMA, acoustics_asset, clips, dataset_stats
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.resources import AcavSettings


def check_result(report: quality_checks.QualityReport) -> dg.AssetCheckResult:
    failed_keys = sorted({k for f in report.failures for k in f.offending_keys})
    return dg.AssetCheckResult(
        passed=report.success,
        description=report.describe(),
        metadata={
            "rows": report.rows,
            "error_rate": report.error_rate,
            "failed_expectations": len(report.failures),
            "offending_clips": ", ".join(failed_keys[:100]) or "none",
            "expectations": dg.MetadataValue.md(report.markdown()),
        },
    )


@dg.asset_check(asset=clips, blocking=True, partitions_def=shard_partitions)
def clips_quality(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """Schema, unique keys, 16 kHz, durations within limits, every failure explained, failure
    rate at most `max_error_rate`."""
    table = storage.read_table(settings.url("clips", context.partition_key))
    return check_result(
        quality_checks.check_clips(
            table, CLIPS_SCHEMA, MIN_DECODED_SECONDS, settings.max_clip_seconds, settings.max_error_rate
        )
    )


@dg.asset_check(asset=acoustics_asset, blocking=True, partitions_def=shard_partitions)
def acoustics_quality(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """Schema, value ranges in their units, one row per decoded clip, failure rate."""
    shard = context.partition_key
    table = storage.read_table(settings.url("acoustics", shard))
    clips_table = storage.read_table(settings.url("clips", shard), CLIPS_SCHEMA)
    decoded = [r["key"] for r in clips_table.select(["key", "status"]).to_pylist() if r["status"] == STATUS_OK]
    return check_result(
        quality_checks.check_acoustics(table, ACOUSTICS_SCHEMA, decoded, settings.max_error_rate)
    )


@dg.asset_check(asset=dataset_stats, blocking=True)
def dataset_stats_consistent(settings: AcavSettings) -> dg.AssetCheckResult:
    """The DuckDB statistics agree with a direct count over the Parquet files."""
    stats = sql_models.query(settings.database, "SELECT * FROM dataset_stats")
    statuses = storage.read_partitions(settings.data_root, "clips", ["status"])
    planned = 0 if statuses is None else statuses.num_rows
    ok = 0 if statuses is None else sum(s == STATUS_OK for s in statuses["status"].to_pylist())
    return check_result(quality_checks.check_dataset_stats(stats, ok, planned))
