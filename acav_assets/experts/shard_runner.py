"""Run a per-clip expert over a shard's audio tar and collect one row per clip.

Shared by every expert that analyses audio clip by clip, so that they all record failures the
same way: a status and an error per clip, never a failed shard.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from functools import partial

import numpy as np
import pyarrow as pa

from acav_assets.contracts.domains import STATUS_ERROR, STATUS_OK, error_text
from acav_assets.ingest.clip_decoding import bounded_map
from acav_assets.io.audio_decoding import TARGET_RATE
from acav_assets.io.audio_shards import read_audio_shard
from acav_assets.io.progress import ShardProgress

logger = logging.getLogger(__name__)


def _analyse_clip(
    analyse: Callable[..., dict], shard: str, clip_kwargs: Mapping[str, dict], clip: tuple[str, np.ndarray]
) -> tuple[dict, float]:
    key, audio = clip
    row: dict = {"key": key, "shard": shard}
    try:
        row.update(analyse(audio, TARGET_RATE, **clip_kwargs.get(key, {})), status=STATUS_OK)
    except Exception as error:  # one clip's failure is recorded, the shard goes on
        row.update(status=STATUS_ERROR, error=error_text(error))
    return row, len(audio) / TARGET_RATE


def expert_schema(fields: list[pa.Field]) -> pa.Schema:
    """key and shard, the expert's own fields, then status and error."""
    return pa.schema(
        [pa.field("key", pa.string(), nullable=False), pa.field("shard", pa.string(), nullable=False)]
        + list(fields)
        + [
            pa.field("status", pa.string(), nullable=False, metadata={"description": "ok | error"}),
            pa.field("error", pa.string()),
        ]
    )


def analyse_shard(
    audio_url: str,
    shard: str,
    fields: list[pa.Field],
    analyse: Callable[..., dict],
    keys: Collection[str] | None = None,
    clip_kwargs: Mapping[str, dict] | None = None,
    workers: int = 2,
    name: str = "expert",
    progress_every_s: float = 15.0,
    log: logging.Logger = logger,
) -> pa.Table:
    """Apply ``analyse(audio, sample_rate, **clip_kwargs[key])`` to every clip in the tar at
    ``audio_url`` (only to ``keys`` when given) and collect one row per clip."""
    schema = expert_schema(fields)
    clips = ((key, audio) for key, audio, _ in read_audio_shard(audio_url, keys))
    rows = []
    progress = ShardProgress(name, log=log, every_s=progress_every_s)
    for row, seconds in bounded_map(partial(_analyse_clip, analyse, shard, clip_kwargs or {}), clips, workers):
        rows.append(row)
        if row["status"] != STATUS_OK:
            log.warning("%s failed on clip %s: %s", name, row["key"], row["error"])
        progress.add(seconds)
    progress.finish(failed=sum(row["status"] != STATUS_OK for row in rows))
    return pa.Table.from_pylist(rows, schema=schema)


def analyse_shard_in_groups(
    audio_url: str,
    shard: str,
    fields: list[pa.Field],
    analyse_many: Callable[[list[np.ndarray]], list[dict | Exception]],
    keys: Collection[str] | None = None,
    group_size: int = 16,
    name: str = "expert",
    progress_every_s: float = 15.0,
    log: logging.Logger = logger,
) -> pa.Table:
    """Like :func:`analyse_shard`, for an expert that analyses ``group_size`` clips per call
    (to batch its model): ``analyse_many(audios)`` returns, per clip, its row or the exception
    that clip raised; an exception from the call itself fails only that group's clips."""
    schema = expert_schema(fields)
    rows: list[dict] = []
    progress = ShardProgress(name, log=log, every_s=progress_every_s)
    group: list[tuple[str, np.ndarray]] = []

    def flush() -> None:
        try:
            results = analyse_many([audio for _, audio in group])
        except Exception as error:  # the group's clips fail, the shard goes on
            results = [error] * len(group)
        for (key, audio), result in zip(group, results):
            row: dict = {"key": key, "shard": shard}
            if isinstance(result, Exception):
                row.update(status=STATUS_ERROR, error=error_text(result))
                log.warning("%s failed on clip %s: %s", name, key, row["error"])
            else:
                row.update(result, status=STATUS_OK)
            rows.append(row)
            progress.add(len(audio) / TARGET_RATE)
        group.clear()

    for key, audio, _ in read_audio_shard(audio_url, keys):
        group.append((key, audio))
        if len(group) >= group_size:
            flush()
    if group:
        flush()
    progress.finish(failed=sum(row["status"] != STATUS_OK for row in rows))
    return pa.Table.from_pylist(rows, schema=schema)
