"""Unique Qwen3 tokens over many captions: batched ``token_id_table`` + DuckDB ``count(DISTINCT)``
against a plain Python baseline (``set.update(tokenizer.encode(text).ids)`` per caption).

Each method runs in its own subprocess so that its peak RSS (``ru_maxrss``) is its own.
Captions are generated deterministically (seeded) from ~3,000 made-up words plus numbers.

    .venv/bin/python benchmarks/bench_unique_tokens.py [--captions N] [--baseline-captions M]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

SEED = 1234
ONSETS = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
          "z", "br", "cl", "dr", "fl", "gr", "pl", "st", "tr", "sh", "ch", "th", "wh"]
NUCLEI = ["a", "e", "i", "o", "u", "ai", "ea", "oo", "ou", "y"]
CODAS = ["", "n", "r", "s", "t", "ck", "ng", "ll", "mp", "st"]


def word_list(n_words: int = 3_000) -> list[str]:
    """Deterministic vocabulary: one- and two-syllable made-up words, then numbers."""
    syllables = [o + n + c for o in ONSETS for n in NUCLEI for c in CODAS]  # 3,000
    rng = np.random.default_rng(SEED)
    two = [syllables[i] + syllables[j] for i, j in rng.integers(0, len(syllables), (n_words // 3, 2))]
    words = syllables[: n_words - len(two)] + two
    numbers = [str(n) for n in rng.integers(0, 100_000, 500)] + [f"{x:.1f}" for x in rng.random(100) * 100]
    return words + numbers


def generate_captions(n: int) -> list[str]:
    """``n`` captions of 4-20 words, capitalised, some with a comma or a full stop."""
    words = np.array(word_list(), dtype=object)
    # separate streams, so the first m captions are the same whatever n is (baseline subset)
    lengths = np.random.default_rng(SEED + 1).integers(4, 21, n)
    picks = np.random.default_rng(SEED + 2).integers(0, len(words), int(lengths.sum()))
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    out = []
    for i in range(n):
        text = " ".join(words[picks[bounds[i]: bounds[i + 1]]])
        out.append(text.capitalize() + ("." if i % 3 == 0 else ""))
    return out


def run_fast(n: int, subset: int) -> dict:
    import duckdb

    from acav_assets.stats.token_stats import load_qwen3_tokenizer, token_id_table

    load_qwen3_tokenizer()
    captions = generate_captions(n)
    start = time.perf_counter()
    tokens = token_id_table(captions)
    con = duckdb.connect()
    con.register("tokens", tokens)
    (count,) = con.sql("SELECT count(DISTINCT token_id) FROM tokens").fetchall()[0]
    seconds = time.perf_counter() - start
    (subset_count,) = con.sql(f"SELECT count(DISTINCT token_id) FROM tokens WHERE row < {subset}").fetchall()[0]
    return {"count": count, "subset_count": subset_count, "seconds": seconds, "captions": n,
            "tokens": tokens.num_rows}


def run_baseline(n: int) -> dict:
    from acav_assets.stats.token_stats import load_qwen3_tokenizer

    tokenizer = load_qwen3_tokenizer()
    captions = generate_captions(n)
    start = time.perf_counter()
    seen: set[int] = set()
    for text in captions:
        seen.update(tokenizer.encode(text, add_special_tokens=False).ids)
    return {"count": len(seen), "seconds": time.perf_counter() - start, "captions": n}


def child(method: str, n: int, subset: int) -> None:
    result = run_fast(n, subset) if method == "fast" else run_baseline(n)
    result["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def spawn(method: str, n: int, subset: int) -> dict:
    cmd = [sys.executable, __file__, "--child", method, "--captions", str(n),
           "--baseline-captions", str(subset)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captions", type=int, default=1_000_000)
    parser.add_argument("--baseline-captions", type=int, default=None,
                        help="captions for the Python baseline (default: min(N, 100,000))")
    parser.add_argument("--child", choices=["fast", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    subset = args.baseline_captions or min(args.captions, 100_000)
    subset = min(subset, args.captions)
    if args.child:
        child(args.child, args.captions if args.child == "fast" else subset, subset)
        return
    fast = spawn("fast", args.captions, subset)
    base = spawn("baseline", subset, subset)
    fast_rate = fast["captions"] / fast["seconds"]
    base_rate = base["captions"] / base["seconds"]
    print(f"captions: {args.captions:,} (baseline timed on the first {subset:,}"
          f"{'' if subset == args.captions else ', a subset, to keep the run short'})")
    print(f"token_id_table + DuckDB : {fast['seconds']:7.2f} s  {fast_rate:11,.0f} captions/s  "
          f"unique tokens {fast['count']:,} ({fast['tokens']:,} tokens)  peak RSS {fast['maxrss_mib']:,.0f} MiB")
    print(f"python set baseline     : {base['seconds']:7.2f} s  {base_rate:11,.0f} captions/s  "
          f"unique tokens {base['count']:,}  peak RSS {base['maxrss_mib']:,.0f} MiB")
    print(f"speed-up (captions/s)   : {fast_rate / base_rate:.2f}x")
    print("peak RSS is per subprocess and includes the generated captions and the tokenizer")
    agree = fast["subset_count"] == base["count"]
    print(f"counts agree on the {subset:,}-caption subset: {agree} "
          f"(fast {fast['subset_count']:,}, baseline {base['count']:,})")
    if not agree:
        sys.exit(1)


if __name__ == "__main__":
    main()
