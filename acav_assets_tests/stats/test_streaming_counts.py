"""Table 1 and the release counts streamed in DuckDB over the Parquet equal the in-memory Python
counts (kept here only as the oracle) on a small generated corpus with every edge case: 000 clips,
clips that failed to decode, captions not curated, absent-content facets, rows over two shards."""

from __future__ import annotations

import pyarrow as pa
import pytest

from acav_assets.captions.schema import FACETS
from acav_assets.captions.table import CAPTIONS_SCHEMA
from acav_assets.contracts.layout import DataLayout
from acav_assets.curation.corpus_dedup import DUPLICATES_SCHEMA
from acav_assets.curation.release import released_keys
from acav_assets.ingest.clip_decoding import clip_durations
from acav_assets.io import storage
from acav_assets.stats import streaming_counts, table1
from acav_assets.stats.caption_corpora import CAPTION_SCHEMA
from acav_assets.stats.token_stats import (
    caption_token_rows,
    caption_tokens,
    dataset_statistics,
)
from acav_assets_tests.fixtures import clip_rows

NAME = "acav"
WORDS = ["a", "dog", "barks", "rain", "on", "the", "roof", "piano", "melody", "crowd", "cheering", "Ωmega", "42"]


def oracle_row(layout: DataLayout, dataset_name: str) -> list[dict]:
    """Table 1's row as the former in-memory implementation counted it (every row in Python)."""
    tokens = storage.read_partitions(layout.root, "caption_tokens")
    durations = clip_durations(layout.root)
    released = released_keys(layout)
    rows = [] if tokens is None else [
        {"dataset": dataset_name, "key": r["key"], "facet": r["facet"], "variant": r["variant"],
         "text": r["text"], "duration_s": durations.get(r["key"]), "absent": r["absent"], "domain": r["domain"]}
        for r in tokens.select(["key", "facet", "variant", "text", "absent", "domain"]).to_pylist()
        if r["key"] in released
    ]
    captions = pa.Table.from_pylist(rows, schema=CAPTION_SCHEMA)
    stats = dataset_statistics(captions, tokens=caption_tokens(captions))
    return stats.select(table1.COMPARISON_SCHEMA.names).to_pylist()


def caption(key: str, shard: str, domain: str, index: int, status: str = "ok") -> dict:
    def text(facet: str, variant: int) -> str:
        start = (index * 7 + len(facet) * 3 + variant) % len(WORDS)
        return " ".join(WORDS[(start + i) % len(WORDS)] for i in range(2 + (index + variant) % 5))

    row = {"key": key, "shard": shard, "domain": domain, "status": status}
    for facet in FACETS:
        absent = facet == "speech" and domain[0] == "0"
        row[facet] = ["None", "No discernible speech content", "None"] if absent else [text(facet, v) for v in range(3)]
    return row


def write_corpus(root: str) -> DataLayout:
    """Two shards: decoded and failed clips, curated rows of every domain (000 too), a failed
    caption, caption tokens for a clip that curation dropped, and a corpus-wide duplicate."""
    layout = DataLayout(root)
    for shard, statuses in (("s0", ["ok", "ok", "ok", "error", "ok"]), ("s1", ["ok", "ok", "ok", "ok"])):
        clips = clip_rows(shard, statuses)
        storage.write_table(clips, layout.table("clips", shard))
        keys = clips["key"].to_pylist()
        domains = ["s00", "0m0", "000", "ss0", "00s", "smm", "0ms", "000", "s0s"]
        curated = [caption(key, shard, domains[(i + len(shard)) % len(domains)], i) for i, key in enumerate(keys)]
        if shard == "s1":
            curated[1]["status"] = "error"
        storage.write_table(pa.Table.from_pylist(curated[:-1], schema=CAPTIONS_SCHEMA),
                            layout.table("curated_captions", shard))
        # The last clip's tokens exist although curation dropped it: not released.
        storage.write_table(caption_token_rows(curated, shard, FACETS), layout.table("caption_tokens", shard))
    # A corpus-wide duplicate of a released clip: left out of the release.
    storage.write_table(pa.Table.from_pylist([{"key": "s1_2_0_10", "duplicate_of": "s0_1_0_10", "kind": "exact",
                                               "similarity": 1.0}], schema=DUPLICATES_SCHEMA),
                        layout.table("corpus_duplicates"))
    return layout


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> DataLayout:
    return write_corpus(str(tmp_path_factory.mktemp("streaming") / "data"))


def test_table1_streamed_equals_the_in_memory_count(corpus):
    streamed = table1.comparison(corpus, NAME, []).to_pylist()
    expected = oracle_row(corpus, NAME)
    assert len(streamed) == 1 and len(expected) == 1
    (row,), (want,) = streamed, expected
    assert row["mean_words"] == pytest.approx(want["mean_words"])
    assert {k: v for k, v in row.items() if k != "mean_words"} == {k: v for k, v in want.items() if k != "mean_words"}
    # The corpus exercises both ways of counting tokens and leaves clips out.
    assert row["unique_tokens_all"] > row["unique_tokens"] > 0
    assert row["samples"] == len(released_keys(corpus)) < 9
    assert table1.comparison(corpus, NAME, []).schema == table1.COMPARISON_SCHEMA


def test_release_counts_streamed_equal_python_sets(corpus):
    assert streaming_counts.released_key_count(corpus) == len(released_keys(corpus)) == 2
    assert streaming_counts.clip_status_counts(corpus) == (8, 9)


def test_empty_data_root_has_no_row(tmp_path):
    layout = DataLayout(str(tmp_path / "data"))
    assert table1.comparison(layout, NAME, []).num_rows == 0
    assert streaming_counts.released_key_count(layout) == 0
    assert streaming_counts.clip_status_counts(layout) == (0, 0)


def test_memory_limit_and_spill_folder_reach_duckdb(monkeypatch, tmp_path):
    monkeypatch.setenv(streaming_counts.MEMORY_LIMIT_ENV, "300MB")
    monkeypatch.setenv(streaming_counts.THREADS_ENV, "1")
    with streaming_counts.connect(temp_directory=str(tmp_path / "spill")) as con:
        limit, threads, spill = con.execute("SELECT current_setting('memory_limit'), current_setting('threads'), "
                                        "current_setting('temp_directory')").fetchone()
    assert limit.startswith("286") and threads == 1 and spill.endswith("spill")
