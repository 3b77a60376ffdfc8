"""Turn a manifest into stored shard plans: ``{data_root}/shard_plans/{shard}.parquet``.

Planning is deterministic, so registering the same manifest twice yields the same shards and
rewrites nothing; the Dagster shell then adds the shard names as dynamic partitions.
"""

from __future__ import annotations

import logging
import os

import pyarrow as pa

from acav_assets.contracts.layout import DataLayout
from acav_assets.ingest.manifests import (
    PLANNED_CLIP_SCHEMA,
    ManifestError,
    plan_clips,
    read_manifest,
    shard_prefix,
    split_into_shards,
)
from acav_assets.io import storage
from acav_assets.io.audio_decoding import probe_duration

logger = logging.getLogger(__name__)


def plan_shards(
    location: str, clip_seconds: float, min_clip_seconds: float, shard_size: int, prefix: str | None = None
) -> dict[str, pa.Table]:
    """Read, validate and cut a manifest (or audio folder) into shard plans."""
    rows = read_manifest(location)
    clips = plan_clips(rows, probe_duration, clip_seconds=clip_seconds, min_clip_seconds=min_clip_seconds)
    return split_into_shards(clips, prefix or shard_prefix(location), shard_size)


def _manifests(table: pa.Table) -> set[str]:
    """The manifests a plan's clips come from, local paths made absolute."""
    return {m if m is None or "://" in m else os.path.abspath(m) for m in table["manifest"].to_pylist()}


def store_shard_plans(shards: dict[str, pa.Table], data_root: str, log: logging.Logger = logger) -> list[str]:
    """Write plans that are new or changed; returns the names of the shards written. A shard name
    that already holds another manifest's plan (two manifests with the same file name) is refused
    before anything is written, so one corpus never silently replaces another's plans."""
    layout = DataLayout(data_root)
    stored = {name: storage.read_table(layout.shard_plan(name), PLANNED_CLIP_SCHEMA) for name in shards
              if storage.exists(layout.shard_plan(name))}
    for name, table in shards.items():
        if name in stored:
            theirs, ours = _manifests(stored[name]), _manifests(table)
            if theirs != ours:
                raise ManifestError(
                    f"shard {name} already holds the plan of {', '.join(sorted(map(str, theirs)))}; register "
                    f"{', '.join(sorted(map(str, ours)))} under another name (acav-assets register --prefix NAME)")
    written = []
    for name, table in shards.items():
        if name in stored and stored[name].equals(table):
            continue
        storage.write_table(table, layout.shard_plan(name))
        written.append(name)
        log.info("planned shard %s: %d clips", name, table.num_rows)
    return written


def load_shard_plan(data_root: str, shard: str) -> pa.Table:
    url = DataLayout(data_root).shard_plan(shard)
    if not storage.exists(url):
        raise FileNotFoundError(
            f"no plan for shard {shard!r} at {url}: register its manifest with `acav-assets register`"
        )
    return storage.read_table(url, PLANNED_CLIP_SCHEMA)
