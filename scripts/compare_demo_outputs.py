"""Compare two demo data roots file by file: the check that a refactoring changed no output.

    .venv/bin/acav-assets demo --data-root /tmp/before      # on the old commit
    .venv/bin/acav-assets demo --data-root /tmp/after       # on the new one
    .venv/bin/python scripts/compare_demo_outputs.py /tmp/before /tmp/after \
        --checkout OLD_CHECKOUT NEW_CHECKOUT      # when the two runs read the demo corpus from two clones

Parquet tables are compared row by row after sorting on their key columns; JSON lines (also
gzipped) line by line; tars member by member; other files byte for byte. Values that record
when or how fast something ran, rather than what it produced, are left out (see VOLATILE).
Exits 1 when anything differs, listing every difference.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import re
import sys
import tarfile
from pathlib import Path

import pyarrow.parquet as pq

# Columns and JSON fields that record time, speed or the machine, not the result.
VOLATILE = re.compile(r"(^|_)(seconds_taken|elapsed|wall|latency|created|updated|timestamp|started|finished|"
                      r"mtime|written_at|run_id|duration_ms)($|_)|_at$")
# Folders that hold Dagster's own instance state, logs or derived databases rebuilt each run.
SKIPPED_DIRS = {"dagster_home", "logs", "storage", "history", "schedules", ".tmp_dagster_home"}
SKIPPED_SUFFIXES = {".duckdb", ".wal", ".lock", ".log"}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


# Path prefixes that name where each run's checkout was, replaced by one placeholder.
CHECKOUTS: list[str] = []


def _clean(value):
    """A value with volatile fields dropped, checkout paths replaced and floats rounded to 9
    significant digits."""
    if isinstance(value, str):
        for prefix in CHECKOUTS:
            value = value.replace(prefix, "<checkout>")
        return value
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not VOLATILE.search(str(k))}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float):
        return value if not math.isfinite(value) else float(f"{value:.9g}")
    return value


def _parquet_rows(path: Path) -> list[str]:
    table = pq.read_table(path)
    keep = [name for name in table.column_names if not VOLATILE.search(name)]
    rows = [json.dumps(_clean(row), sort_keys=True, default=str) for row in table.select(keep).to_pylist()]
    return sorted(rows)


def _json_lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        lines = [line for line in handle.read().splitlines() if line.strip()]
    out = []
    for line in lines:
        try:
            out.append(json.dumps(_clean(json.loads(line)), sort_keys=True))
        except json.JSONDecodeError:
            out.append(line)
    return sorted(out)


def _tar_members(path: Path) -> list[str]:
    with tarfile.open(path) as tar:
        members = []
        for member in tar.getmembers():
            if member.isfile():
                data = tar.extractfile(member).read()
                if member.name.endswith(".json"):
                    data = json.dumps(_clean(json.loads(data)), sort_keys=True).encode()
                members.append(f"{member.name} {_digest(data)}")
        return sorted(members)


def fingerprint(path: Path) -> list[str]:
    name = path.name
    if name.endswith(".parquet"):
        return _parquet_rows(path)
    if name.endswith((".jsonl", ".jsonl.gz")):
        return _json_lines(path)
    if name.endswith(".json"):
        return [json.dumps(_clean(json.loads(path.read_text())), sort_keys=True)]
    if name.endswith(".tar"):
        return _tar_members(path)
    return [_digest(path.read_bytes())]


def outputs(root: Path) -> dict[str, Path]:
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or set(relative.parts) & SKIPPED_DIRS or path.suffix in SKIPPED_SUFFIXES:
            continue
        if ".tmp-" in path.name:
            continue
        found[str(relative)] = path
    return found


def compare(before: Path, after: Path) -> list[str]:
    old, new = outputs(before), outputs(after)
    problems = [f"only in {before}: {name}" for name in sorted(set(old) - set(new))]
    problems += [f"only in {after}: {name}" for name in sorted(set(new) - set(old))]
    for name in sorted(set(old) & set(new)):
        a, b = fingerprint(old[name]), fingerprint(new[name])
        if a != b:
            first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            show = lambda rows: rows[first][:300] if first < len(rows) else "<none>"  # noqa: E731
            problems.append(f"differs: {name} ({len(a)} vs {len(b)} rows; first difference at row {first})\n"
                            f"    before: {show(a)}\n    after:  {show(b)}")
    print(f"compared {len(set(old) & set(new))} files")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--checkout", nargs=2, metavar=("BEFORE", "AFTER"),
                        help="the two checkouts the runs were made from (their paths are equal for the comparison)")
    args = parser.parse_args()
    if args.checkout:
        CHECKOUTS.extend(str(Path(c).resolve()) for c in args.checkout)
    problems = compare(args.before, args.after)
    for problem in problems:
        print(problem)
    print("identical outputs" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
