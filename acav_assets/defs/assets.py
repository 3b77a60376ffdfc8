"""Assets: each reads its inputs from the data root, calls the functional core, writes Parquet."""


import collections

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from acav_assets.experts import acoustics
from acav_assets.stats import plots
from acav_assets.stats import sql_runner as sql_models
from acav_assets.io import storage
from acav_assets.ingest.clip_decoding import CLIPS_SCHEMA, STATUS_OK, decode_shard
from acav_assets.experts.shard_runner import analyse_shard, expert_schema
from acav_assets.experts.routing import ROUTING_FIELDS
from acav_assets.ingest.shard_plans import load_shard_plan
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.policies import PER_SHARD, ROLL_UP
from acav_assets.defs.resources import SQL_MODELS_DIR, AcavSettings

ACOUSTICS_SCHEMA = expert_schema(acoustics.ACOUSTIC_FIELDS)
ROUTING_SCHEMA = expert_schema(ROUTING_FIELDS)
COMPARISON_SCHEMA = pa.schema([
    pa.field("dataset", pa.string()), pa.field("hours", pa.float64()), pa.field("samples", pa.int64()),
    pa.field("captions", pa.int64()), pa.field("unique_tokens", pa.int64()), pa.field("mean_words", pa.float64()),
])
# One row per (system, MECAT-Caption group); group "score" is the final caption score (×100).
MECAT_SCORES_SCHEMA = pa.schema([
    pa.field("system", pa.string(), nullable=False), pa.field("group", pa.string(), nullable=False),
    pa.field("facet", pa.string()), pa.field("n", pa.int64(), metadata={"unit": "clips"}),
    pa.field("missing_predictions", pa.int64(), metadata={"unit": "clips"}),
    pa.field("penalised", pa.int64(), metadata={"description": "predictions the fluency checker penalised"}),
    pa.field("similarity", pa.float64(), metadata={"unit": "×100"}),
    pa.field("discrimination", pa.float64(), metadata={"unit": "×100"}),
    pa.field("date", pa.float64(), metadata={"unit": "×100", "description": "DATE score of the group"}),
    pa.field("encoder", pa.string()), pa.field("fluency_checker", pa.string()), pa.field("references", pa.string()),
])
# Defined here (not in release_assets) so the statistics can read it without a circular import.
CAPTION_TOKENS_SCHEMA = pa.schema([
    pa.field("key", pa.string(), nullable=False), pa.field("shard", pa.string(), nullable=False),
    pa.field("domain", pa.string()), pa.field("facet", pa.string()), pa.field("variant", pa.int32()),
    pa.field("text", pa.string()), pa.field("absent", pa.bool_()),
    pa.field("words", pa.int32(), metadata={"unit": "words"}),
    pa.field("token_ids", pa.list_(pa.int32()), metadata={"description": "Qwen3 token ids, no special tokens"}),
])


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    """The Parquet schema, with units, as Dagster shows it on the asset page."""
    columns = []
    for f in schema:
        meta = {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
        text = " ".join(filter(None, [meta.get("description"), f"[{meta['unit']}]" if "unit" in meta else None]))
        columns.append(dg.TableColumn(f.name, str(f.type), description=text or None))
    return dg.TableSchema(columns=columns)


def failures_markdown(table: pa.Table, limit: int = 50) -> str:
    failed = [r for r in table.to_pylist() if r["status"] != STATUS_OK]
    if not failed:
        return "No failed clips."
    lines = ["| key | reason |", "|---|---|"]
    for row in failed[:limit]:
        reason = f"{row.get('error_kind') or ''} {row['error']}".strip().replace("|", "\\|")
        lines.append(f"| {row['key']} | {reason} |")
    if len(failed) > limit:
        lines.append(f"| … | {len(failed) - limit} more |")
    return "\n".join(lines)


@dg.asset(
    partitions_def=shard_partitions,
    group_name="ingest",
    **PER_SHARD,
    kinds={"parquet", "webdataset"},
    description="Each planned clip decoded once to 16 kHz mono FLAC in a WebDataset tar, with its "
    "provenance, checksum and decode status in Parquet.",
)
def clips(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    shard = context.partition_key
    plan = load_shard_plan(settings.data_root, shard)
    context.log.info("decoding %d clips of shard %s", plan.num_rows, shard)
    table = decode_shard(plan, settings.url("audio", shard, "tar"), workers=settings.workers, log=context.log)
    storage.write_table(table, settings.url("clips", shard))
    ok = [r for r in table.to_pylist() if r["status"] == STATUS_OK]
    kinds = collections.Counter(r["error_kind"] for r in table.to_pylist() if r["status"] != STATUS_OK)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": table.num_rows,
            "dagster/column_schema": column_schema(CLIPS_SCHEMA),
            "clips_ok": len(ok),
            "clips_failed": table.num_rows - len(ok),
            "failure_reasons": dict(kinds),
            "audio_hours": round(sum(r["duration_s"] for r in ok) / 3600, 4),
            "parquet": dg.MetadataValue.path(settings.url("clips", shard)),
            "audio_tar": dg.MetadataValue.path(settings.url("audio", shard, "tar")),
            "failed_clips": dg.MetadataValue.md(failures_markdown(table)),
        }
    )


@dg.asset(
    name="acoustics",
    partitions_def=shard_partitions, **PER_SHARD,
    group_name="experts",
    deps=[clips],
    kinds={"parquet", "numpy"},
    description="Content-unrelated acoustics of every decoded clip: level (dBFS), loudness (LUFS), "
    "clipping, silence, SNR, effective bandwidth and a blind RT60 estimate.",
)
def acoustics_asset(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    shard = context.partition_key
    table = analyse_shard(
        settings.url("audio", shard, "tar"), shard, acoustics.ACOUSTIC_FIELDS, acoustics.measure_acoustics,
        workers=settings.workers, name="acoustics", log=context.log,
    )
    storage.write_table(table, settings.url("acoustics", shard))
    ok = table.filter(pc.equal(table["status"], STATUS_OK))
    summary = {}
    for name in ("rms_dbfs", "loudness_lufs", "snr_db", "bandwidth_hz", "rt60_s"):
        values = [v for v in ok[name].to_pylist() if v is not None]
        if values:
            summary[f"median_{name}"] = float(sorted(values)[len(values) // 2])
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": table.num_rows,
            "dagster/column_schema": column_schema(ACOUSTICS_SCHEMA),
            "clips_failed": table.num_rows - ok.num_rows,
            "parquet": dg.MetadataValue.path(settings.url("acoustics", shard)),
            **summary,
        }
    )


def sql_sources(settings: AcavSettings) -> dict[str, sql_models.Source]:
    return {
        "clips": sql_models.Source(settings.glob("clips"), CLIPS_SCHEMA),
        "acoustics": sql_models.Source(settings.glob("acoustics"), ACOUSTICS_SCHEMA),
        "routing": sql_models.Source(settings.glob("routing"), ROUTING_SCHEMA),
        "caption_tokens": sql_models.Source(settings.glob("caption_tokens"), CAPTION_TOKENS_SCHEMA),
        "dataset_comparison": sql_models.Source(settings.glob("dataset_comparison"), COMPARISON_SCHEMA),
        "mecat_caption_scores": sql_models.Source(settings.glob("mecat_caption_scores"), MECAT_SCORES_SCHEMA),
    }


def markdown_table(table: pa.Table, digits: int = 4) -> str:
    def cell(value) -> str:
        return f"{value:.{digits}g}" if isinstance(value, float) else ("" if value is None else str(value))

    lines = ["| " + " | ".join(table.column_names) + " |", "|" + "---|" * table.num_columns]
    lines += ["| " + " | ".join(cell(v) for v in row.values()) + " |" for row in table.to_pylist()]
    return "\n".join(lines)


@dg.asset(
    group_name="statistics",
    deps=[clips, acoustics_asset, dg.AssetKey("routing"), dg.AssetKey("caption_tokens"),
          dg.AssetKey("dataset_comparison")],
    **ROLL_UP,
    kinds={"duckdb", "sql"},
    description="dbt_like_sql/ models built in DuckDB over all shards' Parquet: dataset_stats "
    "(Table 1 row), shard_stats, status_stats and analysis views.",
)
def dataset_stats(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    order = sql_models.build(
        SQL_MODELS_DIR, settings.database, sql_sources(settings),
        {"dataset_name": settings.dataset_name}, log=context.log,
    )
    stats = sql_models.query(settings.database, "SELECT * FROM dataset_stats")
    shards = sql_models.query(settings.database, "SELECT * FROM shard_stats")
    statuses = sql_models.query(settings.database, "SELECT * FROM status_stats")
    domains = sql_models.query(settings.database, "SELECT * FROM domain_stats")
    facets = sql_models.query(settings.database, "SELECT * FROM caption_stats")
    comparison = sql_models.query(settings.database, "SELECT * FROM dataset_comparison")
    frequencies = sql_models.query(settings.database, "SELECT count(*) AS n FROM (SELECT unnest(token_ids) AS t "
                                   "FROM caption_tokens WHERE NOT absent) GROUP BY t ORDER BY n DESC")["n"].to_pylist()
    row = stats.to_pylist()[0]
    return dg.MaterializeResult(
        metadata={
            "duckdb": dg.MetadataValue.path(settings.database),
            "models": ", ".join(order),
            "samples": row["samples"],
            "hours": row["hours"],
            "dataset_stats": dg.MetadataValue.md(markdown_table(stats)),
            "shard_stats": dg.MetadataValue.md(markdown_table(shards)),
            "status_stats": dg.MetadataValue.md(markdown_table(statuses)),
            "domain_stats": dg.MetadataValue.md(markdown_table(domains)),
            "caption_stats": dg.MetadataValue.md(markdown_table(facets)),
            "dataset_comparison": dg.MetadataValue.md(markdown_table(comparison)),
            "token_rank_plot": dg.MetadataValue.md(plots.token_rank_plot(frequencies)),
            "unique_tokens": row["unique_tokens"],
        }
    )
