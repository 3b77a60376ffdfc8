"""Arrow fields that carry their unit and meaning, so Parquet files and the Dagster UI say what
every column measures."""

import pyarrow as pa


def described_field(name: str, dtype: pa.DataType, unit: str, description: str, nullable: bool = True) -> pa.Field:
    """A field with ``unit`` (omitted when empty) and ``description`` in its metadata."""
    metadata = {b"description": description.encode()}
    if unit:
        metadata[b"unit"] = unit.encode()
    return pa.field(name, dtype, nullable=nullable, metadata=metadata)
