"""Turn a manifest into stored shard plans: ``{data_root}/shard_plans/{shard}.parquet``.

Planning is deterministic, so registering the same manifest twice yields the same shards and
rewrites nothing; the Dagster shell then adds the shard names as dynamic partitions. A manifest
that shrank retires the shards it no longer produces (the shell deletes their partitions).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable

import fsspec
import pyarrow as pa

from acav_assets.contracts.layout import PLANS, DataLayout, beside, checked_name
from acav_assets.ingest.manifests import (
    MAX_CLIP_SECONDS,
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
RETIRED = "_retired"  # {data_root}/{asset}/_retired/{shard}.*: the outputs of shards a manifest no longer has


def plan_shards(
    location: str, clip_seconds: float, min_clip_seconds: float, shard_size: int, prefix: str | None = None,
    max_clip_seconds: float = MAX_CLIP_SECONDS,
) -> dict[str, pa.Table]:
    """Read, validate and cut a manifest (or audio folder) into shard plans."""
    rows = read_manifest(location)
    clips = plan_clips(rows, probe_duration, clip_seconds=clip_seconds, min_clip_seconds=min_clip_seconds,
                       max_clip_seconds=max_clip_seconds)
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


def _prefix(shard: str) -> str | None:
    """The prefix of a shard name ``{prefix}-{index:05d}``."""
    match = re.fullmatch(r"(.+)-\d{5,}", shard)
    return match.group(1) if match else None


def retire_orphaned_shards(
    data_root: str, manifest: str, current_shards: Iterable[str], folders: Iterable[str] | None = None,
    log: logging.Logger = logger,
) -> list[str]:
    """Retire the shards of ``manifest`` that its new plan no longer produces (it shrank): stored
    plans of this manifest with the prefix of ``current_shards`` but another name. Each one's plan
    and outputs (``{folder}/{shard}.*`` in ``folders``, default every folder of the data root) move
    to ``{folder}/_retired/``: kept, but out of the roll-ups that read ``{asset}/*.parquet``.
    Returns the retired shard names."""
    current = set(current_shards)
    prefixes = {_prefix(name) for name in current} - {None}
    layout = DataLayout(data_root)
    ours = _manifests(pa.table({"manifest": [manifest]}))
    orphans = sorted(
        name for name in storage.list_partitions(data_root, PLANS)
        if name not in current and _prefix(name) in prefixes
        and _manifests(storage.read_table(layout.shard_plan(name)).select(["manifest"])) == ours
    )
    if not orphans:
        return []
    fs, root = fsspec.core.url_to_fs(layout.base)
    if folders is None:
        folders = [p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(root, detail=False) if fs.isdir(p)]
    stems = tuple(f"{shard}." for shard in orphans)
    for folder in sorted({PLANS, *folders}):
        if not fs.isdir(f"{root}/{checked_name(folder, 'folder')}"):
            continue
        for name in (p.rsplit("/", 1)[-1] for p in fs.ls(f"{root}/{folder}", detail=False)):
            if name.startswith(stems):
                url = f"{layout.folder(folder)}/{name}"
                storage.move(url, beside(url, RETIRED))
    log.info("retired %d shards of %s that it no longer produces: %s", len(orphans), manifest, ", ".join(orphans))
    return orphans


def load_shard_plan(data_root: str, shard: str) -> pa.Table:
    url = DataLayout(data_root).shard_plan(shard)
    if not storage.exists(url):
        raise FileNotFoundError(
            f"no plan for shard {shard!r} at {url}: register its manifest with `acav-assets register`"
        )
    return storage.read_table(url, PLANNED_CLIP_SCHEMA)
