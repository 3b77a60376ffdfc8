"""Markdown for reports: tables of Arrow rows or plain rows, as the Dagster UI and the CLI show them."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import pyarrow as pa


class Markdown(str):
    """Text meant to be rendered as Markdown (the Dagster shell shows it as such in metadata)."""


def escape(value: object) -> str:
    """A cell value with the column separator escaped."""
    return str(value).replace("|", "\\|")


def readable_number(value: object) -> str:
    """Nulls blank, integers with thousands separators, floats with two decimals (none past 1,000)."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return escape(value)


def significant(digits: int = 4) -> Callable[[object], str]:
    """Floats to ``digits`` significant digits, nulls blank, everything else as text."""
    def cell(value: object) -> str:
        return f"{value:.{digits}g}" if isinstance(value, float) else ("" if value is None else str(value))

    return cell


def rows_table(header: Sequence[str], rows: Iterable[Sequence[object]], cell: Callable[[object], str] = escape,
               align: Sequence[str] | None = None) -> str:
    """A GitHub-flavoured Markdown table of ``rows`` under ``header``; ``align`` holds each column's
    rule (``---`` left, ``---:`` right), left by default."""
    rules = align or ["---"] * len(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rules) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_table(table: pa.Table, cell: Callable[[object], str] = readable_number) -> str:
    """A Markdown table of an Arrow table, one line per row, with a trailing newline."""
    return rows_table(table.column_names, (row.values() for row in table.to_pylist()), cell) + "\n"
