"""Table 1 of the ACAVCaps paper: hours, samples and unique Qwen3 tokens of caption datasets,
counted the same way for this dataset and for any published one named on the command line or in
the settings, beside the paper's own rows.

Unique tokens are given both ways: ``unique_tokens_all`` over every caption variant (what the
paper counts, see the README) and ``unique_tokens`` over variants that describe present content
(absent-content variants such as ``"No discernible speech content"`` left out).

To add a dataset format, add a reader to ``stats/caption_corpora.py`` (``read_corpus``)."""

from __future__ import annotations

import pyarrow as pa

from acav_assets.contracts.layout import DataLayout
from acav_assets.io.markdown import rows_table
from acav_assets.stats.caption_corpora import read_corpus
from acav_assets.stats.streaming_counts import table1_row
from acav_assets.stats.token_stats import caption_tokens, dataset_statistics

COMPARISON_SCHEMA = pa.schema([
    pa.field("dataset", pa.string()), pa.field("hours", pa.float64()), pa.field("samples", pa.int64()),
    pa.field("captions", pa.int64()),
    pa.field("unique_tokens", pa.int64(), metadata={"description": "Qwen3 tokens of variants describing present content"}),
    pa.field("unique_tokens_all", pa.int64(), metadata={"description": "Qwen3 tokens of every caption variant"}),
    pa.field("mean_words", pa.float64()),
])

# The paper's Table 1 (dataset, hours, samples, unique Qwen3 tokens), as printed.
PAPER_TABLE_1 = [
    ("AudioCaps", "135", "50k", "5.5k"), ("Clotho", "24", "3.8k", "5.5k"), ("SongDescriber", "12", "0.4k", "2.4k"),
    ("MusicCaps", "7", "4.6k", "4.6k"), ("LPMusicCaps", "127", "21.6k", "5.1k"), ("WavCaps", "1.8k", "0.4M", "23.1k"),
    ("Auto-ACD", "5.2k", "1.9M", "20.3k"), ("Sound-VeCaps", "4.5k", "1.6M", "42.7k"),
    ("AudioSetCaps", "5.6k", "2.0M", "20.9k"), ("ACAVCaps", "13.0k", "4.7M", "76.7k"),
]


def paper_table_markdown() -> str:
    return rows_table(["dataset (paper)", "hours", "samples", "unique tokens"], PAPER_TABLE_1)


def our_row(layout: DataLayout, dataset_name: str) -> pa.Table:
    """Table 1's row of this dataset's released captions (curated, decoded, not ``000``), counted in
    DuckDB over every shard's ``caption_tokens`` Parquet (:func:`streaming_counts.table1_row`):
    memory does not grow with the corpus."""
    return table1_row(layout, dataset_name).cast(COMPARISON_SCHEMA)


def comparison(layout: DataLayout, dataset_name: str, specs: list[str]) -> pa.Table:
    """Table 1 rows of this dataset and of every ``NAME=FORMAT:PATH`` in ``specs`` (published
    datasets are small: they are read and tokenised in memory), sorted by dataset."""
    parts = [our_row(layout, dataset_name)]
    if specs:
        captions = pa.concat_tables([read_corpus(spec) for spec in specs])
        stats = dataset_statistics(captions, tokens=caption_tokens(captions))
        parts.append(stats.select(COMPARISON_SCHEMA.names).cast(COMPARISON_SCHEMA))
    return pa.concat_tables(parts).sort_by("dataset")
