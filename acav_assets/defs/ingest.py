"""Stage 1, ingest: each planned clip of a shard decoded once into the shard's audio tar and the
``clips`` table, with its blocking check."""

import dagster as dg

from acav_assets.defs.metadata import check_result, metadata, promote, table_metadata
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.policies import PER_SHARD
from acav_assets.defs.resources import AcavSettings
from acav_assets.ingest.clip_decoding import (
    CLIPS_SCHEMA,
    INPUT_DEFECTS,
    MIN_DECODED_SECONDS,
    decode_shard,
    decode_summary,
)
from acav_assets.ingest.shard_plans import load_shard_plan
from acav_assets.io import storage
from acav_assets.ops.promotion import staged
from acav_assets.quality.suites import QualityReport, check_clips


def clips_report(table, settings: AcavSettings) -> QualityReport:
    """The clips suite with this deployment's limits: run before promotion and by the check."""
    return check_clips(table, CLIPS_SCHEMA, MIN_DECODED_SECONDS, settings.max_clip_seconds, settings.max_error_rate,
                       explained_kinds=INPUT_DEFECTS)


@dg.asset(
    partitions_def=shard_partitions,
    group_name="ingest",
    **PER_SHARD,
    kinds={"parquet", "webdataset"},
    description="Each planned clip decoded once to 16 kHz mono FLAC in a WebDataset tar, with its "
    "provenance, checksum and decode status in Parquet. Staged and promoted only when its checks "
    "pass and no clip decoded before is lost; an unreachable source fails the step.",
)
def clips(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    shard, layout = context.partition_key, settings.layout
    plan = load_shard_plan(settings.data_root, shard)
    context.log.info("decoding %d clips of shard %s", plan.num_rows, shard)
    table = decode_shard(plan, staged(layout.audio_tar(shard)), workers=settings.workers, log=context.log,
                         max_clip_seconds=settings.max_clip_seconds)
    promote(table, layout.table("clips", shard), clips_report(table, settings), companions=[layout.audio_tar(shard)],
            what=f"clips of shard {shard}", log=context.log)
    return dg.MaterializeResult(metadata={
        **table_metadata(table, layout.table("clips", shard), CLIPS_SCHEMA),
        **metadata(decode_summary(table)),
        "audio_tar": dg.MetadataValue.path(layout.audio_tar(shard)),
    })


@dg.asset_check(asset=clips, blocking=True, partitions_def=shard_partitions)
def clips_quality(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """Schema, unique keys, 16 kHz, durations within limits, every failure explained, and at most
    `max_error_rate` of the clips failed without an explained input defect."""
    return check_result(clips_report(storage.read_table(settings.layout.table("clips", context.partition_key)), settings))
