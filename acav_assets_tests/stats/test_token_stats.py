"""Qwen3 token statistics: known answers on tiny texts, absent facets, the MECAT references."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from acav_assets.io.markdown import markdown_table
from acav_assets.io.storage import sha256_file
from acav_assets.stats.caption_corpora import CAPTION_SCHEMA, read_acav_jsonl
from acav_assets.stats.token_stats import (
    QWEN3_TOKENIZER_SHA256,
    dataset_statistics,
    facet_statistics,
    load_qwen3_tokenizer,
    qwen3_tokenizer_path,
    token_id_table,
)
from acav_assets_tests.reference_data import MECAT_CAPTIONS

MECAT_FILES = sorted(MECAT_CAPTIONS.glob("*.jsonl"))


def captions(rows: list[tuple]) -> pa.Table:
    """(dataset, key, facet, text, duration_s, absent) tuples -> a caption table."""
    names = ["dataset", "key", "facet", "text", "duration_s", "absent"]
    cols = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    cols["variant"] = [0] * len(rows)
    cols["domain"] = [None] * len(rows)
    return pa.table({n: cols[n] for n in CAPTION_SCHEMA.names}, schema=CAPTION_SCHEMA)


def distinct_ids(*texts: str) -> set[int]:
    tok = load_qwen3_tokenizer()
    return {i for t in texts for i in tok.encode(t, add_special_tokens=False).ids}


def test_tokenizer_checksum_and_vocab() -> None:
    assert sha256_file(qwen3_tokenizer_path()) == QWEN3_TOKENIZER_SHA256
    tok = load_qwen3_tokenizer()
    assert tok is load_qwen3_tokenizer()
    assert tok.get_vocab_size(with_added_tokens=True) == 151_669


def test_token_id_table_matches_encode() -> None:
    texts = ["a dog barks", "", "Rain 123 on a roof", "a dog"]
    table = token_id_table(texts, batch_size=3)
    assert table.schema == pa.schema([("row", pa.int64()), ("token_id", pa.int32())])
    tok = load_qwen3_tokenizer()
    expected = [(r, i) for r, t in enumerate(texts) for i in tok.encode(t, add_special_tokens=False).ids]
    assert list(zip(table["row"].to_pylist(), table["token_id"].to_pylist())) == expected
    assert token_id_table([]).num_rows == 0


def test_dataset_statistics_known_answer() -> None:
    table = captions([
        ("toy", "k1", "caption", "a dog barks", 10.0, False),
        ("toy", "k2", "caption", "a dog", 5.0, False),
        ("toy", "k2", "speech", "None", 5.0, True),
        ("toy", "k2", "speech", "Absence of verbal communication", 5.0, True),
        ("other", "x", "caption", "wind", None, False),
    ])
    con = duckdb.connect()
    stats = {r["dataset"]: r for r in dataset_statistics(table, con).to_pylist()}
    toy = stats["toy"]
    assert toy["samples"] == 2 and toy["captions"] == 2
    assert toy["hours"] == pytest.approx(15 / 3600)
    assert toy["unique_tokens"] == len(distinct_ids("a dog barks", "a dog"))
    assert toy["mean_words"] == pytest.approx(2.5)
    assert stats["other"]["hours"] is None and stats["other"]["unique_tokens"] == len(distinct_ids("wind"))
    # absent-content texts are left out of unique_tokens and counted in unique_tokens_all
    everything = distinct_ids("a dog barks", "a dog", "None", "Absence of verbal communication")
    assert toy["unique_tokens_all"] == len(everything) > toy["unique_tokens"]
    assert stats["other"]["unique_tokens_all"] == stats["other"]["unique_tokens"]
    facets = facet_statistics(table, con).to_pylist()
    assert [(f["dataset"], f["facet"], f["captions"]) for f in facets] == [
        ("other", "caption", 1), ("toy", "caption", 2)]
    assert facets[1]["p50_words"] == pytest.approx(2.5) and facets[1]["p90_words"] == pytest.approx(2.9)
    assert con.sql("SHOW TABLES").fetchall() == []  # registered tables are cleaned up


@pytest.mark.skipif(len(MECAT_FILES) != 6, reason="MECAT reference files not present")
def test_mecat_reference_statistics() -> None:
    per_file = pa.concat_tables(read_acav_jsonl(f, f"MECAT/{f.stem}") for f in MECAT_FILES)
    overall = read_acav_jsonl(MECAT_FILES, "MECAT (all)")
    stats = pa.concat_tables([dataset_statistics(per_file), dataset_statistics(overall)])
    print("\n" + markdown_table(stats))
    print(markdown_table(facet_statistics(overall)))
    rows = {r["dataset"]: r for r in stats.to_pylist()}
    for f in MECAT_FILES:
        lines = sum(1 for line in f.open() if line.strip())
        row = rows[f"MECAT/{f.stem}"]
        assert row["samples"] == lines
        assert row["hours"] == pytest.approx(lines * 10 / 3600, rel=0.03)
        assert 0 < row["unique_tokens"] <= rows["MECAT (all)"]["unique_tokens"]
        assert row["unique_tokens"] <= row["unique_tokens_all"] <= rows["MECAT (all)"]["unique_tokens_all"]
    assert rows["MECAT (all)"]["samples"] == sum(rows[f"MECAT/{f.stem}"]["samples"] for f in MECAT_FILES)


@pytest.mark.skipif(not MECAT_FILES, reason="MECAT reference files not present")
def test_both_unique_token_counts_on_real_mecat_lines() -> None:
    """unique_tokens_all adds exactly the ids that only absent-content variants use."""
    table = read_acav_jsonl(MECAT_FILES[0], "MECAT")
    rows = table.to_pylist()
    present = distinct_ids(*[r["text"] for r in rows if not r["absent"]])
    absent = distinct_ids(*[r["text"] for r in rows if r["absent"]])
    stats = dataset_statistics(table).to_pylist()[0]
    assert absent and stats["unique_tokens"] == len(present)
    assert stats["unique_tokens_all"] == len(present | absent)
