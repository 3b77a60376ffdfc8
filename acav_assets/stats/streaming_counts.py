"""Whole-corpus counts in DuckDB over every shard's Parquet files, streamed: memory is bounded by
DuckDB's ``memory_limit`` (joins and aggregates spill to ``temp_directory``), not by the corpus.

The released clips (:data:`RELEASED_KEYS_SQL`) are those of :func:`acav_assets.curation.release.released_keys`:
curated rows with status ok and a domain other than ``000`` whose clip decoded, less the
corpus-wide duplicates (the ``corpus_duplicates`` asset, when written). Table 1's row of
this dataset (:func:`table1_row`) counts the Qwen3 ids already stored in ``caption_tokens``, with
the semantics of :func:`acav_assets.stats.token_stats.dataset_statistics`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb
import fsspec
import pyarrow as pa

from acav_assets.contracts.domains import SILENT_DOMAIN, STATUS_OK
from acav_assets.contracts.layout import DataLayout

MEMORY_LIMIT_ENV = "ACAV_DUCKDB_MEMORY_LIMIT"
THREADS_ENV = "ACAV_DUCKDB_THREADS"
TEMP_DIRECTORY_ENV = "ACAV_DUCKDB_TEMP_DIRECTORY"
DEFAULT_MEMORY_LIMIT = "2GB"

# Words of a caption text, as token_stats.dataset_statistics counts them.
WORDS_SQL = "len(regexp_split_to_array(trim(text), '\\s+'))"

RELEASED_KEYS_SQL = f"""
SELECT DISTINCT key FROM {{curated_captions}}
WHERE coalesce(status, '{STATUS_OK}') = '{STATUS_OK}' AND domain IS NOT NULL AND domain <> '{SILENT_DOMAIN}'
  AND key IN (SELECT key FROM {{clips}} WHERE status = '{STATUS_OK}')
  AND key NOT IN (SELECT key FROM {{corpus_duplicates}} WHERE key IS NOT NULL)
"""
NO_DUPLICATES = "(SELECT NULL::VARCHAR AS key WHERE false)"


def duckdb_config(temp_directory: str | None = None) -> dict[str, str]:
    """DuckDB settings that keep a whole-corpus query bounded: ``memory_limit`` (env
    ``ACAV_DUCKDB_MEMORY_LIMIT``, default 2GB), ``threads`` (env ``ACAV_DUCKDB_THREADS``, default
    DuckDB's) and a ``temp_directory`` to spill into (env ``ACAV_DUCKDB_TEMP_DIRECTORY``, else
    ``temp_directory``, else DuckDB's default beside the database)."""
    config = {"memory_limit": os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT}
    if threads := os.environ.get(THREADS_ENV):
        config["threads"] = threads
    if spill := os.environ.get(TEMP_DIRECTORY_ENV) or temp_directory:
        config["temp_directory"] = spill
    return config


def connect(database: str = ":memory:", read_only: bool = False,
            temp_directory: str | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with :func:`duckdb_config`'s bounds."""
    return duckdb.connect(database, read_only=read_only, config=duckdb_config(temp_directory))


def has_files(glob: str) -> bool:
    fs, path = fsspec.core.url_to_fs(glob)
    return bool(fs.glob(path))


def parquet_relation(layout: DataLayout, asset: str) -> str | None:
    """``read_parquet`` over every shard of ``asset``, or None when none is written yet."""
    glob = layout.glob(asset)
    if not has_files(glob):
        return None
    quoted = glob.replace("'", "''")
    return f"read_parquet('{quoted}', union_by_name = true)"


def _released_relations(layout: DataLayout) -> dict[str, str] | None:
    relations = {name: parquet_relation(layout, name) for name in ("clips", "curated_captions")}
    if None in relations.values():
        return None
    return {**relations, "corpus_duplicates": parquet_relation(layout, "corpus_duplicates") or NO_DUPLICATES}


def _spill_folder() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="acav-duckdb-spill-")


def released_key_count(layout: DataLayout) -> int:
    """How many clips a release must hold (``len(released_keys(layout))``), streamed."""
    relations = _released_relations(layout)
    if relations is None:
        return 0
    with _spill_folder() as spill, connect(temp_directory=spill) as con:
        return con.execute(f"SELECT count(*) FROM ({RELEASED_KEYS_SQL.format(**relations)})").fetchone()[0]


def clip_status_counts(layout: DataLayout) -> tuple[int, int]:
    """(decoded, planned) clips over every shard's ``clips`` rows."""
    clips = parquet_relation(layout, "clips")
    if clips is None:
        return 0, 0
    with connect() as con:
        ok, planned = con.execute(f"SELECT count(*) FILTER (WHERE status = '{STATUS_OK}'), count(*) FROM {clips}").fetchone()
    return int(ok), int(planned)


def table1_row(layout: DataLayout, dataset_name: str) -> pa.Table:
    """Table 1's row of this dataset's released captions: ``dataset, hours, samples, captions,
    unique_tokens, unique_tokens_all, mean_words`` (no row when no released clip has captions).

    ``samples``/``hours``: released clips with caption rows (hours null if one has no duration);
    ``captions``, ``mean_words``, ``unique_tokens``: present-content variants (not ``absent``);
    ``unique_tokens_all``: every variant. Each query scans the Parquet once, joined to a table of
    released keys that DuckDB may spill."""
    names = ["dataset", "hours", "samples", "captions", "unique_tokens", "unique_tokens_all", "mean_words"]
    relations = _released_relations(layout)
    tokens = parquet_relation(layout, "caption_tokens")
    if relations is None or tokens is None:
        return pa.table({name: [] for name in names})
    with _spill_folder() as spill, connect(temp_directory=spill) as con:
        con.execute(f"CREATE TEMP TABLE released AS {RELEASED_KEYS_SQL.format(**relations)}")
        released_tokens = f"(SELECT * FROM {tokens} WHERE key IN (SELECT key FROM released))"
        samples, hours = con.execute(f"""
            WITH durations AS (SELECT key, max(duration_s) AS duration_s FROM {relations['clips']} GROUP BY key),
                 captioned AS (SELECT DISTINCT key FROM {released_tokens})
            SELECT count(*), CASE WHEN count(d.duration_s) = count(*) THEN sum(d.duration_s) / 3600.0 END
            FROM captioned LEFT JOIN durations AS d USING (key)
        """).fetchone()
        if not samples:
            return pa.table({name: [] for name in names})
        captions, mean_words = con.execute(f"""
            SELECT count(*) FILTER (WHERE NOT absent), avg({WORDS_SQL}) FILTER (WHERE NOT absent)
            FROM {released_tokens}
        """).fetchone()
        # One row per distinct token id (at most the vocabulary), whatever the corpus size.
        unique_present, unique_all = con.execute(f"""
            SELECT count(*) FILTER (WHERE present), count(*) FROM (
                SELECT token_id, bool_or(NOT absent) AS present
                FROM (SELECT unnest(token_ids) AS token_id, absent FROM {released_tokens})
                GROUP BY token_id)
        """).fetchone()
    values = [dataset_name, hours, samples, captions, unique_present, unique_all, mean_words]
    return pa.table({name: [value] for name, value in zip(names, values)})


def spill_folder_for(database: str) -> str:
    """A spill folder beside a DuckDB file (``.{name}.spill``)."""
    path = Path(database)
    return str(path.with_name(f".{path.name}.spill"))
