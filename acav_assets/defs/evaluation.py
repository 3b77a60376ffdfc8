"""Stage 5, evaluation: MECAT-Caption DATE scores per scored system and Table 2 beside the
paper's rows (downstream probes and Table 3 are in defs/training.py, beside the runs they probe)."""

import dagster as dg

from acav_assets.defs.metadata import column_schema
from acav_assets.defs.partitions import system_partitions
from acav_assets.defs.resources import AcavSettings
from acav_assets.evaluation.mecat_scoring import MECAT_SCORES_SCHEMA
from acav_assets.evaluation.system_scores import (
    coverage_problems,
    encoder_name,
    references_folder,
    score_system,
)
from acav_assets.evaluation.table2 import TABLE2_COLUMNS, render_table2
from acav_assets.io import storage
from acav_assets.stats import figures, warehouse


@dg.asset(
    partitions_def=system_partitions, group_name="evaluation", kinds={"parquet", "duckdb"},
    deps=[dg.AssetDep("caption_predictions", partition_mapping=dg.IdentityPartitionMapping())],
    description="MECAT-Caption DATE scores of one system (a training run's caption_predictions, or a "
    "predictions CSV added with `acav-assets add-system`): the nine groups and the final score, ×100, "
    "stored as Parquet and in DuckDB (mecat_caption_scores, caption_benchmark).",
)
def mecat_caption_scores(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    system, layout = context.partition_key, settings.layout
    encoder = encoder_name(settings.date_model, settings.profile)
    try:
        scores = score_system(system, layout.predictions(system), references_folder(settings.mecat_references),
                              encoder, settings.fluency_checker, log=context.log)
    except (FileNotFoundError, ValueError) as error:
        raise dg.Failure(f"system {system}: {error}") from error
    storage.write_table(scores.table, layout.table("mecat_caption_scores", system))
    warehouse.build(layout, settings.database, select=warehouse.SCORE_MODELS, log=context.log)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": scores.table.num_rows,
        "dagster/column_schema": column_schema(MECAT_SCORES_SCHEMA),
        "score": dg.MetadataValue.float(scores.score) if scores.score is not None
        else dg.MetadataValue.text("n/a (a group has no clips)"),
        "table2_row": dg.MetadataValue.md(render_table2({system: scores.table2_row}, include_paper=False)),
        "groups": dg.MetadataValue.md(scores.groups_markdown()),
        "reference_clips": scores.reference_clips, "extra_predictions": len(scores.extra_keys),
        "missing_predictions": sum(r["missing_predictions"] for r in scores.details),
        "encoder": encoder,
    })


@dg.asset_check(asset=mecat_caption_scores, partitions_def=system_partitions)
def mecat_scores_cover_the_references(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """Every group score is in [0, 100] and every reference clip had a prediction (a missing one
    is scored as an empty caption, which lowers the score: a warning, not a failure)."""
    table = storage.read_table(settings.layout.table("mecat_caption_scores", context.partition_key))
    out_of_range, missing = coverage_problems(table)
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
    warehouse.build(settings.layout, settings.database, select=warehouse.SCORE_MODELS, log=context.log)
    systems = {row["system"]: {c: row[c] for c in TABLE2_COLUMNS} for row in warehouse.scored_systems(settings.database)}
    markdown = render_table2(systems)
    with storage.atomic_writer(settings.layout.table("caption_benchmark_table", "table2", ext="md")) as handle:
        handle.write((markdown + "\n").encode())
    context.log.info("Table 2 with %d scored systems", len(systems))
    return dg.MaterializeResult(metadata={
        "table2": dg.MetadataValue.md(markdown), "scored_systems": len(systems),
        "date_by_group": dg.MetadataValue.md(figures.date_by_group(systems)),
        "dagster/row_count": len(systems),
    })
