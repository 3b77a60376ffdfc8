"""Corpus-wide caption dedup (:mod:`acav_assets.curation.corpus_dedup`): LSH recall against exact
search, then time and peak memory over a large synthetic corpus of Parquet shards.

    python benchmarks/bench_corpus_dedup.py [--variants 2] [--clips 1000000] [--shards 100] [--dir FOLDER]

1. **Recall / precision.** Texts: every ``long`` and ``short`` variant of the MECAT reference
   sample (``acav_assets_tests/data/mecat_sample``, 900 clips), plus ``--variants`` edited copies
   of each ``long`` variant (1 to 6 words replaced, dropped or inserted), so that pairs cover the
   whole Jaccard range. Exact search: word-bigram Jaccard of every pair of distinct normalised
   texts (a sparse matrix product). Printed: pairs at Jaccard >= the threshold, the LSH's
   candidate pairs, recall (true pairs among the candidates) overall and per Jaccard band, the
   candidates' precision before verification, and after it (1 by construction).
2. **Scale.** ``--clips`` curated rows over ``--shards`` Parquet shards with their clips rows,
   written to ``--dir`` (default: a temporary folder): random 10-24 word captions over a 3 000-word
   vocabulary, 5 % generic captions (50 sentences shared by unrelated clips), 1 % exact and 1 %
   one-word-changed copies of an earlier clip in another shard with the same source window (a
   one-word change leaves a short caption below the Jaccard threshold: those planted pairs are
   counted apart as ``near`` minus ``near_above_threshold``).
   :func:`corpus_duplicates` runs in a child process; printed: seconds, the child's peak RSS, and
   the duplicates found against those planted, and (exact search after dedup) the pairs of kept
   clips of one source window whose captions still reach the threshold: the LSH's misses.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
from scipy import sparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acav_assets.contracts.layout import DataLayout
from acav_assets.curation.corpus_dedup import (
    BANDS,
    PERMUTATIONS,
    DedupSettings,
    band_hashes,
    candidate_pairs,
    corpus_duplicates,
    jaccard,
    minhash,
    normalised,
    shingles,
)
from acav_assets.io import storage

MECAT = ROOT / "acav_assets_tests" / "data" / "mecat_sample" / "caption" / "train"


def mecat_texts() -> list[str]:
    texts = []
    for path in sorted(MECAT.glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            for facets in json.loads(line).values():
                texts += [t for f in ("long", "short") for t in facets[f] if t and t != "None"]
    return texts


def edited(text: str, edits: int, rng: random.Random, vocabulary: list[str]) -> str:
    words = text.split()
    for _ in range(edits):
        action, at = rng.choice(("replace", "drop", "insert")), rng.randrange(len(words))
        if action == "replace":
            words[at] = rng.choice(vocabulary)
        elif action == "drop" and len(words) > 3:
            words.pop(at)
        else:
            words.insert(at, rng.choice(vocabulary))
    return " ".join(words)


def exact_jaccard_pairs(texts: list[str], threshold: float) -> dict[tuple[int, int], float]:
    """(i, j) -> Jaccard of every pair at or above ``threshold``, by brute force."""
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for i, text in enumerate(texts):
        for shingle in shingles(text):
            rows.append(i)
            cols.append(vocabulary.setdefault(shingle, len(vocabulary)))
    matrix = sparse.csr_matrix((np.ones(len(rows), np.int32), (rows, cols)), shape=(len(texts), len(vocabulary)))
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    common = sparse.triu(matrix @ matrix.T, k=1).tocoo()
    similarity = common.data / (sizes[common.row] + sizes[common.col] - common.data)
    keep = similarity >= threshold
    return {(int(i), int(j)): float(s) for i, j, s in zip(common.row[keep], common.col[keep], similarity[keep])}


def recall_benchmark(variants: int, threshold: float) -> None:
    rng = random.Random(7)
    base = mecat_texts()
    vocabulary = sorted({w for t in base for w in t.lower().split()})
    texts = base + [edited(t, rng.randint(1, 6), rng, vocabulary) for t in base for _ in range(variants)]
    distinct = list(dict.fromkeys(normalised(t) for t in texts))
    started = time.perf_counter()
    truth = exact_jaccard_pairs(distinct, threshold)
    exact_s = time.perf_counter() - started
    started = time.perf_counter()
    candidates = {tuple(p) for p in candidate_pairs(band_hashes(minhash(distinct))).tolist()}
    lsh_s = time.perf_counter() - started
    found = truth.keys() & candidates
    print(f"recall sample: {len(distinct)} distinct texts ({len(base)} MECAT long/short variants + "
          f"{len(texts) - len(base)} edited copies), {len(distinct) * (len(distinct) - 1) // 2} pairs")
    print(f"  MinHash {PERMUTATIONS} permutations, {BANDS} bands; threshold Jaccard >= {threshold}")
    print(f"  exact search: {len(truth)} pairs in {exact_s:.1f} s; LSH: {len(candidates)} candidates in {lsh_s:.1f} s")
    print(f"  recall {len(found) / max(len(truth), 1):.4f} ({len(found)}/{len(truth)}); candidate precision "
          f"{len(found) / max(len(candidates), 1):.4f}; precision after verification 1.0000")
    edges = [threshold, 0.8, 0.9, 1.0001]
    for low, high in itertools.pairwise(edges):
        band = [p for p, s in truth.items() if low <= s < high]
        hit = sum(p in candidates for p in band)
        print(f"    Jaccard [{low:.1f}, {min(high, 1.0):.1f}{']' if high > 1 else ')'}: "
              f"recall {hit / max(len(band), 1):.4f} ({hit}/{len(band)})")


GENERIC = [f"A generic sound number {n} is heard in the background." for n in range(50)]


def write_corpus(layout: DataLayout, clips: int, shards: int, seed: int = 11) -> dict[str, int]:
    """Synthetic curated_captions + clips shards; returns the planted duplicates by kind."""
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"w{n}" for n in range(3000)])
    per_shard = clips // shards
    planted = {"exact": 0, "near": 0, "near_above_threshold": 0}
    threshold = DedupSettings().min_jaccard
    previous: list[dict] = []  # a sample of earlier clips to copy from
    for s in range(shards):
        name = f"shard-{s:05d}"
        rows, clip_rows = [], []
        lengths = rng.integers(10, 25, per_shard)
        choices = rng.integers(0, len(vocabulary), (per_shard, 24))
        kinds = rng.random(per_shard)
        confidence = rng.uniform(0.5, 1.0, per_shard).round(3)
        for n in range(per_shard):
            key = f"{name}_{n:07d}"
            source, start, text = f"src{s}_{n}", 0.0, " ".join(vocabulary[choices[n, :lengths[n]]])
            if kinds[n] < 0.05:
                text = GENERIC[n % len(GENERIC)]
            elif kinds[n] < 0.07 and previous:
                origin = previous[int(rng.integers(len(previous)))]
                source, start, text = origin["source_id"], origin["start_s"], origin["text"]
                if kinds[n] < 0.06:
                    planted["exact"] += 1
                else:
                    words = text.split()
                    words[int(rng.integers(len(words)))] = "changed"
                    planted["near"] += 1
                    planted["near_above_threshold"] += jaccard(shingles(text), shingles(" ".join(words))) >= threshold
                    text = " ".join(words)
            rows.append({"key": key, "domain": "S0A", "long": [text, "b", "c"],
                         "long_confidence": [float(confidence[n])] * 3, "short_confidence": [float(confidence[n])] * 3})
            clip_rows.append({"key": key, "source_id": source, "start_s": start, "end_s": start + 10.0,
                              "duration_s": 10.0, "checksum": f"pcm-{key}", "status": "ok"})
        storage.write_table(pa.Table.from_pylist(rows), layout.table("curated_captions", name))
        storage.write_table(pa.Table.from_pylist(clip_rows), layout.table("clips", name))
        fresh = [{"source_id": c["source_id"], "start_s": c["start_s"], "text": r["long"][0]}
                 for r, c in zip(rows[:200], clip_rows[:200]) if not r["long"][0].startswith("A generic")]
        previous = (previous + fresh)[-5000:]
    return planted


def _child(root: str, queue) -> None:
    started = time.perf_counter()
    table, summary = corpus_duplicates(DataLayout(root), DedupSettings())
    storage.write_table(table, DataLayout(root).table("corpus_duplicates"))
    kinds = dict(zip(*np.unique(table["kind"].to_numpy(zero_copy_only=False), return_counts=True))) if table.num_rows else {}
    queue.put({"seconds": time.perf_counter() - started, "summary": summary,
               "kinds": {str(k): int(v) for k, v in kinds.items()},
               "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def scale_benchmark(clips: int, shards: int, folder: str) -> None:
    layout = DataLayout(str(Path(folder) / "data"))
    started = time.perf_counter()
    planted = write_corpus(layout, clips, shards)
    print(f"scale: {clips} clips over {shards} shards written in {time.perf_counter() - started:.1f} s; "
          f"planted {planted}")
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_child, args=(layout.root, queue))
    child.start()
    result = queue.get()
    child.join()
    print(f"  corpus_duplicates: {result['seconds']:.1f} s, peak RSS {result['peak_rss_mib']:.0f} MiB; "
          f"found {result['kinds']}")
    print(f"  summary {result['summary']}")
    missed, groups = missed_pairs(layout)
    print(f"  end to end: {missed} pairs of kept clips of one source window still at Jaccard >= "
          f"{DedupSettings().min_jaccard} (over {groups} windows with several kept clips)")


def missed_pairs(layout: DataLayout) -> tuple[int, int]:
    """Exact search after dedup: pairs of kept clips sharing a source window whose captions still
    reach the threshold (the synthetic corpus plants duplicates only as shared windows)."""
    con = duckdb.connect()
    kept = con.execute(f"""
        SELECT list(lower(cc.long[1])) FROM read_parquet('{layout.glob("curated_captions")}') cc
        JOIN read_parquet('{layout.glob("clips")}') c USING (key)
        WHERE key NOT IN (SELECT key FROM read_parquet('{layout.table("corpus_duplicates")}'))
        GROUP BY c.source_id, c.start_s HAVING count(*) > 1""").fetchall()
    threshold = DedupSettings().min_jaccard
    missed = sum(jaccard(shingles(a), shingles(b)) >= threshold
                 for (texts,) in kept for a, b in itertools.combinations(texts, 2))
    return missed, len(kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=int, default=2, help="edited copies of each MECAT text")
    parser.add_argument("--threshold", type=float, default=DedupSettings().min_jaccard)
    parser.add_argument("--clips", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=100)
    parser.add_argument("--dir", default=None, help="folder for the synthetic shards (default: a temporary one)")
    args = parser.parse_args()
    recall_benchmark(args.variants, args.threshold)
    if args.clips:
        if args.dir:
            scale_benchmark(args.clips, args.shards, args.dir)
        else:
            with tempfile.TemporaryDirectory() as folder:
                scale_benchmark(args.clips, args.shards, folder)


if __name__ == "__main__":
    main()
