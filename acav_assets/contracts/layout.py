"""Where everything lives under the data root, and the one rule for local vs object-store roots.

Every path the pipeline reads or writes is built here, so the on-disk contract can be read in
one place::

    {root}/shard_plans/{shard}.parquet          planned clips of a shard (register, sensor)
    {root}/audio/{shard}.tar                    decoded 16 kHz FLAC, WebDataset layout
    {root}/{asset}/{partition}.parquet          every tabular asset (clips, tags, captions ...)
    {root}/{asset}/{asset}.parquet              an unpartitioned tabular asset
    {root}/{asset}/_staged/{partition}.*        a new output waiting for its checks (ops.promotion)
    {root}/{asset}/_rejected/{partition}.*      a new output its checks refused, with the reasons
    {root}/{asset}/_retired/{shard}.*           outputs of shards a shrunk manifest no longer plans
    {root}/manifests/                           manifests the sensor watches (unless overridden)
    {root}/llm_cache/                           cached LLM replies (a re-run never pays twice)
    {root}/release/                             the published files
    {root}/training_runs/{run}.json             a training run's config
    {root}/training/{run}/                      its checkpoints and loss curve
    {root}/predictions/{system}/                a scored system's six prediction CSVs
    {root}/downstream_scores/{run}/{task}.json  one downstream probe's scores
    {root}/warehouse.duckdb                     statistics, rebuilt from the Parquet at any time

A root is local when it is a path or a ``file://`` URL; anything else with ``://`` (``s3://``,
``gs://`` ...) is an object store reached through fsspec. Every name put into a path (asset,
shard, run, system, task) must be one plain path component, so that no partition key, manifest
name or ``--prefix`` can reach outside the data root.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PLANS = "shard_plans"
AUDIO = "audio"
STAGED = "_staged"
REJECTED = "_rejected"


def is_remote(url: str) -> bool:
    """True for an object-store URL, False for a local path or ``file://`` URL."""
    return "://" in url and not url.startswith("file://")


def local_path(url: str) -> str | None:
    """The local filesystem path behind ``url``, or None for an object store."""
    if is_remote(url):
        return None
    return url[len("file://"):] if url.startswith("file://") else url


# Every name put into a path: letters, digits, '_' first, then also '.', '-', '+', '='; at most
# 200 characters. Nothing else (no separators, spaces, control or look-alike characters) reaches a path.
SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._=+-]{0,199}")


def checked_name(name: str, what: str = "name") -> str:
    """``name`` if it is one safe path component (:data:`SAFE_NAME`), else a ValueError saying why."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} must be a non-empty string, got {name!r}")
    if not SAFE_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"{what} {name!r} is not a safe name: use letters, digits and '_', '.', '-', '+', '=' "
                         "(not first, except '_'), at most 200 characters, no '..'")
    return name


def beside(url: str, subfolder: str) -> str:
    """``url`` moved into ``subfolder`` of its own folder (``_staged``, ``_rejected``): the same
    filesystem, so a rename promotes it, and outside ``{asset}/*.parquet`` so no roll-up reads it."""
    folder, name = url.rsplit("/", 1)
    return f"{folder}/{checked_name(subfolder, 'subfolder')}/{name}"


def normalise_root(root: str) -> str:
    """A local root made absolute (so runs started elsewhere find it); URLs unchanged."""
    return root if "://" in root else str(Path(root).resolve())


@dataclass(frozen=True)
class DataLayout:
    """The paths of one data root."""

    root: str

    @property
    def base(self) -> str:
        return self.root.rstrip("/")

    @property
    def is_local(self) -> bool:
        return not is_remote(self.root)

    def local_root(self, purpose: str) -> Path:
        """The root as a local path; ``purpose`` names what needs it in the error for an object store."""
        local = local_path(self.base)
        if local is None:
            raise ValueError(f"{purpose} needs a local data root (or a mounted bucket); {self.root} is an object "
                             "store: set ACAV_DATA_ROOT to a local path")
        return Path(local)

    # Tabular assets and the shard audio
    def table(self, asset: str, partition: str | None = None, ext: str = "parquet") -> str:
        """One asset partition, or an unpartitioned asset (``{asset}/{asset}.{ext}``)."""
        name = checked_name(partition, "partition") if partition is not None else asset
        return f"{self.base}/{checked_name(asset, 'asset')}/{name}.{ext}"

    def glob(self, asset: str, ext: str = "parquet") -> str:
        return f"{self.base}/{checked_name(asset, 'asset')}/*.{ext}"

    def folder(self, asset: str) -> str:
        return f"{self.base}/{checked_name(asset, 'asset')}"

    def shard_plan(self, shard: str) -> str:
        return self.table(PLANS, shard)

    def audio_tar(self, shard: str) -> str:
        return self.table(AUDIO, shard, "tar")

    # Inputs and caches
    @property
    def manifests(self) -> str:
        return f"{self.base}/manifests"

    @property
    def llm_cache(self) -> str:
        return f"{self.base}/llm_cache"

    # The release
    def release_folder(self) -> Path:
        return self.local_root("the release") / "release"

    def release_webdataset(self) -> Path:
        return self.release_folder() / "webdataset"

    # Training and evaluation
    def training_run_file(self, run: str) -> Path:
        return self.local_root("training") / "training_runs" / f"{checked_name(run, 'run')}.json"

    def training_folder(self, run: str) -> Path:
        return self.local_root("training") / "training" / checked_name(run, "run")

    def predictions(self, system: str) -> str:
        """A system's prediction CSVs: written by caption_predictions or ``acav-assets add-system``."""
        return f"{self.base}/predictions/{checked_name(system, 'system')}"

    def downstream_scores(self, run: str, task: str) -> Path:
        folder = self.local_root("downstream probes") / "downstream_scores" / checked_name(run, "run")
        return folder / f"{checked_name(task, 'task')}.json"

    # Statistics
    def warehouse(self) -> str:
        """The DuckDB file: beside the data on a local root, else in the working directory (DuckDB
        cannot write to an object store)."""
        local = local_path(self.base)
        return f"{local}/warehouse.duckdb" if local else str(Path("acav_warehouse.duckdb").resolve())
