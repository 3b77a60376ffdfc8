"""Run a per-clip expert over a shard's audio tar and collect one row per clip.

Shared by every expert (acoustics now; tagging, speech and music later) so that they all
record failures the same way: a status and an error per clip, never a failed shard.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Mapping
from functools import partial

import numpy as np
import pyarrow as pa

from acav_assets.io.audio_decoding import TARGET_RATE
from acav_assets.io.audio_shards import read_audio_shard
from acav_assets.ingest.clip_decoding import STATUS_ERROR, STATUS_OK, bounded_map

logger = logging.getLogger(__name__)


def _analyse_clip(
    analyse: Callable[..., dict], shard: str, clip_kwargs: Mapping[str, dict], clip: tuple[str, np.ndarray]
) -> tuple[dict, float]:
    key, audio = clip
    row: dict = {"key": key, "shard": shard}
    try:
        row.update(analyse(audio, TARGET_RATE, **clip_kwargs.get(key, {})), status=STATUS_OK)
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
    started = last_report = time.monotonic()
    audio_seconds = 0.0
    for row, seconds in bounded_map(partial(_analyse_clip, analyse, shard, clip_kwargs or {}), clips, workers):
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


TOP_LABEL = pa.struct(
    [pa.field("mid", pa.string()), pa.field("label", pa.string()), pa.field("score", pa.float32())]
)
TAG_FIELDS = [
    pa.field("window_starts_s", pa.list_(pa.float64()), metadata={"unit": "s"}),
    pa.field("window_ends_s", pa.list_(pa.float64()), metadata={"unit": "s"}),
    pa.field("window_scores", pa.list_(pa.list_(pa.float32())),
             metadata={"unit": "probability", "description": "[window][label], labels as in label_mids"}),
    pa.field("clip_scores", pa.list_(pa.float32()), metadata={"unit": "probability"}),
    pa.field("top_labels", pa.list_(TOP_LABEL), metadata={"description": "the 10 best clip-level labels"}),
    pa.field("tagger", pa.string()),
]


def tag_shard(
    audio_url: str,
    shard: str,
    tagger,
    label_names: list[str],
    window_s: float = 2.0,
    clips_per_batch: int = 32,
    top_k: int = 10,
    log: logging.Logger = logger,
) -> pa.Table:
    """AudioSet scores of every clip in a shard, per ``window_s`` window and for the whole clip.

    Clips are tagged ``clips_per_batch`` at a time (all their windows in one batch) so memory
    stays bounded; a batch that fails is retried clip by clip so one bad clip cannot sink it."""
    from acav_assets.experts.tagging.taggers import tag_clips

    schema = expert_schema(TAG_FIELDS).with_metadata({"label_mids": json.dumps(list(tagger.label_mids))})
    tagger_name = getattr(tagger, "model_id", type(tagger).__name__)
    rows: list[dict] = []
    started = time.monotonic()
    audio_seconds = 0.0

    def rows_for(batch: list[tuple[str, np.ndarray]]) -> list[dict]:
        results = tag_clips(tagger, [audio for _, audio in batch], window_s=window_s)
        out = []
        for (key, audio), tags in zip(batch, results):
            duration = len(audio) / TARGET_RATE
            ends = np.append(tags.window_starts_s[1:], duration)
            best = np.argsort(tags.clip_scores)[::-1][:top_k]
            out.append({
                "key": key, "shard": shard,
                "window_starts_s": tags.window_starts_s.tolist(), "window_ends_s": ends.tolist(),
                "window_scores": tags.window_scores.tolist(), "clip_scores": tags.clip_scores.tolist(),
                "top_labels": [{"mid": tagger.label_mids[i], "label": label_names[i],
                                "score": float(tags.clip_scores[i])} for i in best],
                "tagger": tagger_name, "status": STATUS_OK,
            })
        return out

    def flush(batch: list[tuple[str, np.ndarray]]) -> None:
        try:
            rows.extend(rows_for(batch))
        except Exception:
            for item in batch:  # find the clip that failed; the others keep their tags
                try:
                    rows.extend(rows_for([item]))
                except Exception as error:
                    log.warning("tagging failed on clip %s: %s", item[0], error)
                    rows.append({"key": item[0], "shard": shard, "tagger": tagger_name,
                                 "status": STATUS_ERROR, "error": f"{type(error).__name__}: {error}"})

    batch: list[tuple[str, np.ndarray]] = []
    for key, audio, _ in read_audio_shard(audio_url):
        batch.append((key, audio))
        audio_seconds += len(audio) / TARGET_RATE
        if len(batch) >= clips_per_batch:
            flush(batch)
            batch = []
            log.info("tagging: %d clips, %.1f audio-s per s", len(rows), audio_seconds / (time.monotonic() - started))
    if batch:
        flush(batch)
    elapsed = max(time.monotonic() - started, 1e-9)
    log.info("tagging: %d clips, %.0f s of audio in %.1f s (%.1f audio-s per s)",
             len(rows), audio_seconds, elapsed, audio_seconds / elapsed)
    return pa.Table.from_pylist(rows, schema=schema)


def label_mids_of(table: pa.Table) -> list[str]:
    """The label order of a tags table's score vectors."""
    return json.loads(table.schema.metadata[b"label_mids"])
