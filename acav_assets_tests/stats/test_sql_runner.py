import pyarrow as pa
import pytest

from acav_assets.contracts.layout import DataLayout
from acav_assets.io import storage
from acav_assets.stats import sql_runner
from acav_assets.stats.token_stats import CAPTION_TOKENS_SCHEMA
from acav_assets.stats.warehouse import SQL_MODELS_DIR, sources
from acav_assets_tests.fixtures import clip_rows


def test_models_build_in_dependency_order():
    models = sql_runner.load_models(SQL_MODELS_DIR)
    order = sql_runner.build_order(models)
    for name, model in models.items():
        assert all(order.index(ref) < order.index(name) for ref in model.refs)


def test_statistics_over_parquet_and_rebuild_from_scratch(tmp_path):
    root = str(tmp_path / "data")
    storage.write_table(clip_rows("s0", ["ok", "ok", "error"]), DataLayout(root).table("clips", "s0"))
    storage.write_table(clip_rows("s1", ["ok"] * 4), DataLayout(root).table("clips", "s1"))
    database = str(tmp_path / "warehouse.duckdb")
    sql_runner.build(SQL_MODELS_DIR, database, sources(DataLayout(root)), {"dataset_name": "test"})
    stats = sql_runner.query(database, "SELECT * FROM dataset_stats").to_pylist()[0]
    assert (stats["dataset"], stats["samples"], stats["clips_planned"], stats["clips_error"], stats["shards"]) == (
        "test", 6, 7, 1, 2,
    )
    assert stats["hours"] == pytest.approx(60 / 3600)
    assert stats["clips_with_acoustics"] == 0  # no acoustics partition yet: an empty, typed source
    shards = sql_runner.query(database, "SELECT shard, clips_ok, clips_error FROM shard_stats").to_pylist()
    assert shards == [{"shard": "s0", "clips_ok": 2, "clips_error": 1}, {"shard": "s1", "clips_ok": 4, "clips_error": 0}]
    # The DuckDB file is derived: delete it and the same statistics come back.
    (tmp_path / "warehouse.duckdb").unlink()
    sql_runner.build(SQL_MODELS_DIR, database, sources(DataLayout(root)), {"dataset_name": "test"})
    assert sql_runner.query(database, "SELECT * FROM dataset_stats").to_pylist()[0] == stats


def test_cycles_unknown_refs_and_vars(tmp_path):
    (tmp_path / "a.sql").write_text("SELECT * FROM {{ ref('b') }}")
    (tmp_path / "b.sql").write_text("SELECT * FROM {{ ref('a') }}")
    with pytest.raises(sql_runner.SqlModelError, match="cycle"):
        sql_runner.build_order(sql_runner.load_models(tmp_path))
    (tmp_path / "b.sql").write_text("SELECT * FROM {{ ref('missing') }}")
    with pytest.raises(sql_runner.SqlModelError, match="unknown model"):
        sql_runner.load_models(tmp_path)
    (tmp_path / "a.sql").write_text("SELECT '{{ var('nope') }}' AS x")
    (tmp_path / "b.sql").unlink()
    with pytest.raises(sql_runner.SqlModelError, match="undefined var"):
        sql_runner.build(tmp_path, str(tmp_path / "db.duckdb"), {}, {})


def test_a_failing_model_leaves_the_previous_build(tmp_path):
    (tmp_path / "a.sql").write_text("-- materialized: table\nSELECT 1 AS x")
    database = str(tmp_path / "db.duckdb")
    sql_runner.build(tmp_path, database, {})
    (tmp_path / "a.sql").write_text("-- materialized: table\nSELECT 2 AS x")
    (tmp_path / "b.sql").write_text("SELECT * FROM {{ ref('a') }} JOIN nowhere USING (x)")
    with pytest.raises(sql_runner.SqlModelError, match="building model b failed"):
        sql_runner.build(tmp_path, database, {})
    assert sql_runner.query(database, "SELECT x FROM a").to_pylist() == [{"x": 1}]


def test_unique_tokens_and_facet_statistics(tmp_path):
    root = str(tmp_path / "data")
    storage.write_table(clip_rows("s0", ["ok", "ok", "ok", "error"]), DataLayout(root).table("clips", "s0"))
    k1, k2, silent, undecoded = (f"s0_{i}_0_10" for i in range(4))
    rows = [
        {"key": k1, "shard": "s0", "facet": "long", "variant": 0, "text": "a dog", "absent": False, "words": 2,
         "token_ids": [1, 2], "domain": "00A"},
        {"key": k1, "shard": "s0", "facet": "long", "variant": 1, "text": "a dog barks", "absent": False,
         "words": 3, "token_ids": [1, 2, 3], "domain": "00A"},
        {"key": k1, "shard": "s0", "facet": "speech", "variant": 0, "text": "None", "absent": True, "words": 1,
         "token_ids": [99], "domain": "00A"},
        {"key": k2, "shard": "s0", "facet": "short", "variant": 0, "text": "rain", "absent": False, "words": 1,
         "token_ids": [7], "domain": "S0A"},
        {"key": silent, "shard": "s0", "facet": "long", "variant": 0, "text": "Silence", "absent": False, "words": 1,
         "token_ids": [50], "domain": "000"},
        {"key": undecoded, "shard": "s0", "facet": "long", "variant": 0, "text": "wind", "absent": False,
         "words": 1, "token_ids": [51], "domain": "00A"},
    ]
    storage.write_table(pa.Table.from_pylist(rows, schema=CAPTION_TOKENS_SCHEMA),
                        DataLayout(root).table("caption_tokens", "s0"))
    database = str(tmp_path / "warehouse.duckdb")
    sql_runner.build(SQL_MODELS_DIR, database, sources(DataLayout(root)), {"dataset_name": "test"})
    stats = sql_runner.query(database, "SELECT * FROM dataset_stats").to_pylist()[0]
    assert stats["captioned_samples"] == 4
    # released: curated, decoded, not 000; captions and tokens count the released clips (99 is absent)
    assert (stats["released_samples"], stats["captions"], stats["unique_tokens"]) == (2, 3, 4)
    assert stats["released_hours"] == pytest.approx(20 / 3600)
    facets = {r["facet"]: r for r in sql_runner.query(database, "SELECT * FROM caption_stats").to_pylist()}
    assert facets["long"]["unique_tokens"] == 5 and facets["long"]["mean_words"] == 1.75 and "speech" not in facets


def test_a_reader_in_another_process_never_blocks_a_rebuild(tmp_path):
    """The warehouse is built into a copy and swapped in: a process holding the file open (the
    CLI's `stats`, the UI, another roll-up) no longer makes the next build fail on DuckDB's lock."""
    import subprocess
    import sys

    root = str(tmp_path / "data")
    storage.write_table(clip_rows("s0", ["ok", "ok"]), DataLayout(root).table("clips", "s0"))
    database = str(tmp_path / "warehouse.duckdb")
    sql_runner.build(SQL_MODELS_DIR, database, sources(DataLayout(root)), {"dataset_name": "test"})
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
         "print(con.execute('SELECT samples FROM dataset_stats').fetchone()[0], flush=True); sys.stdin.read()", database],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "2"  # the reader holds the file open
        storage.write_table(clip_rows("s1", ["ok"] * 3), DataLayout(root).table("clips", "s1"))
        sql_runner.build(SQL_MODELS_DIR, database, sources(DataLayout(root)), {"dataset_name": "test"})
    finally:
        holder.communicate("", timeout=30)
    assert sql_runner.query(database, "SELECT samples FROM dataset_stats").to_pylist()[0]["samples"] == 5
    assert not list(tmp_path.glob(".warehouse.duckdb.tmp-*"))
