"""MECAT-Caption evaluation: DATE scores per scored system and Table 2 beside the paper's rows."""

import functools
from pathlib import Path

import dagster as dg
import pyarrow as pa

from acav_assets.stats import sql_runner as sql_models
from acav_assets.io import storage
from acav_assets.evaluation.table2 import TABLE2_COLUMNS, render_table2
from acav_assets.defs.assets import MECAT_SCORES_SCHEMA, column_schema, sql_sources
from acav_assets.defs.partitions import system_partitions
from acav_assets.defs.resources import SQL_MODELS_DIR, AcavSettings

SCORE_MODELS = ("mecat_caption_scores", "caption_benchmark")


def predictions_folder(settings: AcavSettings, system: str) -> str:
    """Where a system's predictions CSVs live: written by caption_predictions or `acav-assets add-system`."""
    return f"{settings.data_root.rstrip('/')}/predictions/{system}"


def references_folder(settings: AcavSettings) -> str:
    folder = settings.mecat_references
    if not folder:
        raise dg.Failure(
            "no MECAT-Caption references configured: set ACAV_MECAT_REFERENCES to a folder of MECAT caption "
            "JSON lines (the hub dataset mispeech/MECAT-Caption; acav_assets_tests/data/mecat_sample/caption/train for a "
            "small real sample)")
    if not Path(folder).is_dir():
        raise dg.Failure(f"ACAV_MECAT_REFERENCES={folder} is not a folder")
    return folder


@functools.cache
def _encoder(model: str):
    from acav_assets.evaluation.date_metric import TextEncoder, packaged_encoder

    return packaged_encoder() if model == "packaged" else TextEncoder(model)


def date_encoder_name(settings: AcavSettings) -> str:
    from acav_assets.evaluation.date_metric import DEFAULT_MODEL_ID

    return settings.date_model or ("packaged" if settings.profile == "lite" else DEFAULT_MODEL_ID)


@functools.cache
def _fluency_checker(path: str):
    from acav_assets.evaluation.fluency_checker import FluencyChecker

    return FluencyChecker(path)


@dg.asset(
    partitions_def=system_partitions, group_name="evaluation", kinds={"parquet", "duckdb"},
    deps=[dg.AssetDep("caption_predictions", partition_mapping=dg.IdentityPartitionMapping())],
    description="MECAT-Caption DATE scores of one system (a training run's caption_predictions, or a "
    "predictions CSV added with `acav-assets add-system`): the nine groups and the final score, ×100, "
    "stored as Parquet and in DuckDB (mecat_caption_scores, caption_benchmark).",
)
def mecat_caption_scores(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    from acav_assets.evaluation.mecat_scoring import (
        final_score,
        load_prediction_folder,
        load_references,
        score_group_details,
    )

    system = context.partition_key
    references_dir = references_folder(settings)
    try:
        predictions = load_prediction_folder(predictions_folder(settings, system))
    except (FileNotFoundError, ValueError) as error:
        raise dg.Failure(f"system {system}: {error}") from error
    references = load_references(references_dir)
    encoder_name = date_encoder_name(settings)
    context.log.info("scoring %s on %d reference clips with %s", system, len(references), encoder_name)
    fluency = _fluency_checker(settings.fluency_checker) if settings.fluency_checker else None
    details = score_group_details(references, predictions, _encoder(encoder_name), fluency, log=context.log)
    group_scores = {row["group"]: row["date"] for row in details}
    score = final_score(group_scores)
    common = {"system": system, "encoder": encoder_name, "fluency_checker": settings.fluency_checker or None,
              "references": references_dir}
    rows = [{**row, **common} for row in details]
    rows.append({"group": "score", "facet": None, "n": len(references), "missing_predictions": None, "penalised": None,
                 "similarity": None, "discrimination": None, "date": score, **common})
    table = pa.Table.from_pylist(rows, schema=MECAT_SCORES_SCHEMA)
    storage.write_table(table, settings.url("mecat_caption_scores", system))
    sql_models.build(SQL_MODELS_DIR, settings.database, sql_sources(settings), select=SCORE_MODELS, log=context.log)
    extra_keys = set().union(*predictions.values()) - set(references)
    if extra_keys:
        context.log.warning("%d predicted keys are not in the references (ignored), e.g. %s",
                            len(extra_keys), sorted(extra_keys)[:3])
    row = {**group_scores, "score": score}
    return dg.MaterializeResult(metadata={
        "dagster/row_count": table.num_rows,
        "dagster/column_schema": column_schema(MECAT_SCORES_SCHEMA),
        "score": dg.MetadataValue.float(score) if score is not None else dg.MetadataValue.text("n/a (a group has no clips)"),
        "table2_row": dg.MetadataValue.md(render_table2({system: row}, include_paper=False)),
        "groups": dg.MetadataValue.md("\n".join(
            ["| group | clips | missing | similarity | discrimination | DATE |", "|---|---:|---:|---:|---:|---:|"]
            + [f"| {r['group']} | {r['n']} | {r['missing_predictions']} | {r['similarity']:.1f} | "
               f"{r['discrimination']:.1f} | {r['date']:.1f} |" for r in details])),
        "reference_clips": len(references), "extra_predictions": len(extra_keys),
        "missing_predictions": sum(r["missing_predictions"] for r in details),
        "encoder": encoder_name,
    })


@dg.asset_check(asset=mecat_caption_scores, partitions_def=system_partitions)
def mecat_scores_cover_the_references(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """Every group score is in [0, 100] and every reference clip had a prediction (a missing one
    is scored as an empty caption, which lowers the score: a warning, not a failure)."""
    table = storage.read_table(settings.url("mecat_caption_scores", context.partition_key)).to_pylist()
    groups = [r for r in table if r["group"] != "score"]
    out_of_range = [r["group"] for r in groups if not 0 <= r["date"] <= 100]
    missing = {r["group"]: r["missing_predictions"] for r in groups if r["missing_predictions"]}
    passed = not out_of_range and not missing
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR if out_of_range else dg.AssetCheckSeverity.WARN,
        description="all groups scored in range with every clip predicted" if passed else
        f"out of [0, 100]: {out_of_range or 'none'}; clips without a prediction per group: {missing or 'none'}",
        metadata={"missing_predictions": sum(missing.values()), "groups_out_of_range": len(out_of_range)},
    )


@dg.asset(
    group_name="evaluation", kinds={"duckdb"},
    deps=[dg.AssetDep(mecat_caption_scores, partition_mapping=dg.AllPartitionMapping())],
    description="Table 2 of the paper: the published MECAT-Caption rows beside every scored system, "
    "in Markdown (metadata) and as table2.md.",
)
def caption_benchmark_table(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    sql_models.build(SQL_MODELS_DIR, settings.database, sql_sources(settings), select=SCORE_MODELS, log=context.log)
    scored = sql_models.query(settings.database, "SELECT * FROM caption_benchmark").to_pylist()
    systems = {row["system"]: {c: row[c] for c in TABLE2_COLUMNS} for row in scored}
    markdown = render_table2(systems)
    with storage.atomic_writer(settings.url("caption_benchmark_table", "table2", ext="md")) as handle:
        handle.write((markdown + "\n").encode())
    context.log.info("Table 2 with %d scored systems", len(systems))
    return dg.MaterializeResult(metadata={
        "table2": dg.MetadataValue.md(markdown), "scored_systems": len(systems),
        "dagster/row_count": len(systems),
    })
