"""Time and files to store and read LLM replies: the SQLite reply store against the per-file cache.

    python benchmarks/bench_reply_cache.py [--replies 100000] [--chars 3000] [--dir FOLDER]

Writes ``--replies`` cache entries shaped like the caption layer's (an answer and reasoning of
about ``--chars`` characters together, token counts, model), one ``put`` at a time as
``run_requests`` does, then reads them all back in a shuffled order, for:

* ``files``: the per-file cache (``ReplyFiles``, one JSON file per reply; no fsync);
* ``store FULL``: the SQLite store as the cache opens it (a commit and an fsync per reply);
* ``store NORMAL``: the same with ``synchronous=NORMAL`` (commits survive a killed process,
  not a power cut), to show what the fsync costs.

Then times the migration of the per-file cache into a fresh store. Prints seconds, replies per
second, files and the disk space they take. The folder (default: the system's temporary folder)
decides what an fsync costs; use the disk the data root lives on.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acav_assets.captions.reply_cache import (
    REPLY_STORE_NAME,
    ReplyFiles,
    ReplyStore,
    migrate_reply_files,
)

WORDS = ["rain", "dog", "barks", "engine", "hum", "speech", "music", "piano", "crowd", "wind", "birds", "chirp",
         "door", "slam", "water", "drips"]


def entry(i: int, chars: int) -> dict:
    """A cache entry as the request layer stores it, with text that differs per reply."""
    rng = random.Random(i)
    text = " ".join(rng.choice(WORDS) for _ in range(chars // 6))
    answer = '{"caption": "' + text[: len(text) * 2 // 3] + '"}'
    return {"reply": answer, "reasoning": text[len(text) * 2 // 3:], "prompt_tokens": 900 + i % 100,
            "completion_tokens": 700 + i % 50, "finish_reason": "stop", "model": "Qwen/Qwen3-8B"}


def footprint(folder: Path) -> tuple[int, int]:
    """Files and bytes of disk (allocated blocks) under ``folder``."""
    files = size = 0
    for parent, _, names in os.walk(folder):
        for name in names:
            files += 1
            size += os.stat(os.path.join(parent, name)).st_blocks * 512
    return files, size


def measure(name: str, cache: ReplyFiles | ReplyStore, hashes: list[str], entries: Callable[[int], dict],
            folder: Path) -> None:
    """Put every reply, read them all back shuffled, print the times and the footprint."""
    started = time.perf_counter()
    for i, h in enumerate(hashes):
        cache.put(h, entries(i))
    write_s = time.perf_counter() - started
    order = list(range(len(hashes)))
    random.Random(0).shuffle(order)
    started = time.perf_counter()
    found = sum(cache.get(hashes[i]) is not None for i in order)
    read_s = time.perf_counter() - started
    assert found == len(hashes), f"{name}: {found} of {len(hashes)} replies read back"
    assert cache.get(hashes[7]) == entries(7)
    cache.close()
    files, size = footprint(folder)
    print(f"{name:13s} write {write_s:8.1f} s ({len(hashes) / write_s:8.0f}/s)   "
          f"read {read_s:6.1f} s ({len(hashes) / read_s:8.0f}/s)   files {files:7d}   {size / 1e6:7.1f} MB on disk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=100_000)
    parser.add_argument("--chars", type=int, default=3000, help="characters of answer and reasoning per reply")
    parser.add_argument("--dir", default=None, help="where to write (default: the system's temporary folder)")
    args = parser.parse_args()
    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(args.replies)]
    cached = [entry(i, args.chars) for i in range(args.replies)]
    print(f"{args.replies} replies of about {args.chars} characters, one put each, then every one read back\n")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        files_root = Path(tmp) / "files"
        measure("files", ReplyFiles(str(files_root)), hashes, cached.__getitem__, files_root)
        for synchronous in ("FULL", "NORMAL"):
            folder = Path(tmp) / f"store-{synchronous.lower()}"
            store = ReplyStore(folder / REPLY_STORE_NAME, synchronous=synchronous)
            measure(f"store {synchronous}", store, hashes, cached.__getitem__, folder)
        started = time.perf_counter()
        with ReplyStore(files_root / REPLY_STORE_NAME) as store:
            counts = migrate_reply_files(files_root, store)
            assert len(store) == args.replies
        print(f"\nmigration of the {counts.files} files into a store: {time.perf_counter() - started:.1f} s "
              f"({counts.imported} imported)")


if __name__ == "__main__":
    main()
