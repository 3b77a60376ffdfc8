"""Cost and throughput of caption synthesis against a local OpenAI-compatible server.

    python benchmarks/bench_captions.py [--clips 64] [--latency 0.5]

Runs the real request layer (prompt building, validation, cache, concurrency) over demo
evidence rows (acav_assets_tests/data/evidence_rows.json, repeated under distinct keys) against
acav_assets_tests/openai_stub.py, which waits ``--latency`` seconds per request like a remote
model would. Prints prompt characters and tokens per clip (the stub counts ~4 characters a
token; the real tokenizer's count depends on the model) and clips per second at concurrency
1 and 16, then a re-run that the cache answers without requests. Also times the offline
evidence synthesiser.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acav_assets.captions.llm_client import (  # noqa: E402
    LlmSettings,
    ReplyCache,
    run_requests,
    totals,
)
from acav_assets.captions.offline_synthesiser import synthesize_caption  # noqa: E402
from acav_assets.captions.prompt import PROMPT_VERSION, build_messages, repair_messages  # noqa: E402
from acav_assets.captions.schema import parse_reply, split_reasoning  # noqa: E402
from acav_assets_tests.openai_stub import OpenAIStub  # noqa: E402


def evidence_rows(count: int) -> list[dict]:
    """Demo rows under distinct keys, each with its own title so that every prompt differs
    (identical evidence would rightly be answered from the cache)."""
    base = json.loads((ROOT / "acav_assets_tests" / "data" / "evidence_rows.json").read_text())
    rows = []
    for i in range(count):
        row = dict(base[i % len(base)], key=f"{base[i % len(base)]['key']}-{i}")
        row["metadata"] = {**(row.get("metadata") or {}), "status": "ok", "title": f"Recording number {i}"}
        rows.append(row)
    return rows


def run(rows: list[dict], server: OpenAIStub, concurrency: int, cache: ReplyCache) -> tuple[float, dict]:
    settings = LlmSettings(base_url=server.base_url, model="stub", concurrency=concurrency, max_repairs=1)
    started = time.perf_counter()
    outcomes = []
    for domain in sorted({r["routed_domain"] for r in rows}):
        group = [r for r in rows if r["routed_domain"] == domain]
        outcomes += run_requests([(r["key"], build_messages(r)) for r in group], settings, PROMPT_VERSION,
                                 functools.partial(parse_reply, domain=domain), repair_messages, split_reasoning,
                                 cache=cache)
    return time.perf_counter() - started, totals(outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds the stub waits per request")
    args = parser.parse_args()
    rows = evidence_rows(args.clips)
    characters = sum(len(m["content"]) for r in rows for m in build_messages(r)) / len(rows)
    print(f"{len(rows)} clips; prompt {characters:.0f} characters per clip; stub latency {args.latency} s\n")
    with OpenAIStub(latency_s=args.latency) as server, tempfile.TemporaryDirectory() as tmp:
        for concurrency in (1, 16):
            cache = ReplyCache(f"{tmp}/cache-{concurrency}")
            wall, cost = run(rows, server, concurrency, cache)
            print(f"concurrency {concurrency:2d}: {len(rows) / wall:6.2f} clips/s  ({wall:5.1f} s)  "
                  f"requests {cost['requests']}  prompt tokens/clip {cost['prompt_tokens'] / len(rows):6.0f}  "
                  f"completion tokens/clip {cost['completion_tokens'] / len(rows):5.0f}  failures {cost['failures']}")
        wall, cost = run(rows, server, 16, cache)
        print(f"re-run from cache: {len(rows) / wall:6.1f} clips/s, requests {cost['requests']}, "
              f"cache hits {cost['cache_hits']}")
    started = time.perf_counter()
    for row in rows:
        synthesize_caption(row)
    wall = time.perf_counter() - started
    print(f"offline synthesiser: {len(rows) / wall:8.0f} clips/s")


if __name__ == "__main__":
    main()
