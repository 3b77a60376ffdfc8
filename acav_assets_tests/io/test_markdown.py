"""Markdown tables: escaping, number formats, alignment."""

import pyarrow as pa

from acav_assets.io.markdown import Markdown, markdown_table, rows_table, significant


def test_markdown_table_escapes_and_formats_numbers() -> None:
    text = markdown_table(pa.table({"dataset": ["a|b"], "hours": [None], "samples": [4_664_075]}))
    assert text.splitlines() == ["| dataset | hours | samples |", "|---|---|---|",
                                 "| a\\|b |  | 4,664,075 |"]


def test_significant_digits_and_alignment() -> None:
    text = markdown_table(pa.table({"x": [1.234567, None]}), significant(3))
    assert text.splitlines()[2:] == ["| 1.23 |", "|  |"]
    table = rows_table(["a", "b"], [(1, 2)], cell=str, align=["---", "---:"])
    assert table.splitlines() == ["| a | b |", "|---|---:|", "| 1 | 2 |"]
    assert isinstance(Markdown(table), str)
