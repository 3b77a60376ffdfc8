"""Turning the core's results into what the Dagster UI shows: column schemas, check results,
and asset metadata (Markdown as Markdown, paths as paths)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import pyarrow as pa

from acav_assets.contracts.failures import PromotionRefused
from acav_assets.io.markdown import Markdown
from acav_assets.io.table_fields import plain_rows
from acav_assets.ops import promotion
from acav_assets.quality.suites import QualityReport


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    """The Parquet schema, with units, as Dagster shows it on the asset page."""
    columns = []
    for f in schema:
        meta = {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
        text = " ".join(filter(None, [meta.get("description"), f"[{meta['unit']}]" if "unit" in meta else None]))
        columns.append(dg.TableColumn(f.name, str(f.type), description=text or None))
    return dg.TableSchema(columns=columns)


MAX_TABLE_ROWS = 500  # a statistics table in the UI; the full table is in DuckDB / Parquet


def table_value(table: pa.Table, max_rows: int = MAX_TABLE_ROWS) -> dg.TableMetadataValue:
    """An Arrow table as Dagster table metadata, which the UI renders as a sortable table."""
    records = [dg.TableRecord(row) for row in plain_rows(table, max_rows)]
    return dg.MetadataValue.table(records=records, schema=column_schema(table.schema))


def metadata(values: Mapping[str, Any]) -> dict[str, Any]:
    """A core summary as asset metadata: Markdown values render as Markdown."""
    return {name: dg.MetadataValue.md(value) if isinstance(value, Markdown) else value
            for name, value in values.items()}


def table_metadata(table: pa.Table, url: str, schema: pa.Schema | None = None) -> dict[str, Any]:
    """Row count, column schema and location of a Parquet table just written."""
    return {
        "dagster/row_count": table.num_rows,
        "dagster/column_schema": column_schema(schema if schema is not None else table.schema),
        "parquet": dg.MetadataValue.path(url),
    }


def check_result(report: QualityReport) -> dg.AssetCheckResult:
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


def promote(*args: Any, **kwargs: Any) -> None:
    """:func:`acav_assets.ops.promotion.promote`, a refusal failing the step without retries: a
    failed check or a lost clip is not transient (an unreachable source or endpoint still is)."""
    try:
        promotion.promote(*args, **kwargs)
    except PromotionRefused as refused:
        raise dg.Failure(description=f"PromotionRefused: {refused}", allow_retries=False) from refused
