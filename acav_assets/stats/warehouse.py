"""The DuckDB warehouse: which Parquet assets the SQL models read, and the reports queried from it.

The models themselves are the SQL files in ``dbt_like_sql/models`` (run by ``sql_runner``); the
warehouse is derived data, rebuilt from the Parquet at any time.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

from acav_assets.contracts.layout import DataLayout
from acav_assets.curation.corpus_dedup import DUPLICATES_SCHEMA
from acav_assets.curation.release import file_counts
from acav_assets.evaluation.mecat_scoring import MECAT_SCORES_SCHEMA
from acav_assets.experts.registry import expert
from acav_assets.ingest.clip_decoding import CLIPS_SCHEMA
from acav_assets.io import storage
from acav_assets.quality.suites import (
    ExpectationResult,
    QualityReport,
    check_dataset_stats,
)
from acav_assets.stats import sql_runner
from acav_assets.stats.streaming_counts import clip_status_counts, released_key_count
from acav_assets.stats.table1 import COMPARISON_SCHEMA
from acav_assets.stats.token_stats import CAPTION_TOKENS_SCHEMA

SQL_MODELS_DIR = Path(__file__).resolve().parents[2] / "dbt_like_sql" / "models"
# The models that score systems (rebuilt alone after each scoring).
SCORE_MODELS = ("mecat_caption_scores", "caption_benchmark")
# The tables the statistics asset reports, in the order it shows them.
REPORTS = ("dataset_stats", "shard_stats", "status_stats", "domain_stats", "caption_stats", "dataset_comparison")
TOKEN_FREQUENCIES = ("SELECT count(*) AS n FROM (SELECT unnest(token_ids) AS t FROM caption_tokens WHERE NOT absent) "
                     "GROUP BY t ORDER BY n DESC")


def sources(layout: DataLayout) -> dict[str, sql_runner.Source]:
    """Every Parquet asset the SQL models read, with its schema for when no file exists yet."""
    tables = {
        "clips": CLIPS_SCHEMA,
        "acoustics": expert("acoustics").schema,
        "routing": expert("routing").schema,
        "caption_tokens": CAPTION_TOKENS_SCHEMA,
        "corpus_duplicates": DUPLICATES_SCHEMA,
        "dataset_comparison": COMPARISON_SCHEMA,
        "mecat_caption_scores": MECAT_SCORES_SCHEMA,
    }
    return {name: sql_runner.Source(layout.glob(name), schema) for name, schema in tables.items()}


def build(layout: DataLayout, database: str, variables: dict | None = None, select=None,
          log: logging.Logger | None = None) -> list[str]:
    """Build the SQL models (or only ``select``) into ``database``; returns the build order."""
    kwargs = {"log": log} if log is not None else {}
    return sql_runner.build(SQL_MODELS_DIR, database, sources(layout), variables or {}, select=select, **kwargs)


def reports(database: str) -> dict[str, pa.Table]:
    """The statistics tables, by name."""
    return {name: sql_runner.query(database, f"SELECT * FROM {name}") for name in REPORTS}


def token_frequencies(database: str) -> list[int]:
    """How often each distinct Qwen3 token occurs in present-content captions, most frequent first."""
    return sql_runner.query(database, TOKEN_FREQUENCIES)["n"].to_pylist()


def scored_systems(database: str) -> list[dict]:
    """Table 2's rows of every scored system."""
    return sql_runner.query(database, "SELECT * FROM caption_benchmark").to_pylist()


def check_statistics(database: str, layout: DataLayout) -> QualityReport:
    """The DuckDB statistics agree with a direct count over the clips' Parquet files, and its
    released clips with the curated Parquet and Table 1 (:func:`release_counts`; the release files
    are checked by the release's own round trip, since they may be built after the statistics)."""
    stats = sql_runner.query(database, "SELECT * FROM dataset_stats")
    ok, planned = clip_status_counts(layout)
    report = check_dataset_stats(stats, ok, planned)
    names = stats["dataset"].to_pylist()
    problems = count_problems(release_counts(layout, names[0], database, files=False)) if names else []
    agree = ExpectationResult("released_clips_agree", "released_samples", not problems,
                              "; ".join(problems) or "Table 1 and the curated Parquet agree")
    return dataclasses.replace(report, results=(*report.results, agree))


def release_counts(layout: DataLayout, dataset_name: str, database: str | None = None,
                   files: bool = True) -> dict[str, int | None]:
    """Released clips as every place states them: ``expected`` (curated captions and clips
    Parquet), with ``files`` the live release's files, ``table_1`` (``dataset_name``'s row of
    ``dataset_comparison``) and ``dataset_stats`` (DuckDB ``released_samples``, with ``database``).
    None where a place does not exist yet; all others should be equal."""
    counts: dict[str, int | None] = {"expected": released_key_count(layout)}
    if files:
        folder = layout.release_folder()
        counts.update(file_counts(folder) if folder.exists()
                      else dict.fromkeys(("caption_files", "parquet", "index", "webdataset")))
    table = layout.table("dataset_comparison")
    rows = storage.read_table(table).to_pylist() if storage.exists(table) else []
    counts["table_1"] = next((r["samples"] for r in rows if r["dataset"] == dataset_name), None)
    counts["dataset_stats"] = None if database is None else sql_runner.query(
        database, "SELECT released_samples FROM dataset_stats")["released_samples"].to_pylist()[0]
    return counts


def count_problems(counts: Mapping[str, int | None]) -> list[str]:
    """Places whose count differs from ``expected`` (places that do not exist are skipped)."""
    return [f"{place} counts {n} released clips, expected {counts['expected']}"
            for place, n in counts.items() if n is not None and n != counts["expected"]]
