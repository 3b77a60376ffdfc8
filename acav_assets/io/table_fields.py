"""Arrow fields that carry their unit and meaning, so Parquet files and the Dagster UI say what
every column measures."""

import math

import pyarrow as pa


def described_field(name: str, dtype: pa.DataType, unit: str, description: str, nullable: bool = True) -> pa.Field:
    """A field with ``unit`` (omitted when empty) and ``description`` in its metadata."""
    metadata = {b"description": description.encode()}
    if unit:
        metadata[b"unit"] = unit.encode()
    return pa.field(name, dtype, nullable=nullable, metadata=metadata)


def plain_rows(table: pa.Table, max_rows: int) -> list[dict]:
    """The first ``max_rows`` rows with every value a str, int, float, bool or None (lists and
    structs as text, NaN as None): what a UI table cell can hold."""
    def plain(value):
        if value is None or isinstance(value, (str, bool, int)):
            return value
        if isinstance(value, float):
            return None if math.isnan(value) else value
        return str(value)

    return [{name: plain(value) for name, value in row.items()} for row in table.slice(0, max_rows).to_pylist()]
