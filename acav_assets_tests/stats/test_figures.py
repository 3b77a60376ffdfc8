"""The figures: each draws a Markdown PNG, its data summary holds the right numbers, empty input
draws "no data", and the DuckDB queries feeding them agree with counts made by hand."""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from acav_assets.contracts.layout import DataLayout
from acav_assets.evaluation.table2 import PAPER_TABLE2, TABLE2_COLUMNS
from acav_assets.experts import routing_calibration as rc
from acav_assets.experts.routing import RoutingThresholds, confusion_matrix
from acav_assets.stats import figures, plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MARKDOWN = re.compile(r"!\[([^\]]*)\]\(data:image/png;base64,[A-Za-z0-9+/=]+\)")


def alt_text(markdown: str) -> str:
    """The image's alt text, after checking the whole string is one small Markdown PNG."""
    match = MARKDOWN.fullmatch(markdown)
    assert match, markdown[:80]
    png = plots.png_bytes(markdown)
    assert png.startswith(PNG_SIGNATURE) and len(png) < 200_000
    return match.group(1)


def shows_data(markdown: str) -> bool:
    return not alt_text(markdown).endswith(plots.NO_DATA)


PAIRS = {("S00", "S00"): 5, ("S00", "SM0"): 2, ("0M0", "0M0"): 3, ("SMA", "0MA"): 1, (None, "S00"): 9,
         ("0M0", "S00"): 0}


def test_confusion_grid_holds_the_input_pairs():
    rows, columns, grid = figures.confusion_grid(PAIRS)
    assert rows == ["0M0", "S00", "SMA"]  # canonical domain order; no recorded domain left out
    assert columns == ["0M0", "0MA", "S00", "SM0"]
    cells = {(r, c): int(grid[i, j]) for i, r in enumerate(rows) for j, c in enumerate(columns) if grid[i, j]}
    assert cells == {pair: n for pair, n in PAIRS.items() if pair[0] and n}
    assert shows_data(figures.routing_confusion(PAIRS))


def test_confusion_from_a_routing_matrix():
    recorded = ["S00", "S00", "0M0", "00A", None]
    routed = ["S00", "SM0", "0M0", "0M0", "S00"]
    matrix, _ = confusion_matrix(recorded, routed)
    assert figures.matrix_counts(matrix) == {("S00", "S00"): 1, ("S00", "SM0"): 1, ("0M0", "0M0"): 1,
                                             ("00A", "0M0"): 1}


def test_curation_funnel_steps():
    drops = {"caption_failed": 2, "duplicate": 3, "low_confidence": 10, "made_up_reason": 1}
    steps = figures.curation_funnel_steps(100, 95, 93, drops, 70, reason_order=("caption_failed", "low_confidence",
                                                                                "duplicate"))
    assert steps == [("clips", 100), ("decoded", 95), ("captioned", 93), ("- low_confidence", 83),
                     ("- duplicate", 80), ("- made_up_reason", 79), ("released", 70)]
    assert shows_data(figures.curation_funnel(steps))


def test_acoustic_boxes_and_plot():
    values = [-30.0, -20.0, None, float("nan"), -10.0, -25.0, -15.0]
    box = figures.box_stats(values)
    assert box.n == 5
    assert box.quantiles[2] == -20.0 and box.quantiles[1] == -25.0 and box.quantiles[3] == -15.0
    assert figures.box_stats([None, float("inf")]) is None
    boxes = {"loudness_lufs": {"S00": box, "0M0": figures.box_stats([-40, -35]), "SMA": None}, "snr_db": {}}
    assert shows_data(figures.acoustics_by_domain(boxes))


def test_llm_use_plot():
    shards = [figures.ShardLlmUse(f"s{i:03d}", 10, 1000 * i, 300, i % 3) for i in range(40)]
    assert shows_data(figures.llm_use_per_shard(shards))
    assert shows_data(figures.llm_use_per_shard(shards[:3]))


def test_date_series_put_the_paper_beside_each_system():
    systems = {"mine": {**dict.fromkeys(TABLE2_COLUMNS, 40.0), "pure_music": None}, "another": {"score": 12.5}}
    series = figures.date_series(systems)
    assert list(series) == ["ACAVCaps (paper)", "another", "mine"]
    assert series["ACAVCaps (paper)"] == list(PAPER_TABLE2["ACAVCaps"])
    assert series["mine"][TABLE2_COLUMNS.index("pure_music")] is None
    assert series["another"] == [None] * (len(TABLE2_COLUMNS) - 1) + [12.5]
    assert shows_data(figures.date_by_group(systems))


@pytest.mark.parametrize("figure, empty", [
    (figures.routing_confusion, {}), (figures.routing_confusion, {(None, "S00"): 4}),
    (figures.curation_funnel, []), (figures.acoustics_by_domain, {}),
    (figures.acoustics_by_domain, {"snr_db": {"S00": None}}), (figures.llm_use_per_shard, []),
    (figures.date_by_group, {}),
])
def test_empty_input_says_no_data(figure, empty):
    assert alt_text(figure(empty)).endswith(": no data")


def warehouse_and_layout(tmp_path) -> tuple[str, DataLayout]:
    """A DuckDB file with the tables the figures query, and captions/curation_drops Parquet of two shards."""
    rng = np.random.default_rng(0)
    keys = [f"k{i}" for i in range(12)]
    routed = ["S00"] * 6 + ["0M0"] * 4 + ["SMA"] * 2
    recorded = ["S00"] * 5 + ["SM0"] + ["0M0"] * 3 + [None] + ["SMA", "S00"]
    database = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(database) as con:
        for name, table in {
            "clips": pa.table({"key": keys}),
            "routing": pa.table({"key": keys, "domain": routed, "recorded_domain": recorded,
                                 "status": ["ok"] * 11 + ["error"]}),
            "acoustics": pa.table({"key": keys, "status": ["ok"] * 12, "loudness_lufs": rng.normal(-23, 5, 12),
                                   "snr_db": [None] * 2 + list(rng.uniform(0, 40, 10)),
                                   "bandwidth_hz": rng.uniform(4000, 16000, 12)}),
            "dataset_stats": pa.table({"clips_planned": [14], "samples": [12], "released_samples": [6]}),
        }.items():
            con.register("arrow", table)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM arrow")
            con.unregister("arrow")
    layout = DataLayout(str(tmp_path / "data"))
    for shard, rows in {"a": keys[:6], "b": keys[6:]}.items():
        folder = tmp_path / "data" / "captions"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"key": rows, "shard": [shard] * 6, "status": ["ok"] * 5 + ["error"],
                                 "prompt_tokens": [100] * 5 + [None], "completion_tokens": [40] * 6}),
                       folder / f"{shard}.parquet")
    drops = tmp_path / "data" / "curation_drops"
    drops.mkdir()
    pq.write_table(pa.table({"key": ["k5", "k11", "k0", "k1", "k7"], "reason": ["caption_failed", "caption_failed",
                                                                                 "low_confidence", "duplicate",
                                                                                 "low_confidence"]}),
                   drops / "a.parquet")
    return database, layout


def test_queries_over_the_warehouse(tmp_path):
    database, layout = warehouse_and_layout(tmp_path)
    # Routing status error (k11) and no recorded domain (k9) are left out.
    assert figures.routing_pairs(database) == {("S00", "S00"): 5, ("SM0", "S00"): 1, ("0M0", "0M0"): 3,
                                               ("SMA", "SMA"): 1}
    assert figures.funnel_steps(database, layout) == [
        ("clips", 14), ("decoded", 12), ("captioned", 10), ("- low_confidence", 8), ("- duplicate", 7),
        ("released", 6)]
    assert figures.llm_use(layout) == [figures.ShardLlmUse("a", 6, 500, 240, 1), figures.ShardLlmUse("b", 6, 500, 240, 1)]
    boxes = figures.acoustic_boxes(database)
    with duckdb.connect(database, read_only=True) as con:
        snr_s00 = [r[0] for r in con.execute("SELECT snr_db FROM acoustics JOIN routing USING (key) "
                                              "WHERE routing.domain = 'S00' AND routing.status = 'ok'").fetchall()]
    expected = figures.box_stats(snr_s00)
    assert boxes["snr_db"]["S00"].n == expected.n == 4
    assert boxes["snr_db"]["S00"].quantiles == pytest.approx(expected.quantiles)
    assert sorted(boxes["loudness_lufs"]) == ["0M0", "S00", "SMA"]
    shown = figures.dataset_figures(database, layout)
    assert sorted(shown) == ["acoustics_by_domain", "curation_funnel", "llm_use_per_shard", "routing_confusion"]
    assert all(shows_data(markdown) for markdown in shown.values())


def test_queries_before_any_caption(tmp_path):
    database, _ = warehouse_and_layout(tmp_path)
    empty = DataLayout(str(tmp_path / "nothing_yet"))
    assert figures.llm_use(empty) == []
    assert figures.funnel_steps(database, empty)[2] == ("captioned", 0)
    assert not shows_data(figures.dataset_figures(database, empty)["llm_use_per_shard"])


def test_calibration_writes_the_confusion_heatmap_beside_the_thresholds(tmp_path):
    path = str(tmp_path / "routing_thresholds.json")
    matrix, _ = confusion_matrix(["S00", "S00", "0M0"], ["S00", "0M0", "0M0"])
    image = rc.write_thresholds_file(path, RoutingThresholds(), {"manifest": "m.csv"}, confusion=matrix)
    assert image == tmp_path / "routing_thresholds.confusion.png"
    assert image.read_bytes().startswith(PNG_SIGNATURE)
    assert rc.write_thresholds_file(str(tmp_path / "other.json"), RoutingThresholds(), {}) is None
    assert not (tmp_path / "other.confusion.png").exists()
