"""Which per-shard outputs are missing or older than their inputs: the plan for a nightly backfill
and for resuming an interrupted one.

Parquet is the source of truth, so freshness is read from the files themselves: one listing per
asset folder (``{data_root}/{asset}/``) gives every shard's modification time, on a local disk or
an object store alike. An output is *due* when its file is missing, when any upstream output is
due, when an upstream file is newer than it (the upstream was recomputed or, for the root,
the shard's plan changed), or when its last run was refused by its blocking checks (a
``{asset}/_rejected/{shard}.json`` newer than the live file: see ``ops.promotion``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from graphlib import TopologicalSorter

import fsspec

from acav_assets.contracts.layout import PLANS, REJECTED, DataLayout

TEMPORARY_MARKER = ".tmp-"


def modification_times(data_root: str, folders: Iterable[str], ext: str = "parquet") -> dict[str, dict[str, float]]:
    """``{folder: {partition: mtime in seconds}}`` from one listing per folder; temporary files skipped."""
    layout = DataLayout(data_root)
    return {folder: _file_times(layout.folder(folder), ext) for folder in folders}


def refusal_times(data_root: str, folders: Iterable[str]) -> dict[str, dict[str, float]]:
    """``{folder: {partition: time of its last refused promotion}}`` from the rejection notes."""
    layout = DataLayout(data_root)
    return {folder: _file_times(f"{layout.folder(folder)}/{REJECTED}", "json") for folder in folders}


def _file_times(url: str, ext: str) -> dict[str, float]:
    fs, path = fsspec.core.url_to_fs(url)
    suffix = f".{ext}"
    found = {}
    for info in fs.ls(path, detail=True) if fs.exists(path) else []:
        name = info["name"].rsplit("/", 1)[-1]
        if info.get("type") == "file" and name.endswith(suffix) and TEMPORARY_MARKER not in name:
            found[name[: -len(suffix)]] = _mtime(info)
    return found


def _mtime(info: Mapping) -> float:
    value = info.get("mtime", info.get("LastModified", info.get("updated")))
    if value is None:
        return 0.0
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


@dataclass(frozen=True)
class DueShard:
    shard: str
    assets: tuple[str, ...]  # in dependency order
    reason: str  # for the first due asset: "missing" or "older than <upstream>"


def due_assets(
    shard: str, dependencies: Mapping[str, Sequence[str]], times: Mapping[str, Mapping[str, float]],
    root: str = PLANS, refused: Mapping[str, Mapping[str, float]] | None = None,
) -> tuple[list[str], str]:
    """The assets of ``shard`` to recompute, in dependency order, and why the first one is due.

    ``dependencies`` maps each per-shard asset to its per-shard upstream assets; an asset with
    none depends on ``root`` (the shard's plan). ``refused`` (from :func:`refusal_times`) makes an
    asset whose last run was refused after its live file was written due again.
    """
    order = list(TopologicalSorter({a: list(d) for a, d in dependencies.items()}).static_order())
    due: list[str] = []
    reason = ""
    for asset in order:
        if asset not in dependencies:
            continue
        upstream = list(dependencies[asset]) or [root]
        mine = times.get(asset, {}).get(shard)
        why = ""
        if mine is None:
            why = "missing"
        elif any(u in due for u in upstream):
            why = "upstream due"
        elif (refused or {}).get(asset, {}).get(shard, float("-inf")) >= mine:
            why = "its last run was refused by its checks"
        else:
            newer = [u for u in upstream if times.get(u, {}).get(shard, float("-inf")) > mine]
            if newer:
                why = f"older than {newer[0]}"
        if why:
            due.append(asset)
            reason = reason or f"{asset}: {why}"
    return due, reason


def due_shards(
    shards: Sequence[str], dependencies: Mapping[str, Sequence[str]], times: Mapping[str, Mapping[str, float]],
    limit: int | None = None, skip: Iterable[str] = (), root: str = PLANS,
    refused: Mapping[str, Mapping[str, float]] | None = None,
) -> list[DueShard]:
    """Shards (in the given order, ``skip`` left out) with something due, at most ``limit`` of them.

    A shard without a plan is skipped: it cannot be computed until its manifest is registered.
    """
    skipped = set(skip)
    found: list[DueShard] = []
    for shard in shards:
        if limit is not None and len(found) >= limit:
            break
        if shard in skipped or shard not in times.get(root, {}):
            continue
        assets, reason = due_assets(shard, dependencies, times, root, refused)
        if assets:
            found.append(DueShard(shard, tuple(assets), reason))
    return found


def remove_partial_files(data_root: str, folders: Iterable[str], shards: Iterable[str]) -> list[str]:
    """Delete the temporary files a killed writer left for ``shards`` (a rename never happened, so
    readers never saw them); returns what was removed. Only for shards no run is writing."""
    wanted = set(shards)
    removed = []
    for folder in folders:
        fs, path = fsspec.core.url_to_fs(DataLayout(data_root).folder(folder))
        if not fs.exists(path):
            continue
        for name in fs.ls(path, detail=False):
            base = name.rsplit("/", 1)[-1]
            if TEMPORARY_MARKER in base and base[: base.index(TEMPORARY_MARKER)].rsplit(".", 1)[0] in wanted:
                fs.rm(name)
                removed.append(name)
    return removed
