"""Run a per-clip expert over a shard's audio tar and collect one row per clip.

Shared by every expert (acoustics now; tagging, speech and music later) so that they all
record failures the same way: a status and an error per clip, never a failed shard.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import pyarrow as pa

from acav_assets.audio_decoding import TARGET_RATE
from acav_assets.audio_shards import read_audio_shard
from acav_assets.clip_decoding import STATUS_ERROR, STATUS_OK, bounded_map

logger = logging.getLogger(__name__)


def _analyse_clip(
    analyse: Callable[[np.ndarray, int], dict], shard: str, clip: tuple[str, np.ndarray]
) -> tuple[dict, float]:
    key, audio = clip
    row: dict = {"key": key, "shard": shard}
    try:
        row.update(analyse(audio, TARGET_RATE), status=STATUS_OK)
    except Exception as error:  # one clip's failure is recorded, the shard goes on
        row.update(status=STATUS_ERROR, error=f"{type(error).__name__}: {error}")
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
    analyse: Callable[[np.ndarray, int], dict],
    workers: int = 2,
    name: str = "expert",
    progress_every_s: float = 15.0,
    log: logging.Logger = logger,
) -> pa.Table:
    """Apply ``analyse(audio, sample_rate)`` to every clip in the tar at ``audio_url``."""
    schema = expert_schema(fields)
    clips = ((key, audio) for key, audio, _ in read_audio_shard(audio_url))
    rows = []
    started = last_report = time.monotonic()
    audio_seconds = 0.0
    for row, seconds in bounded_map(partial(_analyse_clip, analyse, shard), clips, workers):
        rows.append(row)
        audio_seconds += seconds
        if row["status"] != STATUS_OK:
            log.warning("%s failed on clip %s: %s", name, row["key"], row["error"])
        now = time.monotonic()
        if now - last_report >= progress_every_s:
            last_report = now
            log.info("%s: %d clips, %.1f audio-s per s", name, len(rows), audio_seconds / (now - started))
    elapsed = max(time.monotonic() - started, 1e-9)
    log.info(
        "%s: %d clips, %.0f s of audio in %.1f s (%.1f audio-s per s)",
        name, len(rows), audio_seconds, elapsed, audio_seconds / elapsed,
    )
    return pa.Table.from_pylist(rows, schema=schema)
