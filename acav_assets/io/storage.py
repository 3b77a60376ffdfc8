"""Reading and writing files under the data root on any fsspec filesystem (paths: contracts.layout).

Writes are atomic (temporary name, then rename) so a re-materialised or interrupted partition
never leaves a half-written file where readers look.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from acav_assets.contracts.layout import DataLayout


def exists(url: str) -> bool:
    fs, path = fsspec.core.url_to_fs(url)
    return fs.exists(path)


@contextlib.contextmanager
def atomic_writer(url: str) -> Iterator[BinaryIO]:
    """Open ``url`` for writing through a temporary sibling that is renamed into place on success."""
    fs, path = fsspec.core.url_to_fs(url)
    parent = path.rsplit("/", 1)[0] if "/" in path else "."
    fs.makedirs(parent, exist_ok=True)
    temporary = f"{path}.tmp-{uuid.uuid4().hex}"
    try:
        with fs.open(temporary, "wb") as handle:
            yield handle
        _rename(fs, temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError, OSError):
            fs.rm(temporary)
        raise


def move(source: str, target: str) -> None:
    """Rename ``source`` to ``target`` (atomic on a local disk), replacing ``target``."""
    fs, path = fsspec.core.url_to_fs(source)
    _, destination = fsspec.core.url_to_fs(target)
    parent = destination.rsplit("/", 1)[0] if "/" in destination else "."
    fs.makedirs(parent, exist_ok=True)
    _rename(fs, path, destination)


def _rename(fs: fsspec.AbstractFileSystem, source: str, target: str) -> None:
    """Replace ``target`` with ``source``: atomic on a local disk, a move on an object store."""
    if "file" in fs.protocol:
        os.replace(source, target)
    else:
        fs.mv(source, target)


def remove(url: str) -> None:
    """Delete ``url`` if it exists."""
    fs, path = fsspec.core.url_to_fs(url)
    if fs.exists(path):
        fs.rm(path)


def write_text(text: str, url: str) -> None:
    """Write UTF-8 text atomically."""
    with atomic_writer(url) as handle:
        handle.write(text.encode("utf-8"))


def write_table(table: pa.Table, url: str) -> None:
    """Write a Parquet table atomically."""
    with atomic_writer(url) as handle:
        pq.write_table(table, handle, compression="zstd")


def read_table(url: str, schema: pa.Schema | None = None) -> pa.Table:
    """Read a Parquet table; with ``schema`` the columns are selected and cast to it."""
    fs, path = fsspec.core.url_to_fs(url)
    if not fs.exists(path):
        raise FileNotFoundError(f"{url} does not exist: materialise its asset first")
    with fs.open(path, "rb") as handle:
        table = pq.read_table(handle)
    if schema is not None:
        table = table.select(schema.names).cast(schema)
    return table


def list_partitions(data_root: str, asset: str, ext: str = "parquet") -> list[str]:
    """Partition names that have a file for ``asset`` (temporary files excluded)."""
    fs, path = fsspec.core.url_to_fs(DataLayout(data_root).glob(asset, ext))
    return sorted(p.rsplit("/", 1)[-1][: -len(ext) - 1] for p in fs.glob(path))


def read_partitions(data_root: str, asset: str, columns: list[str] | None = None) -> pa.Table | None:
    """All partitions of a Parquet asset concatenated, or None when there are none."""
    tables = []
    for name in list_partitions(data_root, asset):
        table = read_table(DataLayout(data_root).table(asset, name))
        tables.append(table.select(columns) if columns else table)
    return pa.concat_tables(tables, promote_options="default") if tables else None


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a local file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
