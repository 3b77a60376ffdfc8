"""Stage 2, the experts: one asset and one blocking check per spec in ``experts/registry.py``,
and the evidence table that joins them. Nothing here analyses a clip; it only wires."""

import dagster as dg

from acav_assets.contracts.domains import DOMAINS
from acav_assets.defs.ingest import clips
from acav_assets.defs.metadata import check_result, metadata, promote, table_metadata
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.policies import PER_SHARD, POOL_STEP
from acav_assets.defs.resources import AcavSettings
from acav_assets.experts.checks import check_expert_table
from acav_assets.experts.evidence import evidence_of_shard
from acav_assets.experts.registry import EVIDENCE_EXPERTS, EXPERTS
from acav_assets.experts.spec import ExpertSpec
from acav_assets.ingest.clip_decoding import CLIPS_SCHEMA
from acav_assets.io import storage
from acav_assets.quality.suites import QualityReport, check_evidence


def expert_asset(spec: ExpertSpec) -> dg.AssetsDefinition:
    """The asset of one expert: load its model (if any), analyse the shard, write the table."""
    resources = {"settings"} | ({spec.model} if spec.model else set())
    capacity = POOL_STEP[spec.pool] if spec.pool else {}  # pool, retries, k8s placement

    @dg.asset(name=spec.name, partitions_def=shard_partitions, group_name="experts", kinds=set(spec.kinds),
              deps=list(spec.reads), description=spec.description, required_resource_keys=resources,
              **PER_SHARD, **capacity)
    def _expert(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        settings: AcavSettings = context.resources.settings
        model = getattr(context.resources, spec.model).load() if spec.model else None
        inputs = settings.shard_inputs(context.partition_key, context.log, model)
        output = spec.analyse(inputs)
        url = settings.layout.table(spec.name, context.partition_key)
        promote(output.table, url, check_expert_table(spec, inputs, settings.max_error_rate, output.table),
                what=f"{spec.name} of shard {context.partition_key}", log=context.log)
        return dg.MaterializeResult(metadata={
            **table_metadata(output.table, url), "clips_failed": output.failed, **metadata(output.summary)})

    return _expert


def expert_check(spec: ExpertSpec, asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    """The blocking check of one expert, from the ranges and coverage its spec declares."""

    @dg.asset_check(asset=asset, name=f"{spec.name}_quality", blocking=True, partitions_def=shard_partitions,
                    description=spec.check, required_resource_keys={"settings"})
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        settings: AcavSettings = context.resources.settings
        inputs = settings.shard_inputs(context.partition_key, context.log)
        return check_result(check_expert_table(spec, inputs, settings.max_error_rate))

    return _check


# Lists at module level, so that load_assets_from_modules / load_asset_checks_from_modules find them.
EXPERT_ASSETS = [expert_asset(spec) for spec in EXPERTS]
EXPERT_CHECKS = [expert_check(spec, asset) for spec, asset in zip(EXPERTS, EXPERT_ASSETS)]


def asset_named(name: str) -> dg.AssetsDefinition:
    return next(asset for asset in EXPERT_ASSETS if asset.key.to_user_string() == name)


def check_named(name: str) -> dg.AssetChecksDefinition:
    return next(check for check in EXPERT_CHECKS if next(iter(check.check_keys)).name == name)


@dg.asset(
    name="evidence", partitions_def=shard_partitions, group_name="experts", kinds={"parquet"}, **PER_SHARD,
    deps=[clips, "tags", *EVIDENCE_EXPERTS],
    description="One row per clip joining every expert's output (each a struct with its own status) with the "
    "clip's provenance: what caption synthesis reads.",
)
def evidence(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    output = evidence_of_shard(settings.shard_inputs(context.partition_key, context.log))
    url = settings.layout.table("evidence", context.partition_key)
    promote(output.table, url, evidence_report(output.table, settings, context.partition_key),
            what=f"evidence of shard {context.partition_key}", log=context.log)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": output.table.num_rows, **metadata(output.summary), "parquet": dg.MetadataValue.path(url)})


@dg.asset_check(asset=evidence, blocking=True, partitions_def=shard_partitions)
def evidence_quality(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """One row per planned clip, unique keys, a routed domain for every decoded clip."""
    shard = context.partition_key
    return check_result(evidence_report(storage.read_table(settings.layout.table("evidence", shard)), settings, shard))


def evidence_report(table, settings: AcavSettings, shard: str) -> QualityReport:
    """The evidence suite against the shard's planned clips: run before promotion and by the check."""
    planned = storage.read_table(settings.layout.table("clips", shard), CLIPS_SCHEMA).num_rows
    return check_evidence(table, planned, list(DOMAINS))
