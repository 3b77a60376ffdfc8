"""Every place that counts released clips counts the same ones: the release files, index.json,
the publish summary, Table 1 and the DuckDB dataset_stats (000 clips are curated, not released)."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from acav_assets.captions.schema import FACETS
from acav_assets.contracts.layout import DataLayout
from acav_assets.curation import release
from acav_assets.io import storage
from acav_assets.stats import table1, warehouse
from acav_assets.stats.token_stats import caption_token_rows
from acav_assets_tests.curation.test_release_publish import curate

NAME = "acav"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Nine curated clips (two of them 000) over two shards, published, with Table 1 and DuckDB."""
    layout = DataLayout(str(tmp_path_factory.mktemp("counts") / "data"))
    curate(layout, 9)
    for shard in ("shard-0", "shard-1"):
        rows = storage.read_table(layout.table("curated_captions", shard)).to_pylist()
        storage.write_table(caption_token_rows(rows, shard, FACETS), layout.table("caption_tokens", shard))
    summary = release.publish(layout, clips_per_shard=3)
    storage.write_table(table1.comparison(layout, NAME, []), layout.table("dataset_comparison"))
    database = str(layout.root) + "/warehouse.duckdb"
    warehouse.build(layout, database, {"dataset_name": NAME})
    return layout, database, summary


def test_every_place_counts_the_released_clips(built):
    layout, database, summary = built
    counts = warehouse.release_counts(layout, NAME, database)
    assert counts == {"expected": 7, "caption_files": 7, "parquet": 7, "hub_captions": 7, "index": 7,
                      "webdataset": 7, "table_1": 7, "dataset_stats": 7}
    assert summary["clips"] == 7 and summary["lines_per_domain"]["000_skipped"] == 2
    assert warehouse.count_problems(counts) == [] and not any(release.round_trip_problems(layout).values())
    report = warehouse.check_statistics(database, layout)
    assert report.success, report.describe()


def test_a_place_that_counts_the_silent_clips_is_caught(built, tmp_path):
    layout, database, _ = built
    # Table 1 as it was: every curated clip, 000 included (9 instead of 7)
    comparison = layout.table("dataset_comparison")
    good = storage.read_table(comparison)
    storage.write_table(good.set_column(good.schema.get_field_index("samples"), "samples",
                                        pa.array([9], pa.int64())), comparison)
    try:
        counts = warehouse.release_counts(layout, NAME, database)
        assert warehouse.count_problems(counts) == ["table_1 counts 9 released clips, expected 7"]
        report = warehouse.check_statistics(database, layout)
        assert not report.success and "table_1 counts 9" in report.describe()
    finally:
        storage.write_table(good, comparison)


def test_round_trip_reports_an_index_whose_count_differs(built):
    layout, _, _ = built
    index = layout.release_folder() / release.INDEX
    original = index.read_text()
    try:
        index.write_text(json.dumps({**json.loads(original), "clips": 9}))
        assert release.round_trip_problems(layout)["counts"] == ["index counts 9 clips, the caption files 7"]
    finally:
        index.write_text(original)
