"""The hostile run: the whole per-shard graph, through the ``acav-assets`` CLI as a user runs it,
on the hostile audio corpus, with captions from an endpoint that injects a fault into every
clip's first request, then outages of the audio source and of the endpoint. Prints the counts
that must all be zero: crashes, good clips lost, clips without a reason, requests repeated for
clips already answered. ``make hostile`` or ``python -m acav_assets_tests.hostile_run``.

Broken manifests are planned one by one (``build_hostile_manifests``); each must be refused with
its expected message or planned with every bad row explained.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from acav_assets.contracts.domains import STATUS_OK
from acav_assets.contracts.layout import DataLayout
from acav_assets.experts.registry import EXPERTS
from acav_assets.io import storage
from acav_assets_tests.fault_endpoint import FAULTS, FaultEndpoint
from acav_assets_tests.hostile_corpus import (
    OK,
    build_hostile_audio,
    hostile_counts,
    hostile_manifest_run,
)

# Faults that refuse the configuration stop a run as a whole: they belong to the outage phase.
SYSTEMIC_FAULTS = ("http_401", "http_403", "http_404_model")
EXPECTED_STOPS = ("SourceUnreachable", "EndpointUnreachable", "PromotionRefused")


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "acav_assets.cli", *args], env=env, capture_output=True, text=True,
                            check=False)
    print(f"$ acav-assets {' '.join(args)}  -> rc {result.returncode} in {time.monotonic() - started:.0f} s")
    return result


def failed_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.strip().startswith(("FAILED", "step ", "check "))]


def rows_without_reason(layout: DataLayout, shard: str) -> int:
    """Error rows of every per-shard table with an empty reason."""
    missing = 0
    for name in ["clips", *(spec.name for spec in EXPERTS), "captions"]:
        url = layout.table(name, shard)
        if storage.exists(url):
            table = storage.read_table(url)
            missing += sum(1 for row in table.select(["status", "error"]).to_pylist()
                           if row["status"] != STATUS_OK and not (row["error"] or "").strip())
    drops = layout.table("curation_drops", shard)
    if storage.exists(drops):
        missing += sum(1 for reason in storage.read_table(drops)["reason"].to_pylist() if not reason)
    return missing


def good_keys(layout: DataLayout, shard: str) -> dict[str, set[str]]:
    """The clips each per-shard table holds as good: what an outage must not take away."""
    found = {}
    for name in ("clips", "captions"):
        table = storage.read_table(layout.table(name, shard))
        found[name] = {k for k, s in zip(table["key"].to_pylist(), table["status"].to_pylist()) if s == STATUS_OK}
    found["curated_captions"] = set(storage.read_table(layout.table("curated_captions", shard))["key"].to_pylist())
    return found


def tar_members(layout: DataLayout, shard: str) -> int:
    with tarfile.open(layout.audio_tar(shard)) as tar:
        return len(tar.getnames())


def main(argv: list[str] | None = None) -> dict[str, int]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", help="work here and keep the files (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        return run(Path(args.folder or temporary))


def run(folder: Path) -> dict[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    counts = collections.Counter(crashes=0, good_clips_lost=0, clips_without_reason=0, repeated_requests=0,
                                 wrong_outcome=0)

    # 1. Broken manifests, planned (and decoded) one by one.
    found = hostile_manifest_run(folder / "manifest_cases")
    counts.update(found)
    print(f"broken manifests: {json.dumps(found)}")
    cases = build_hostile_audio(folder / "audio")

    # 2. The hostile audio through the whole per-shard graph, an LLM fault on every clip.
    manifest = folder / "hostile.csv"
    with manifest.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["audio", "title"])
        writer.writerows([str(case.file.absolute()), f"fxclip-{case.name}"] for case in cases)
    kinds = [fault for fault in FAULTS if fault not in SYSTEMIC_FAULTS]
    schedule = {case.name: [kinds[i % len(kinds)], "good"] for i, case in enumerate(cases)}
    data = folder / "data"
    with FaultEndpoint(schedule) as endpoint:
        env = dict(os.environ, ACAV_DATA_ROOT=str(data), DAGSTER_HOME=str(folder / "dagster_home"),
                   HF_HUB_OFFLINE="1", OPENAI_BASE_URL=endpoint.base_url, ACAV_LLM_MODEL=endpoint.model,
                   OPENAI_API_KEY="hostile", ACAV_LLM_TIMEOUT_S="3", ACAV_LLM_MAX_RETRIES="2",
                   ACAV_LLM_CLIP_DEADLINE_S="60")
        registered = cli(env, "register", str(manifest), "--prefix", "hostile")
        if registered.returncode != 0:
            raise SystemExit(f"the hostile manifest was refused: {registered.stdout[-2000:]}{registered.stderr[-2000:]}")
        (shard,) = storage.list_partitions(str(data), "shard_plans")
        first = cli(env, "materialize")
        counts["crashes"] += registered.returncode != 0
        counts["crashes"] += len([line for line in failed_lines(first) if line.startswith("FAILED")])
        print("\n".join(failed_lines(first)))
        layout = DataLayout(str(data))
        clips = storage.read_table(layout.table("clips", shard))
        audio = hostile_counts(clips, cases)
        counts["good_clips_lost"] += audio["good_clips_lost"]
        counts["wrong_outcome"] += audio["wrong_outcome"]
        counts["crashes"] += audio["crashes"]
        decoded = {row["key"] for row in clips.to_pylist() if row["status"] == STATUS_OK}
        captions = storage.read_table(layout.table("captions", shard))
        counts["good_clips_lost"] += len(decoded - set(captions["key"].to_pylist()))
        captioned = {k for k, s in zip(captions["key"].to_pylist(), captions["status"].to_pylist()) if s == STATUS_OK}
        answered_names = {row["title"].split()[0][len("fxclip-"):] for row in
                          storage.read_table(layout.table("metadata", shard)).to_pylist()
                          if row["key"] in captioned and row.get("title")}
        counts["clips_without_reason"] += rows_without_reason(layout, shard)
        print(f"{len(cases)} hostile audio files: {sum(c.expected == OK for c in cases)} expected to decode, "
              f"{len(decoded)} decoded, {sum(r == STATUS_OK for r in captions['status'].to_pylist())} captioned "
              f"after {sum(endpoint.counts.values())} LLM requests")

        # 3. The same graph again: nothing already answered is asked for again.
        before = collections.Counter(endpoint.counts)
        again = cli(env, "materialize")
        counts["crashes"] += len([line for line in failed_lines(again) if line.startswith("FAILED")])
        asked = collections.Counter(endpoint.counts) - before
        counts["repeated_requests"] += sum(asked[name] for name in answered_names)

        # 4. Outages. A new model while the endpoint answers only 503 (nothing cached for it), then
        # the audio source gone: each step must stop and leave every good output in place.
        before_keys, before_members = good_keys(layout, shard), tar_members(layout, shard)
        endpoint.default, endpoint.schedule = ("http_503",), {}
        outage_env = dict(env, ACAV_LLM_MODEL=f"{endpoint.model}-next")
        os.utime(layout.table("evidence", shard))  # captions due again
        outage = cli(outage_env, "materialize", "--resume")
        stops = failed_lines(outage)
        print("\n".join(stops))
        counts["crashes"] += outage.returncode == 0 or not any("EndpointUnreachable" in line for line in stops)
        (folder / "audio").rename(folder / "audio.unmounted")
        os.utime(layout.shard_plan(shard))  # everything due again
        gone = cli(env, "materialize", "--resume")
        stops = failed_lines(gone)
        print("\n".join(stops))
        counts["crashes"] += gone.returncode == 0 or not any("SourceUnreachable" in line for line in stops)
        after_keys = good_keys(layout, shard)
        counts["good_clips_lost"] += sum(len(before_keys[name] - after_keys[name]) for name in before_keys)
        counts["good_clips_lost"] += before_members - tar_members(layout, shard)
        (folder / "audio.unmounted").rename(folder / "audio")

    summary = dict(counts)
    print("\nhostile run:", json.dumps(summary))
    return summary


if __name__ == "__main__":
    result = main()
    sys.exit(0 if not any(result.values()) else 1)
