"""Decode every planned clip of a shard once: write the audio tar and the ``clips`` table.

A clip that cannot be decoded is recorded with its reason; it never stops the other clips. A
source that cannot be reached (SystemicFailure) fails the whole shard instead. URLs are stored and
logged redacted (no credentials or signatures); only the plan keeps them whole, to read from.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import TypeVar

import pyarrow as pa

from acav_assets.contracts.domains import STATUS_ERROR, STATUS_OK, error_text
from acav_assets.contracts.failures import SourceUnreachable, SystemicFailure
from acav_assets.ingest.manifests import PLANNED_CLIP_SCHEMA
from acav_assets.io import storage
from acav_assets.io.audio_decoding import TARGET_RATE, AudioDecodeError, decode_clip
from acav_assets.io.audio_shards import AudioShardWriter, EncodedClip, encode_flac
from acav_assets.io.markdown import Markdown, rows_table
from acav_assets.io.progress import ShardProgress
from acav_assets.io.url_redaction import redact_text, redact_url

logger = logging.getLogger(__name__)

# Shorter decoded audio carries nothing an expert can use (a window cut at the very end of a file).
MIN_DECODED_SECONDS = 0.1

CLIPS_SCHEMA = pa.schema(
    list(PLANNED_CLIP_SCHEMA)
    + [
        pa.field("duration_s", pa.float64(), metadata={"unit": "s", "description": "decoded clip length"}),
        pa.field("sample_rate", pa.int32(), metadata={"unit": "Hz", "description": "rate of the stored audio"}),
        pa.field("original_sample_rate", pa.int32(), metadata={"unit": "Hz"}),
        pa.field("original_channels", pa.int32(), metadata={"unit": "channels"}),
        pa.field("checksum", pa.string(), metadata={"description": "sha256 of the stored 16-bit PCM"}),
        pa.field("status", pa.string(), nullable=False, metadata={"description": "ok | error"}),
        pa.field("error_kind", pa.string()),
        pa.field("error", pa.string()),
        pa.field("warning", pa.string()),
    ]
)

# Failures explained by a defect of the input file or its manifest row; the error-rate gate
# counts only the others (an unexplained decoder exception).
INPUT_DEFECTS = frozenset({
    "missing_file", "empty_file", "unsupported_location", "unreadable_format", "no_audio_stream",
    "truncated_or_corrupt", "window_out_of_range", "empty_audio", "non_finite_samples", "too_short",
    "window_too_long", "unknown_host",
})
# Failure kinds that, when every clip of a shard of at least BROKEN_SOURCE_MIN_CLIPS fails with
# the same one, mean the source is broken (an unmounted disk, a wrong bucket), not the files.
SOURCE_KINDS = frozenset({"missing_file", "unsupported_location", "unknown_host"})
BROKEN_SOURCE_MIN_CLIPS = 3

T = TypeVar("T")
R = TypeVar("R")


def bounded_map(function: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``map`` over a thread pool, in order, with at most ``2 * workers`` results in flight so
    memory stays bounded however long the shard is. (libsndfile, FFmpeg, soxr and numpy release
    the GIL; worker processes were measured slower for 10 s clips.)"""
    if workers <= 1:
        yield from map(function, items)
        return
    with ThreadPoolExecutor(workers) as pool:
        in_flight: deque[Future[R]] = deque()
        for item in items:
            in_flight.append(pool.submit(function, item))
            if len(in_flight) >= 2 * workers:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()


def _decode_one(planned: dict, max_seconds: float | None = None) -> tuple[dict, EncodedClip | None]:
    row = dict(planned, source=redact_url(planned["source"]))
    window = (planned["end_s"] - planned["start_s"]) if planned["end_s"] is not None else None
    if max_seconds is not None and window is not None and window > max_seconds:
        # Refused before reading: a window of hours would otherwise be decoded into memory whole.
        row.update(status=STATUS_ERROR, error_kind="window_too_long",
                   error=f"the planned window is {window:.1f} s, longer than the {max_seconds:g} s limit "
                   "(ACAV_MAX_CLIP_SECONDS); nothing was read")
        return row, None
    try:
        decoded = decode_clip(planned["source"], planned["start_s"], planned["end_s"], max_seconds=max_seconds)
        encoded = encode_flac(decoded.audio)
    except AudioDecodeError as error:
        row.update(status=STATUS_ERROR, error_kind=error.kind, error=error.message)
        return row, None
    except SystemicFailure:
        raise
    except Exception as error:  # a decoder bug on one file must not sink the shard
        row.update(status=STATUS_ERROR, error_kind="decoder_exception", error=redact_text(error_text(error)))
        return row, None
    row.update(
        duration_s=decoded.duration,
        sample_rate=TARGET_RATE,
        original_sample_rate=decoded.original_rate,
        original_channels=decoded.original_channels,
        checksum=encoded.checksum,
        status=STATUS_OK,
        warning=decoded.warning,
    )
    return row, encoded


def decode_shard(
    plan: pa.Table,
    audio_url: str,
    workers: int = 2,
    min_clip_seconds: float = MIN_DECODED_SECONDS,
    progress_every_s: float = 15.0,
    log: logging.Logger = logger,
    max_clip_seconds: float | None = None,
) -> pa.Table:
    """Decode the clips planned for one shard into ``audio_url`` and return the clips table. A
    window longer than ``max_clip_seconds`` is refused with its reason, unread (or, with no end,
    read no further than the limit). Raises SourceUnreachable when a source cannot be reached or
    when every clip of the shard failed with the same missing-source reason; no tar is left."""
    rows: list[dict] = []
    progress = ShardProgress("decoding", total=plan.num_rows, log=log, every_s=progress_every_s)
    with AudioShardWriter(audio_url) as writer:
        decode = partial(_decode_one, max_seconds=max_clip_seconds)
        for row, encoded in bounded_map(decode, plan.to_pylist(), workers):
            if encoded is not None and row["duration_s"] < min_clip_seconds:
                row.update(
                    status=STATUS_ERROR,
                    error_kind="too_short",
                    error=f"{row['duration_s']:.3f} s of audio, less than the minimum {min_clip_seconds} s",
                )
                encoded = None
            if encoded is not None:
                writer.add(row["key"], encoded, {"key": row["key"], "source": row["source"],
                                                 "start_s": row["start_s"], "end_s": row["end_s"]})
            else:
                log.warning("clip %s skipped: %s: %s", row["key"], row["error_kind"], row["error"])
            rows.append(row)
            progress.add(row["duration_s"] if encoded is not None else 0.0)  # the rate of audio stored
        kinds = {row.get("error_kind") for row in rows}
        if len(rows) >= BROKEN_SOURCE_MIN_CLIPS and len(kinds) == 1 and kinds <= SOURCE_KINDS:
            raise SourceUnreachable(
                f"all {len(rows)} clips of the shard failed with {kinds.pop()} (e.g. {rows[0]['error']}): "
                "the source looks unmounted or unreachable, not defective file by file"
            )
    progress.finish(failed=sum(row["status"] != STATUS_OK for row in rows))
    return pa.Table.from_pylist(rows, schema=CLIPS_SCHEMA)


def decode_summary(table: pa.Table, failures_shown: int = 50) -> dict:
    """What a decoded shard holds: clips ok and failed, why they failed, hours, and the failed
    clips as a Markdown table."""
    rows = table.to_pylist()
    ok = [row for row in rows if row["status"] == STATUS_OK]
    failed = [row for row in rows if row["status"] != STATUS_OK]
    failures = Markdown("No failed clips.")
    if failed:
        lines = [(row["key"], f"{row.get('error_kind') or ''} {row['error']}".strip()) for row in failed[:failures_shown]]
        if len(failed) > failures_shown:
            lines.append(("…", f"{len(failed) - failures_shown} more"))
        failures = Markdown(rows_table(["key", "reason"], lines))
    return {
        "clips_ok": len(ok),
        "clips_failed": len(failed),
        "failure_reasons": dict(Counter(row["error_kind"] for row in failed)),
        "audio_hours": round(sum(row["duration_s"] for row in ok) / 3600, 4),
        "failed_clips": failures,
    }


def clip_durations(data_root: str) -> dict[str, float]:
    """Every decoded clip's duration in seconds, over all shards, by clip key."""
    clips = storage.read_partitions(data_root, "clips", ["key", "duration_s"])
    return dict(zip(clips["key"].to_pylist(), clips["duration_s"].to_pylist())) if clips is not None else {}
