"""Time DATE scoring of one group at several sizes on this CPU.

Clips are synthesised by sampling MECAT reference sentences of one facet (3 references per clip,
prediction = another sampled sentence, half of them taken from the clip's own pool). Reports the
total time, the encoding and blocked-similarity parts, growth with N, and the peak memory
(tracemalloc) of the blocked similarity/discrimination step.

    .venv/bin/python benchmarks/bench_date.py --sizes 1000 5000 20000
"""

from __future__ import annotations

import argparse
import json
import os
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from acav_assets.evaluation import date_metric as dm  # noqa: E402

# MECAT caption references (JSON lines per domain): the sample carried by the tests, or a full
# copy of the hub dataset's train split given with --references.
MECAT = Path(__file__).resolve().parents[1] / "acav_assets_tests" / "data" / "mecat_sample" / "caption" / "train"


def sentence_pool(facet: str, folder: Path = MECAT) -> list[list[str]]:
    pool: list[list[str]] = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.open():
            record = next(iter(json.loads(line).values()))
            pool.append(list(record[facet]))
    return pool


def synth(pool: list[list[str]], n: int, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    rng = np.random.default_rng(seed)
    flat = [s for refs in pool for s in refs]
    preds, refs = [], []
    for i in range(n):
        base = pool[rng.integers(len(pool))]
        others = [flat[k] for k in rng.integers(len(flat), size=3)]
        clip = [base[0], base[1], others[0]] if i % 2 else [base[2], others[1], others[2]]
        refs.append(clip)
        preds.append(base[int(rng.integers(3))] if i % 2 else flat[rng.integers(len(flat))])
    return preds, refs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    ap.add_argument("--facet", default="long")
    ap.add_argument("--references", type=Path, default=MECAT, help="folder of MECAT caption JSON lines")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--row-block", type=int, default=dm.ROW_BLOCK)
    ap.add_argument("--model", default=None, help="model folder or hub id (default: packaged MiniLM)")
    args = ap.parse_args()

    encoder = (dm.TextEncoder(args.model, batch_size=args.batch_size) if args.model
               else dm.packaged_encoder(batch_size=args.batch_size))
    pool = sentence_pool(args.facet, args.references)
    print(f"pool: {len(pool)} MECAT clips ({args.facet}); cpu threads: {os.cpu_count()}")
    prev = None
    for n in args.sizes:
        preds, refs = synth(pool, n)
        t0 = time.perf_counter()
        p = dm.embed_corpus(preds, encoder)
        r = dm.embed_corpus([s for c in refs for s in c], encoder).reshape(n, 3, -1).mean(axis=1)
        t_enc = time.perf_counter() - t0
        pen = np.ones(n, np.float32)
        tracemalloc.start()
        t1 = time.perf_counter()
        sim, counts = dm.blocked_similarity(p.astype(np.float32), r.astype(np.float32), pen,
                                            dm.delta_for_facet(args.facet), row_block=args.row_block)
        t_sim = time.perf_counter() - t1
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        dis = 1 - counts / n
        date = float(np.mean(2 * sim * dis / np.where(sim + dis == 0, 1, sim + dis)))
        total = t_enc + t_sim
        growth = f"x{total / prev[1]:.2f} for x{n / prev[0]:.1f} N" if prev else "-"
        print(f"N={n:>6}: total {total:8.1f} s (encode+tfidf {t_enc:7.1f} s, blocked sim {t_sim:6.2f} s) "
              f"growth {growth}; sim-step peak {peak / 2**20:7.1f} MiB "
              f"(full N×N float32 would be {n * n * 4 / 2**20:7.1f} MiB); DATE={date:.4f}")
        prev = (n, total)


if __name__ == "__main__":
    main()
