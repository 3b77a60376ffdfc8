"""Statistics: the DuckDB models over every shard's Parquet (dbt_like_sql/), and Table 1 beside
the published caption datasets."""

import dagster as dg

from acav_assets.defs.curation import caption_tokens
from acav_assets.defs.ingest import clips
from acav_assets.defs.metadata import check_result, table_value
from acav_assets.defs.policies import ROLL_UP
from acav_assets.defs.resources import AcavSettings
from acav_assets.io import storage
from acav_assets.stats import figures, plots, table1, warehouse


@dg.asset(
    group_name="statistics", deps=[caption_tokens, dg.AssetKey("corpus_duplicates")], kinds={"duckdb", "parquet"},
    **ROLL_UP,
    description="Table 1 side by side: this dataset's curated captions and every caption dataset named "
    "in ACAV_COMPARE_DATASETS (';'-separated NAME=FORMAT:PATH, e.g. MECAT=acav:/data/mecat/caption/train), "
    "hours, samples and unique Qwen3 tokens counted the same way, with the paper's rows for reference.",
)
def dataset_comparison(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    stats = table1.comparison(settings.layout, settings.dataset_name, settings.comparison_specs)
    url = settings.layout.table("dataset_comparison")
    storage.write_table(stats, url)
    context.log.info("compared %d datasets", stats.num_rows)
    return dg.MaterializeResult(metadata={
        "table_1": table_value(stats),
        "paper_table_1": dg.MetadataValue.md(table1.paper_table_markdown()),
        "parquet": dg.MetadataValue.path(url),
    })


@dg.asset(
    group_name="statistics",
    deps=[clips, "acoustics", "routing", caption_tokens, "corpus_duplicates", dataset_comparison],
    **ROLL_UP,
    kinds={"duckdb", "sql"},
    description="dbt_like_sql/ models built in DuckDB over all shards' Parquet: dataset_stats "
    "(Table 1 row), shard_stats, status_stats and analysis views.",
)
def dataset_stats(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    order = warehouse.build(settings.layout, settings.database, {"dataset_name": settings.dataset_name},
                            log=context.log)
    reports = warehouse.reports(settings.database)
    row = reports["dataset_stats"].to_pylist()[0]
    return dg.MaterializeResult(
        metadata={
            "duckdb": dg.MetadataValue.path(settings.database),
            "models": ", ".join(order),
            "decoded_samples": row["samples"],
            "released_samples": row["released_samples"],
            "released_hours": row["released_hours"],
            "hours": row["hours"],
            **{name: table_value(table) for name, table in reports.items()},
            "token_rank_plot": dg.MetadataValue.md(plots.token_rank_plot(warehouse.token_frequencies(settings.database))),
            "unique_tokens": row["unique_tokens"],
            **{name: dg.MetadataValue.md(figure)
               for name, figure in figures.dataset_figures(settings.database, settings.layout).items()},
        }
    )


@dg.asset_check(asset=dataset_stats, blocking=True)
def dataset_stats_consistent(settings: AcavSettings) -> dg.AssetCheckResult:
    """The DuckDB statistics agree with a direct count over the Parquet files."""
    return check_result(warehouse.check_statistics(settings.database, settings.layout))
