"""Time DATE scoring of one group at several sizes on this CPU.

Clips are synthesised by sampling MECAT reference sentences of one facet (3 references per clip,
prediction = another sampled sentence, half of them taken from the clip's own pool). Reports the
total time, the encoding and blocked-similarity parts, growth with N, and the peak memory
(tracemalloc) of the blocked similarity/discrimination step.

    .venv/bin/python benchmarks/bench_date.py --sizes 1000 5000 20000

With ``--official`` it instead scores the MECAT-Caption test split shipped in the official
``mecat`` package (eight domains, 20,052 clips; ``--per-domain N`` keeps the first N clips of
each domain) with a synthetic system, once with this project's code in each input mode and once
with the official evaluator (packaged MiniLM, no fluency penalty), each in its own process, and
prints the group scores, wall time and peak resident memory side by side:

    .venv/bin/python benchmarks/bench_date.py --official [--per-domain 500] [--system first-reference]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
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


SYSTEMS = ("first-reference", "shuffled")
RUNNERS = ("project-mecat", "project-verbatim", "official")


def write_official_sample(folder: Path, per_domain: int | None, system: str) -> tuple[Path, list[Path], int]:
    """The packaged test references (first ``per_domain`` clips of each domain) as plain JSON
    lines, and a synthetic system's six prediction CSVs in the official format: variant 0 of each
    facet's references (``first-reference``), or that of another clip of the same domain (``shuffled``)."""
    from acav_assets.evaluation.mecat_scoring import write_prediction_csvs
    from acav_assets.evaluation.official_mecat import official_references
    from acav_assets.stats.caption_corpora import ACAV_FACETS

    references = folder / "references"
    references.mkdir(parents=True)
    predictions: dict[str, dict[str, str]] = {facet: {} for facet in ACAV_FACETS}
    rng = np.random.default_rng(0)
    clips = 0
    for path in sorted(official_references().glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            lines = handle.read().splitlines()[:per_domain]
        (references / path.name.removesuffix(".gz")).write_text("\n".join(lines) + "\n", encoding="utf-8")
        records = [next(iter(json.loads(line).items())) for line in lines]
        donors = rng.permutation(len(records)) if system == "shuffled" else np.arange(len(records))
        for (key, _), donor in zip(records, donors):
            for facet in ACAV_FACETS:
                predictions[facet][key] = records[donor][1][facet][0]
        clips += len(records)
    return references, write_prediction_csvs(predictions, folder / "predictions"), clips


def parity_worker(runner: str, references: str, predictions: list[str], threads: int) -> None:
    """One scoring run in this process; prints its scores, seconds and peak RSS as JSON."""
    import torch

    from acav_assets.curation.filters import packaged_model_dir

    torch.set_num_threads(threads)
    started = time.perf_counter()
    if runner == "official":
        from acav_assets.evaluation.official_mecat import official_scores

        scores = official_scores(predictions, references, packaged_model_dir())
    else:
        from acav_assets.evaluation.mecat_scoring import (
            load_predictions,
            load_references,
            score_groups,
        )

        mode = runner.removeprefix("project-")
        scores = score_groups(load_references(references), load_predictions(predictions, mode),
                              dm.packaged_encoder(batch_size=64), input_mode=mode)
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    print(json.dumps({"runner": runner, "seconds": seconds, "peak_rss_mib": peak_mib, "scores": scores}))


def official_comparison(per_domain: int | None, system: str, threads: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        references, predictions, clips = write_official_sample(Path(scratch), per_domain, system)
        print(f"MECAT-Caption test split: {clips} clips ({per_domain or 'all'} per domain), system {system}, "
              f"torch threads {threads}, cpus {os.cpu_count()}", flush=True)
        results = {}
        for runner in RUNNERS:
            command = [sys.executable, __file__, "--parity-worker", runner, "--threads", str(threads),
                       "--references", str(references), "--predictions", *map(str, predictions)]
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            results[runner] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{runner}: {results[runner]['seconds']:.1f} s, peak RSS {results[runner]['peak_rss_mib']:.0f} MiB",
                  flush=True)
    official = results["official"]["scores"]
    print("\n| group | official | project (mecat) | difference | project (verbatim) |\n|---|---:|---:|---:|---:|")
    for group, value in official.items():
        mecat, verbatim = results["project-mecat"]["scores"][group], results["project-verbatim"]["scores"][group]
        print(f"| {group} | {value:.4f} | {mecat:.4f} | {mecat - value:+.4f} | {verbatim:.4f} |")
    print("\n| code | seconds | peak RSS (MiB) |\n|---|---:|---:|")
    for runner in RUNNERS:
        print(f"| {runner} | {results[runner]['seconds']:.1f} | {results[runner]['peak_rss_mib']:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    ap.add_argument("--facet", default="long")
    ap.add_argument("--references", type=Path, default=MECAT, help="folder of MECAT caption JSON lines")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--row-block", type=int, default=dm.ROW_BLOCK)
    ap.add_argument("--model", default=None, help="model folder or hub id (default: packaged MiniLM)")
    ap.add_argument("--official", action="store_true", help="compare with the official evaluator on its test split")
    ap.add_argument("--per-domain", type=int, default=None, help="with --official: first N clips per domain")
    ap.add_argument("--system", choices=SYSTEMS, default="first-reference", help="with --official: synthetic system")
    ap.add_argument("--threads", type=int, default=1,
                    help="with --official: torch threads for both (the official code forces 1 on import)")
    ap.add_argument("--parity-worker", choices=RUNNERS, help=argparse.SUPPRESS)
    ap.add_argument("--predictions", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.parity_worker:
        return parity_worker(args.parity_worker, str(args.references), args.predictions, args.threads)
    if args.official:
        return official_comparison(args.per_domain, args.system, args.threads)

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
