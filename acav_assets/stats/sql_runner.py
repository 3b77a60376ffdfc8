"""A small dbt-like runner: SQL files in ``dbt_like_sql/models`` built in dependency order into
a DuckDB file over the Parquet assets.

A model is ``models/<name>.sql`` holding one SELECT. It may use ``{{ ref('other_model') }}``,
``{{ source('asset') }}`` (the asset's Parquet files) and ``{{ var('name') }}``. A first-line
comment ``-- materialized: table`` makes a table; the default is a view. The DuckDB file is
derived data: delete it and build again to get the same result.
"""

from __future__ import annotations

import graphlib
import logging
import os
import re
import shutil
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import fsspec
import pyarrow as pa

from acav_assets.stats.streaming_counts import duckdb_config, spill_folder_for

logger = logging.getLogger(__name__)

_REF = re.compile(r"\{\{\s*ref\(\s*'([A-Za-z0-9_]+)'\s*\)\s*\}\}")
_SOURCE = re.compile(r"\{\{\s*source\(\s*'([A-Za-z0-9_]+)'\s*\)\s*\}\}")
_VAR = re.compile(r"\{\{\s*var\(\s*'([A-Za-z0-9_]+)'\s*\)\s*\}\}")
_MATERIALIZED = re.compile(r"^--\s*materialized:\s*(view|table)\s*$", re.MULTILINE)


class SqlModelError(ValueError):
    pass


@dataclass(frozen=True)
class Source:
    """Parquet files of one asset (a glob) and the schema to use when there are none yet."""

    glob: str
    schema: pa.Schema


@dataclass(frozen=True)
class SqlModel:
    name: str
    sql: str
    materialized: str
    refs: frozenset[str]
    sources: frozenset[str]


def load_models(models_dir: Path) -> dict[str, SqlModel]:
    models = {}
    for path in sorted(Path(models_dir).glob("*.sql")):
        sql = path.read_text()
        match = _MATERIALIZED.search(sql)
        models[path.stem] = SqlModel(
            name=path.stem,
            sql=sql,
            materialized=match.group(1) if match else "view",
            refs=frozenset(_REF.findall(sql)),
            sources=frozenset(_SOURCE.findall(sql)),
        )
    if not models:
        raise SqlModelError(f"no *.sql models in {models_dir}")
    for model in models.values():
        unknown = model.refs - models.keys()
        if unknown:
            raise SqlModelError(f"model {model.name} refers to unknown model(s) {sorted(unknown)}")
    return models


def build_order(models: Mapping[str, SqlModel]) -> list[str]:
    """Models sorted so that each comes after the models it refers to."""
    sorter = graphlib.TopologicalSorter({name: model.refs for name, model in models.items()})
    try:
        return list(sorter.static_order())
    except graphlib.CycleError as error:
        raise SqlModelError(f"models refer to each other in a cycle: {error.args[1]}") from None


def _has_files(glob: str) -> bool:
    fs, path = fsspec.core.url_to_fs(glob)
    return bool(fs.glob(path))


def _source_relation(con: duckdb.DuckDBPyConnection, name: str, source: Source) -> str:
    if _has_files(source.glob):
        quoted = source.glob.replace("'", "''")
        return f"read_parquet('{quoted}', union_by_name = true)"
    # No partition materialised yet: an empty table with the asset's schema keeps models valid.
    empty_name = f"_empty_{name}"
    con.register("_empty_arrow", pa.Table.from_pylist([], schema=source.schema))
    con.execute(f"CREATE OR REPLACE TABLE {empty_name} AS SELECT * FROM _empty_arrow")
    con.unregister("_empty_arrow")
    return empty_name


def render(model: SqlModel, sources: Mapping[str, str], variables: Mapping[str, str]) -> str:
    def source(match: re.Match) -> str:
        if match.group(1) not in sources:
            raise SqlModelError(f"model {model.name} uses unknown source {match.group(1)!r}")
        return sources[match.group(1)]

    def var(match: re.Match) -> str:
        if match.group(1) not in variables:
            raise SqlModelError(f"model {model.name} uses undefined var {match.group(1)!r}")
        return variables[match.group(1)].replace("'", "''")

    sql = _SOURCE.sub(source, model.sql)
    sql = _REF.sub(lambda m: m.group(1), sql)
    return _VAR.sub(var, sql).strip().rstrip(";")


def build(
    models_dir: Path,
    database: str,
    sources: Mapping[str, Source],
    variables: Mapping[str, str] | None = None,
    log: logging.Logger = logger,
    select: Collection[str] | None = None,
) -> list[str]:
    """(Re)build every model into the DuckDB file ``database``, or only the ``select``ed ones
    (the models they refer to must already be built); returns the build order."""
    models = load_models(models_dir)
    order = build_order(models)
    if select is not None:
        unknown = set(select) - models.keys()
        if unknown:
            raise SqlModelError(f"no model(s) named {sorted(unknown)} in {models_dir}")
        order = [name for name in order if name in select]
        needed = set().union(*(models[name].sources for name in order))
        sources = {name: source for name, source in sources.items() if name in needed}
    target = Path(database)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build into a copy and swap it in: readers (and other builders) never meet a lock, and a failed
    # build leaves the last good file in place.
    staging = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex}")
    if target.exists():
        shutil.copyfile(target, staging)
    try:
        _build_into(str(staging), models, order, sources, variables, log)
        os.replace(staging, target)
    finally:
        for leftover in (staging, staging.with_name(staging.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return order


def _build_into(database: str, models: Mapping[str, SqlModel], order: list[str], sources: Mapping[str, Source],
                variables: Mapping[str, str] | None, log: logging.Logger) -> None:
    # Bounded memory: DuckDB spills joins and aggregates beside the database past its memory_limit.
    spill = spill_folder_for(database)
    try:
        _run_models(database, spill, models, order, sources, variables, log)
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def _run_models(database: str, spill: str, models: Mapping[str, SqlModel], order: list[str],
                sources: Mapping[str, Source], variables: Mapping[str, str] | None, log: logging.Logger) -> None:
    with duckdb.connect(database, config=duckdb_config(spill)) as con:
        relations = {name: _source_relation(con, name, source) for name, source in sources.items()}
        con.execute("BEGIN TRANSACTION")
        try:
            for name in order:
                model = models[name]
                sql = render(model, relations, variables or {})
                kind = model.materialized.upper()
                other = "TABLE" if kind == "VIEW" else "VIEW"
                # A model may have changed from view to table (or back) since the last build.
                exists = con.execute(
                    "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [name]
                ).fetchone()
                if exists and (exists[0] == "VIEW") != (kind == "VIEW"):
                    con.execute(f"DROP {other} {name}")
                con.execute(f"CREATE OR REPLACE {kind} {name} AS {sql}")
                log.info("built %s %s", model.materialized, name)
            con.execute("COMMIT")
        except Exception as error:
            con.execute("ROLLBACK")
            raise SqlModelError(f"building model {name} failed: {error}") from error


def query(database: str, sql: str) -> pa.Table:
    """Run a read-only query against the built DuckDB file."""
    with duckdb.connect(database, read_only=True, config=duckdb_config()) as con:
        return con.sql(sql).to_arrow_table()
