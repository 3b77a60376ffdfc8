"""Corpus-wide duplicate captions: the cross-shard counterpart of the within-shard filter.

The within-shard filter (:mod:`acav_assets.curation.filters`) drops a clip whose PCM equals an
earlier clip's, or whose caption nearly equals that of an overlapping window of the same source.
It never sees two shards at once, so the same source window ingested in two shards (a re-crawl, a
manifest listed twice) survives in both. This module finds those pairs over every shard.

**The rule.** Two released-candidate clips (curated, domain not ``000``) are duplicates when

1. their first ``long`` captions match: equal after lower-casing and collapsing whitespace
   (``exact``), or word-bigram Jaccard >= ``min_jaccard`` (``near``, default 0.7: one word
   replaced mid-caption gives 0.75 in a 15-word caption, 0.64 in a 10-word one), *and*
2. they are the same audio material: equal PCM sha256 (``checksum`` of the clips table), or the
   same ``source_id`` with windows overlapping by >= ``min_window_overlap`` of the shorter one.

Caption similarity alone is not enough: generic captions ("A dog barks.", "A man speaks.") recur
across thousands of unrelated clips, and removing them would remove real, distinct audio. Those
caption-only matches are kept; the summary counts every clip whose caption matches another's
(``caption_matched_rows``) next to the ``duplicates`` removed.

**Which copy wins.** Clips are ranked by mean ``long`` + ``short`` confidence (highest first),
then by key; walking that ranking, a clip is dropped when it is a duplicate of a clip already kept,
and points at the best-ranked such clip. The ranking is global, so the result does not depend on
the order of the shards or of the rows in them.

**How (bounded memory).** One pass over the shards (one shard's rows in memory at a time) keeps,
per clip, a small Arrow row (key, text hash, source window, checksum, confidence), and per distinct
normalised caption a MinHash signature (``PERMUTATIONS`` 32-bit values over hashed word bigrams)
reduced to ``BANDS`` band hashes for LSH. Distinct captions sharing a band are candidates; a second
pass reads only the candidates' captions and keeps pairs whose true Jaccard reaches
``min_jaccard``. Exact and near caption pairs are joined to the clip rows in DuckDB under rule 2.
Memory grows with the number of distinct captions (``BANDS`` x 8 bytes plus a hash index each) and
clips (about 100 bytes each), never with the caption texts."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import duckdb
import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from acav_assets.contracts.domains import SILENT_DOMAIN
from acav_assets.contracts.layout import DataLayout
from acav_assets.io import storage

PERMUTATIONS = 100
BANDS = 20  # 20 bands of 5 rows: a pair at Jaccard 0.7 becomes a candidate with probability 0.975
SHINGLE_WORDS = 2
_BATCH = 2048  # captions hashed together (bounds the shingle x permutation matrix)

DUPLICATES_SCHEMA = pa.schema([
    pa.field("key", pa.string(), nullable=False), pa.field("duplicate_of", pa.string(), nullable=False),
    pa.field("kind", pa.string(), nullable=False), pa.field("similarity", pa.float64(), nullable=False),
])
_CLIP_SCHEMA = pa.schema([
    pa.field("key", pa.string()), pa.field("text_hash", pa.int64()), pa.field("source_id", pa.string()),
    pa.field("start_s", pa.float64()), pa.field("end_s", pa.float64()), pa.field("checksum", pa.string()),
    pa.field("confidence", pa.float64()),
])

_rng = np.random.default_rng(20240611)  # fixed: signatures are the same in every run
_MULTIPLIERS = (_rng.integers(1, 2**63, PERMUTATIONS, dtype=np.uint64) << np.uint64(1)) | np.uint64(1)
_OFFSETS = _rng.integers(0, 2**63, PERMUTATIONS, dtype=np.uint64)
_BAND_MIXERS = (_rng.integers(1, 2**63, PERMUTATIONS, dtype=np.uint64) << np.uint64(1)) | np.uint64(1)


@dataclass(frozen=True)
class DedupSettings:
    min_jaccard: float = 0.7
    min_window_overlap: float = 0.5  # as the within-shard filter's default


def normalised(text: str) -> str:
    return " ".join(str(text or "").lower().split())


def text_hash(text: str) -> int:
    """Signed 64-bit hash of the normalised text (stable across runs and machines)."""
    return int.from_bytes(hashlib.blake2b(normalised(text).encode(), digest_size=8).digest(), "little", signed=True)


def shingles(text: str) -> set[str]:
    """Word ``SHINGLE_WORDS``-grams of the normalised text (the text itself when shorter)."""
    words = normalised(text).split()
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words)}
    return {" ".join(words[i:i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def minhash(texts: list[str]) -> np.ndarray:
    """``len(texts)`` x ``PERMUTATIONS`` uint32 MinHash signatures of the texts' shingles
    (multiply-shift hashing of each shingle's crc32)."""
    out = np.empty((len(texts), PERMUTATIONS), dtype=np.uint32)
    for start in range(0, len(texts), _BATCH):
        batch = [sorted(shingles(t)) for t in texts[start:start + _BATCH]]
        lengths = np.fromiter((len(s) for s in batch), dtype=np.int64, count=len(batch))
        hashed = np.fromiter((zlib.crc32(s.encode()) for group in batch for s in group), dtype=np.uint64,
                             count=int(lengths.sum()))
        permuted = np.multiply(hashed[:, None], _MULTIPLIERS)
        permuted += _OFFSETS
        permuted >>= np.uint64(32)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        out[start:start + len(batch)] = np.minimum.reduceat(permuted, starts, axis=0)
    return out


def band_hashes(signatures: np.ndarray) -> np.ndarray:
    """n x ``BANDS`` int64 hashes, one per band of ``PERMUTATIONS // BANDS`` signature values."""
    mixed = signatures.astype(np.uint64) * _BAND_MIXERS
    return mixed.reshape(len(signatures), BANDS, -1).sum(axis=2, dtype=np.uint64).view(np.int64)


def candidate_pairs(bands: np.ndarray) -> np.ndarray:
    """(i, j), i < j, of rows sharing at least one band hash; m x 2 int64, sorted, unique."""
    found = []
    for band in range(bands.shape[1]):
        order = np.argsort(bands[:, band], kind="stable")
        values = bands[order, band]
        starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
        sizes = np.diff(np.append(starts, len(values)))
        pairs_of_two = starts[sizes == 2]
        found.append(np.stack([order[pairs_of_two], order[pairs_of_two + 1]], axis=1))
        for start, size in zip(starts[sizes > 2].tolist(), sizes[sizes > 2].tolist()):
            group = order[start:start + size]
            i, j = np.triu_indices(size, k=1)
            found.append(np.stack([group[i], group[j]], axis=1))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.sort(np.concatenate(found).astype(np.int64), axis=1)
    return np.unique(pairs, axis=0) if len(pairs) else pairs


def mean_confidence(row: Mapping) -> float:
    values = [float(c) for f in ("long", "short") for c in (row.get(f"{f}_confidence") or []) if c is not None]
    return sum(values) / len(values) if values else 0.0


def _long0(row: Mapping) -> str:
    return str((row.get("long") or [""])[0] or "")


class _Signatures:
    """Distinct normalised captions: their hashes in first-seen order and LSH band hashes."""

    def __init__(self):
        self.index: dict[int, int] = {}
        self.bands: list[np.ndarray] = []

    def add(self, texts: list[str]) -> list[int]:
        hashes = [text_hash(t) for t in texts]
        new = {}
        for h, t in zip(hashes, texts):
            if h not in self.index and h not in new:
                new[h] = t
        if new:
            base = len(self.index)
            self.index.update({h: base + n for n, h in enumerate(new)})
            self.bands.append(band_hashes(minhash(list(new.values()))))
        return hashes


def _clip_rows(rows: list[dict], clips: Mapping[str, Mapping], hashes: list[int]) -> pa.Table:
    records = []
    for row, h in zip(rows, hashes):
        clip = clips.get(row["key"]) or {}
        start, end, duration = clip.get("start_s"), clip.get("end_s"), clip.get("duration_s")
        if end is None and start is not None and duration is not None:
            end = start + duration
        records.append({"key": row["key"], "text_hash": h, "source_id": clip.get("source_id"), "start_s": start,
                        "end_s": end, "checksum": clip.get("checksum"), "confidence": mean_confidence(row)})
    return pa.Table.from_pylist(records, schema=_CLIP_SCHEMA)


ShardRows = tuple[list[dict], Mapping[str, Mapping]]  # (curated rows, key -> clip row) of one shard


def _read_columns(url: str, columns: list[str]) -> list[dict]:
    """The named columns (those present) of one Parquet file, as rows."""
    fs, path = fsspec.core.url_to_fs(url)
    present = set(pq.read_schema(path, filesystem=fs).names)
    return pq.read_table(path, columns=[c for c in columns if c in present], filesystem=fs).to_pylist()


def shards_of(layout: DataLayout, with_clips: bool = True) -> Iterator[ShardRows]:
    """Each shard's curated rows (only the columns dedup needs) and decoded clips (with
    ``with_clips``), one shard at a time."""
    wanted = ["key", "domain", "long", "long_confidence", "short_confidence"]
    clip_columns = ["key", "source_id", "start_s", "end_s", "duration_s", "checksum", "status"]
    for shard in storage.list_partitions(layout.root, "curated_captions"):
        rows = _read_columns(layout.table("curated_captions", shard), wanted)
        clips_url = layout.table("clips", shard)
        clips = _read_columns(clips_url, clip_columns) if with_clips and storage.exists(clips_url) else []
        yield rows, {c["key"]: c for c in clips if c["status"] == "ok"}


def find_duplicates(shards: Iterable[ShardRows], settings: DedupSettings = DedupSettings(),
                    reread: Callable[[], Iterable[ShardRows]] | None = None) -> tuple[pa.Table, dict]:
    """(duplicates table ``key, duplicate_of, kind, similarity`` sorted by key, summary) over
    ``shards`` (an iterable of :data:`ShardRows`, e.g. :func:`shards_of`). ``reread``: a callable
    returning the same shards again for the verification pass (default: ``shards`` is a list)."""
    signatures, parts = _Signatures(), []
    shards = list(shards) if reread is None else shards
    for rows, clips in shards:
        rows = [r for r in rows if r.get("domain") != SILENT_DOMAIN]
        hashes = signatures.add([_long0(r) for r in rows])
        parts.append(_clip_rows(rows, clips, hashes))
    clip_table = pa.concat_tables(parts) if parts else _CLIP_SCHEMA.empty_table()
    bands = np.concatenate(signatures.bands) if signatures.bands else np.empty((0, BANDS), np.int64)
    candidates = candidate_pairs(bands)

    # verification: true Jaccard of the candidates' captions, read again
    needed = set(np.unique(candidates).tolist())
    by_id = {i: h for h, i in signatures.index.items() if i in needed}
    wanted_hashes = set(by_id.values())
    texts: dict[int, set[str]] = {}
    for rows, _ in (reread() if reread is not None else shards):
        for row in rows:
            h = text_hash(_long0(row))
            if h in wanted_hashes and h not in texts:
                texts[h] = shingles(_long0(row))
    near = []
    for i, j in candidates.tolist():
        similarity = jaccard(texts[by_id[i]], texts[by_id[j]])
        if similarity >= settings.min_jaccard:
            near.append({"a": by_id[i], "b": by_id[j], "similarity": similarity})
    text_pairs = pa.Table.from_pylist(near, schema=pa.schema([("a", pa.int64()), ("b", pa.int64()),
                                                              ("similarity", pa.float64())]))
    pairs, caption_matched = _same_material_pairs(clip_table, text_pairs, settings)
    duplicates = _resolve(pairs, clip_table)
    summary = {"clips": clip_table.num_rows, "distinct_captions": len(signatures.index),
               "lsh_candidate_pairs": len(candidates), "near_caption_pairs": len(near),
               "caption_matched_rows": caption_matched, "duplicates": duplicates.num_rows,
               "exact": sum(k == "exact" for k in duplicates["kind"].to_pylist()),
               "near": sum(k == "near" for k in duplicates["kind"].to_pylist())}
    return duplicates, summary


_PAIRS_SQL = """
WITH text_pairs AS (
    SELECT DISTINCT text_hash AS a, text_hash AS b, 1.0 AS similarity, 'exact' AS kind FROM clips
    UNION ALL SELECT a, b, similarity, 'near' FROM near
), same_source AS (  -- equi-joins on (caption, source) and (caption, checksum): no caption-only blow-up
    SELECT x.key AS key_x, y.key AS key_y, p.kind, p.similarity,
           least(x.end_s - x.start_s, y.end_s - y.start_s) AS shorter,
           least(x.end_s, y.end_s) - greatest(x.start_s, y.start_s) AS overlap
    FROM text_pairs p JOIN clips x ON x.text_hash = p.a
    JOIN clips y ON y.text_hash = p.b AND y.source_id = x.source_id
    WHERE x.key <> y.key
), same_pcm AS (
    SELECT x.key AS key_x, y.key AS key_y, p.kind, p.similarity
    FROM text_pairs p JOIN clips x ON x.text_hash = p.a
    JOIN clips y ON y.text_hash = p.b AND y.checksum = x.checksum
    WHERE x.key <> y.key
)
SELECT DISTINCT least(key_x, key_y) AS key_x, greatest(key_x, key_y) AS key_y, kind, similarity FROM (
    SELECT key_x, key_y, kind, similarity FROM same_source WHERE shorter > 0 AND overlap >= ? * shorter
    UNION ALL SELECT key_x, key_y, kind, similarity FROM same_pcm
) ORDER BY key_x, key_y
"""
_CAPTION_MATCHED_SQL = """
SELECT count(*) FROM clips WHERE text_hash IN (SELECT text_hash FROM clips GROUP BY text_hash HAVING count(*) > 1)
   OR text_hash IN (SELECT a FROM near) OR text_hash IN (SELECT b FROM near)
"""


def _same_material_pairs(clips: pa.Table, near: pa.Table, settings: DedupSettings) -> tuple[pa.Table, int]:
    """Clip pairs (key_x < key_y, kind, similarity) whose captions match and whose audio is the
    same material (rule 2); and the number of clips whose caption matches another clip's at all."""
    con = duckdb.connect()
    try:
        con.register("clips", clips)
        con.register("near", near)
        pairs = con.sql(_PAIRS_SQL, params=[settings.min_window_overlap]).to_arrow_table()
        matched = con.execute(_CAPTION_MATCHED_SQL).fetchone()[0]
    finally:
        con.close()
    return pairs, int(matched)


def _resolve(pairs: pa.Table, clips: pa.Table) -> pa.Table:
    """Greedy over the global ranking (confidence desc, key): a clip with a pair to a kept clip
    is dropped, pointing at the best-ranked one."""
    if pairs.num_rows == 0:
        return DUPLICATES_SCHEMA.empty_table()
    links: dict[str, list[tuple[str, str, float]]] = {}
    for x, y, kind, similarity in zip(*(pairs[c].to_pylist() for c in ("key_x", "key_y", "kind", "similarity"))):
        links.setdefault(x, []).append((y, kind, similarity))
        links.setdefault(y, []).append((x, kind, similarity))
    involved = clips.filter(pc.is_in(clips["key"], pa.array(sorted(links)))).select(["key", "confidence"])
    confidence = dict(zip(involved["key"].to_pylist(), involved["confidence"].to_pylist()))
    rank = {key: n for n, key in enumerate(sorted(links, key=lambda k: (-confidence[k], k)))}
    kept, out = set(), []
    for key in sorted(links, key=rank.__getitem__):
        winners = sorted((rank[other], other, kind, sim) for other, kind, sim in links[key] if other in kept)
        if winners:
            # exact beats near for the same winner; the best-ranked winner is named
            _, other, kind, similarity = min(winners, key=lambda w: (w[0], w[2] != "exact"))
            out.append({"key": key, "duplicate_of": other, "kind": kind, "similarity": float(similarity)})
        else:
            kept.add(key)
    return pa.Table.from_pylist(sorted(out, key=lambda r: r["key"]), schema=DUPLICATES_SCHEMA)


def corpus_duplicates(layout: DataLayout, settings: DedupSettings = DedupSettings()) -> tuple[pa.Table, dict]:
    """:func:`find_duplicates` over every shard of a data root, streaming twice."""
    return find_duplicates(shards_of(layout), settings, reread=lambda: shards_of(layout, with_clips=False))


def duplicate_keys(layout: DataLayout) -> frozenset[str]:
    """Keys the release leaves out (``corpus_duplicates`` asset); empty when not materialised."""
    url = layout.table("corpus_duplicates")
    if not storage.exists(url):
        return frozenset()
    return frozenset(storage.read_table(url).column("key").to_pylist())
