"""Time and peak memory of the whole-corpus roll-ups and statistics on a synthetic corpus of
Parquet rows (no audio): the project's real schemas, shards of ``--shard-size`` clips.

Generated per shard (deterministic, seeded by shard index): ``clips`` (2% failed decodes),
``acoustics``, ``routing``, ``curated_captions`` (3% of clips dropped, listed in
``curation_drops``; domains drawn from DOMAINS, ~1 in 8 ``000``), and ``caption_tokens``: every
facet x variant (``--variants`` per clip, 18 = 6 facets x 3) with a text from a pool and
5-15 Qwen3 ids drawn from a Zipf-like law over the 151,669 ids (ids are not the text's tokens:
the counts, not the tokenizer, are measured).

Each roll-up then runs in its own subprocess; printed: wall time, time after the imports (work),
the RSS of the imports alone and the child's peak RSS (``os.wait4`` rusage):

    .venv/bin/python benchmarks/bench_rollups.py                       # 10 M clips, 10,000 shards
    .venv/bin/python benchmarks/bench_rollups.py --clips 1000000 --root DIR --keep

``--legacy`` also times the in-memory Python paths still used by the release (``released_keys``
and ``release_input``: every curated row as a dict). DuckDB's bounds come from
``ACAV_DUCKDB_MEMORY_LIMIT`` (default 2GB) and ``ACAV_DUCKDB_THREADS``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from acav_assets.captions.schema import CONTENT_FACETS, FACETS
from acav_assets.captions.table import CAPTIONS_SCHEMA
from acav_assets.contracts.domains import DOMAINS
from acav_assets.contracts.layout import DataLayout
from acav_assets.curation.shard_curation import DROPS_SCHEMA
from acav_assets.experts.registry import expert
from acav_assets.ingest.clip_decoding import CLIPS_SCHEMA
from acav_assets.stats.token_stats import CAPTION_TOKENS_SCHEMA

VOCABULARY = 151_669
DATASET = "acav_synthetic"
WORDS = [a + b for a in ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t") for b in
         ("a", "e", "i", "o", "u", "ar", "en", "ing", "ow", "ump")]
TEXT_POOL = 4096


def text_pool(seed: int = 7) -> pa.Array:
    rng = np.random.default_rng(seed)
    return pa.array([" ".join(rng.choice(WORDS, size=int(rng.integers(3, 16)))) for _ in range(TEXT_POOL)])


def fill(schema: pa.Schema, n: int, values: dict, rng: np.random.Generator) -> pa.Table:
    """``values`` where given; other float columns random, the rest null."""
    columns = []
    for field in schema:
        if field.name in values:
            columns.append(pa.array(values[field.name], field.type) if not isinstance(values[field.name], pa.Array)
                           else values[field.name].cast(field.type))
        elif pa.types.is_floating(field.type):
            columns.append(pa.array(rng.normal(-20, 8, n), field.type))
        else:
            columns.append(pa.nulls(n, field.type))
    return pa.table(columns, schema=schema)


def list_column(values: pa.Array, lengths: np.ndarray) -> pa.Array:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def shard_tables(index: int, shard_size: int, variants: int, pool: pa.Array) -> dict[str, pa.Table]:
    rng = np.random.default_rng(index)
    shard = f"shard-{index:06d}"
    n = shard_size
    keys = pa.array([f"{shard}_{i}_0_10" for i in range(n)])
    ok = rng.random(n) >= 0.02
    status = np.where(ok, "ok", "error")
    duration = np.where(ok, rng.uniform(1.0, 10.0, n), np.nan)
    clips = fill(CLIPS_SCHEMA, n, {
        "key": keys, "shard": [shard] * n, "source": [f"/corpus/{shard}/{i}.flac" for i in range(n)],
        "start_s": np.zeros(n), "end_s": np.full(n, 10.0), "source_id": [f"{shard}-{i}" for i in range(n)],
        "license": ["CC-BY"] * n, "duration_s": pa.array(duration, from_pandas=True), "status": status,
        "error_kind": [None if o else "unreadable_format" for o in ok],
    }, rng)
    decoded = np.flatnonzero(ok)
    domains = np.array(DOMAINS)[rng.integers(0, len(DOMAINS), len(decoded))]
    decoded_keys = keys.take(pa.array(decoded))
    expert_values = {"key": decoded_keys, "shard": [shard] * len(decoded), "status": ["ok"] * len(decoded)}
    acoustics = fill(expert("acoustics").schema, len(decoded), expert_values, rng)
    routing = fill(expert("routing").schema, len(decoded), {**expert_values, "domain": domains}, rng)
    kept = rng.random(len(decoded)) >= 0.03
    drops = fill(DROPS_SCHEMA, int((~kept).sum()), {
        "key": decoded_keys.filter(pa.array(~kept)), "shard": [shard] * int((~kept).sum()),
        "reason": ["duplicate"] * int((~kept).sum())}, rng)
    curated_keys, curated_domains = decoded_keys.filter(pa.array(kept)), domains[kept]
    m = len(curated_keys)
    per_facet = max(1, variants // len(FACETS))
    facets = FACETS[: max(1, min(len(FACETS), variants))]
    absent = {f: np.array([d[CONTENT_FACETS[f]] == "0" if f in CONTENT_FACETS else False for d in curated_domains])
              for f in facets}
    texts = {f: pool.take(pa.array(rng.integers(0, TEXT_POOL, m * per_facet))) for f in facets}
    for f in facets:  # absent facets say "None"
        mask = np.repeat(absent[f], per_facet)
        texts[f] = pa.array(np.where(mask, "None", texts[f].to_numpy(zero_copy_only=False)))
    curated = fill(CAPTIONS_SCHEMA, m, {
        "key": curated_keys, "shard": [shard] * m, "domain": curated_domains, "status": ["ok"] * m,
        **{f: list_column(texts[f], np.full(m, per_facet)) for f in facets},
        **{f"{f}_confidence": list_column(pa.array(np.full(m * per_facet, 0.9)), np.full(m, per_facet))
           for f in facets},
    }, rng)
    # caption_tokens: clip-major, facet, then variant, as caption_token_rows writes them.
    rows = m * len(facets) * per_facet
    clip_index = np.repeat(np.arange(m), len(facets) * per_facet)
    facet_index = np.tile(np.repeat(np.arange(len(facets)), per_facet), m)
    variant = np.tile(np.arange(per_facet), m * len(facets))
    stacked = np.stack([texts[f].to_numpy(zero_copy_only=False).reshape(m, per_facet) for f in facets], axis=1)
    text = pa.array(stacked.reshape(-1))
    lengths = rng.integers(5, 16, rows)
    ids = (rng.zipf(1.25, int(lengths.sum())) - 1) % VOCABULARY
    absent_rows = np.stack([absent[f] for f in facets], axis=1)[clip_index, facet_index]
    tokens = pa.table({
        "key": curated_keys.take(pa.array(clip_index)), "shard": pa.array([shard] * rows),
        "domain": pa.array(curated_domains[clip_index]), "facet": pa.array(np.array(facets)[facet_index]),
        "variant": pa.array(variant, pa.int32()), "text": text, "absent": pa.array(absent_rows),
        "words": pa.array(np.char.count(stacked.reshape(-1).astype(str), " ") + 1, pa.int32()),
        "token_ids": list_column(pa.array(ids, pa.int32()), lengths),
    }, schema=CAPTION_TOKENS_SCHEMA)
    return {"clips": clips, "acoustics": acoustics, "routing": routing, "curation_drops": drops,
            "curated_captions": curated, "caption_tokens": tokens}


def write_shard(args: tuple) -> int:
    root, index, shard_size, variants = args
    layout = DataLayout(root)
    written = 0
    for asset, table in shard_tables(index, shard_size, variants, text_pool()).items():
        path = layout.table(asset, f"shard-{index:06d}")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, compression="zstd")
        written += os.path.getsize(path)
    return written


def generate(root: str, clips: int, shard_size: int, variants: int, workers: int) -> tuple[float, int]:
    shards = -(-clips // shard_size)
    start = time.perf_counter()
    first = write_shard((root, 0, shard_size, variants))
    free = shutil.disk_usage(root).free
    if first * shards > 0.9 * free:
        raise SystemExit(f"{shards} shards need ~{first * shards / 1e9:.1f} GB, {free / 1e9:.1f} GB free: "
                         "lower --clips or --variants")
    with Pool(workers) as pool:
        total = first + sum(pool.imap_unordered(write_shard, [(root, i, shard_size, variants)
                                                              for i in range(1, shards)], chunksize=4))
    return time.perf_counter() - start, total


# Each roll-up: what it runs, given the data root and the DuckDB file.
ROLLUPS = {
    "table1_comparison": "storage.write_table(table1.comparison(layout, NAME, []), layout.table('dataset_comparison'))",
    "warehouse_build": "warehouse.build(layout, DATABASE, {'dataset_name': NAME})",
    "warehouse_reports": "warehouse.reports(DATABASE); warehouse.token_frequencies(DATABASE)",
    "check_statistics": "assert warehouse.check_statistics(DATABASE, layout).success",
    "released_key_count": "streaming_counts.released_key_count(layout)",
}
LEGACY = {
    "release_released_keys_python": "len(release.released_keys(layout))",
    "release_input_python": "len(release.release_input(layout))",
}


def run_one(name: str, code: str, root: str, database: str) -> dict:
    """Run ``code`` in a fresh interpreter: wall time, time after the imports, the RSS the imports
    alone take (torch comes in through webdataset) and the child's peak RSS."""
    script = ("import json, resource, sys, time\n"
              "from acav_assets.contracts.layout import DataLayout\n"
              "from acav_assets.curation import release\n"
              "from acav_assets.io import storage\n"
              "from acav_assets.stats import streaming_counts, table1, warehouse\n"
              "imports_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024\n"
              f"layout = DataLayout({root!r}); DATABASE = {database!r}; NAME = {DATASET!r}\n"
              "start = time.perf_counter()\n"
              f"{code}\n"
              "print('RESULT', json.dumps({'work_s': round(time.perf_counter() - start, 1), 'imports_rss_mb': imports_mb}))\n")
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[1],
                             stdout=subprocess.PIPE, text=True)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    ok = os.waitstatus_to_exitcode(status) == 0
    lines = [line.partition("RESULT ")[2] for line in out.splitlines() if "RESULT " in line]
    measured = json.loads(lines[-1]) if ok and lines else {"work_s": None, "imports_rss_mb": None}
    return {"rollup": name, "wall_s": round(time.perf_counter() - start, 1), **measured,
            "peak_rss_mb": usage.ru_maxrss // 1024, "ok": ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=10_000_000)
    parser.add_argument("--shard-size", type=int, default=1000)
    parser.add_argument("--variants", type=int, default=18, help="caption variants per clip (6 facets x 3)")
    parser.add_argument("--root", help="data root (default: a new temporary folder, deleted unless --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the generated corpus")
    parser.add_argument("--reuse", action="store_true", help="use the corpus already under --root")
    parser.add_argument("--legacy", action="store_true", help="also time the release's in-memory Python reads")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    root = args.root or tempfile.mkdtemp(prefix="acav-bench-rollups-")
    Path(root).mkdir(parents=True, exist_ok=True)
    try:
        if not args.reuse:
            seconds, size = generate(root, args.clips, args.shard_size, args.variants, args.workers)
            print(f"generated {args.clips:,} clips in {-(-args.clips // args.shard_size):,} shards x 6 tables: "
                  f"{size / 1e9:.2f} GB in {seconds:.0f} s", flush=True)
        database = str(Path(root) / "warehouse.duckdb")
        results = []
        for name, code in {**ROLLUPS, **(LEGACY if args.legacy else {})}.items():
            results.append({"clips": args.clips, **run_one(name, code, root, database)})
            print(json.dumps(results[-1]), flush=True)
        print(f"\nDuckDB memory_limit={os.environ.get('ACAV_DUCKDB_MEMORY_LIMIT', '2GB')}")
        print(f"{'roll-up':30} {'clips':>11} {'wall s':>7} {'work s':>7} {'imports MB':>10} {'peak RSS MB':>11} ok")
        for r in results:
            print(f"{r['rollup']:30} {r['clips']:>11,} {r['wall_s']:>7} {r['work_s']!s:>7} {r['imports_rss_mb']!s:>10} "
                  f"{r['peak_rss_mb']:>11} {r['ok']}")
    finally:
        if not (args.keep or args.root):
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
