"""Corpus manifests: read and validate them, cut sources into clips, group clips into shards.

A manifest is CSV, JSON lines or Parquet with one row per audio source:

``audio`` (required; local path, relative to the manifest, or fsspec URL), ``start`` / ``end``
(optional seconds), ``source_id``, ``title``, ``description``, ``tags`` (a list, or ``|``-separated
in CSV), ``license``, ``domain`` (a recorded 3-letter domain, if known). Other columns are kept
as JSON in ``extra``. A folder of audio files without a manifest is read as one row per file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from acav_assets.contracts.domains import DOMAINS
from acav_assets.ingest.clip_keys import ClipKeyError, make_clip_key, sanitize_source_id
from acav_assets.io.url_redaction import redact_url

AUDIO_EXTENSIONS = frozenset(
    ".wav .flac .ogg .oga .opus .mp3 .m4a .aac .aif .aiff .wma .mp4 .m4v .mkv .webm .mov .avi".split()
)
# A probed length beyond this is a corrupt header, not a recording: it would plan millions of clips.
MAX_SOURCE_SECONDS = 7 * 24 * 3600.0
MANIFEST_EXTENSIONS = frozenset(".csv .jsonl .json .ndjson .parquet".split())
# The longest clip a manifest window may ask for (ACAV_MAX_CLIP_SECONDS; AcavSettings.max_clip_seconds).
MAX_CLIP_SECONDS = 30.0
KNOWN_COLUMNS = ("audio", "start", "end", "source_id", "title", "description", "tags", "license", "domain")

PLANNED_CLIP_SCHEMA = pa.schema(
    [
        pa.field("key", pa.string(), nullable=False),
        pa.field("shard", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("start_s", pa.float64(), nullable=False, metadata={"unit": "s"}),
        pa.field("end_s", pa.float64(), metadata={"unit": "s", "description": "null: to the end of the file"}),
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("description", pa.string()),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("license", pa.string()),
        pa.field("domain", pa.string(), metadata={"description": "domain recorded in the manifest"}),
        pa.field("extra", pa.string(), metadata={"description": "other manifest columns as JSON"}),
        pa.field("manifest", pa.string()),
        pa.field("manifest_row", pa.int64()),
    ]
)


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the file and the row."""


@dataclass(frozen=True)
class SourceRow:
    """One validated manifest row."""

    manifest: str
    row_number: int  # 1-based data row, as a user counts them (CSV: the header is not counted)
    audio: str
    start: float | None = None
    end: float | None = None
    source_id: str | None = None
    title: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    license: str | None = None
    domain: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedClip:
    key: str
    source_id: str
    source: str
    start: float
    end: float | None
    row: SourceRow


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip()
    )


def _seconds(value: object, column: str, where: str) -> float | None:
    if _is_blank(value):
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ManifestError(f"{where}: {column} {value!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ManifestError(f"{where}: {column} {value!r} must be a finite, non-negative number of seconds")
    return seconds


def _tags(value: object, where: str) -> tuple[str, ...]:
    if _is_blank(value):
        return ()
    if isinstance(value, str):
        return tuple(t.strip() for t in value.split("|") if t.strip())
    if isinstance(value, (list, tuple)):
        return tuple(str(t).strip() for t in value if not _is_blank(t))
    raise ManifestError(f"{where}: tags must be a list or a '|'-separated string, got {type(value).__name__}")


def _text(value: object) -> str | None:
    return None if _is_blank(value) else str(value).strip()


def _resolve(audio: str, base: str) -> str:
    if "://" in audio or audio.startswith("/"):
        return audio
    return posixpath.normpath(posixpath.join(base, audio)) if "://" not in base else f"{base}/{audio}"


def _validate_row(record: dict, manifest: str, row_number: int, base: str) -> SourceRow:
    where = f"{manifest}: row {row_number}"
    audio = record.get("audio")
    if _is_blank(audio):
        raise ManifestError(f"{where}: 'audio' is empty; every row must name an audio file")
    start = _seconds(record.get("start"), "start", where)
    end = _seconds(record.get("end"), "end", where)
    if end is not None and end <= (start or 0.0):
        raise ManifestError(f"{where}: end {end} must be after start {start or 0.0}")
    domain = _text(record.get("domain"))
    if domain is not None and domain not in DOMAINS:
        raise ManifestError(f"{where}: domain {domain!r} is not one of {', '.join(DOMAINS)}")
    source_id = _text(record.get("source_id"))
    if source_id is not None:
        try:
            source_id = sanitize_source_id(source_id)
        except ClipKeyError as error:
            raise ManifestError(f"{where}: {error}") from None
    extra = {k: v for k, v in record.items() if k not in KNOWN_COLUMNS and not _is_blank(v)}
    return SourceRow(
        manifest=manifest,
        row_number=row_number,
        audio=_resolve(str(audio).strip(), base),
        start=start,
        end=end,
        source_id=source_id,
        title=_text(record.get("title")),
        description=_text(record.get("description")),
        tags=_tags(record.get("tags"), where),
        license=_text(record.get("license")),
        domain=domain,
        extra=extra,
    )


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object, refusing a key given twice (json.loads would keep the last one)."""
    record = {}
    for key, value in pairs:
        if key in record:
            raise KeyError(key)
        record[key] = value
    return record


def _csv_records(location: str, text: io.TextIOBase) -> list[dict]:
    """CSV rows as text (ids like "007" must survive), refusing rows that do not fit the header."""
    reader = csv.DictReader(text)
    repeated = sorted({name for name in reader.fieldnames or [] if (reader.fieldnames or []).count(name) > 1})
    if repeated:  # DictReader would silently keep the last column of each name
        raise ManifestError(f"{location}: the header names {', '.join(map(repr, repeated))} more than once")
    records = []
    for row_number, record in enumerate(reader, start=1):
        if None in record:
            raise ManifestError(f"{location}: row {row_number}: more fields than the header has columns")
        if any(v is None for v in record.values()):
            raise ManifestError(f"{location}: row {row_number}: fewer fields than the header has columns")
        records.append(record)
    return records


def _read_records(location: str, fs: fsspec.AbstractFileSystem, path: str) -> list[dict]:
    suffix = posixpath.splitext(path)[1].lower()
    try:
        if suffix == ".parquet":
            # Arrow reads a local file itself; a remote manifest (small) is read into memory first.
            # Arrow reading through a Python file object can abort the process.
            if isinstance(fs, LocalFileSystem):
                return pq.read_table(path).to_pylist()
            return pq.read_table(pa.BufferReader(fs.cat_file(path))).to_pylist()
        with fs.open(path, "rb") as handle:
            if suffix == ".csv":
                return _csv_records(location, io.TextIOWrapper(handle, encoding="utf-8-sig", newline=""))
            records = []
            # A JSON document spread over lines (an array, a pretty-printed object) fails on its first line.
            hint = "; a JSON manifest holds one JSON object per line (JSON lines)" if suffix == ".json" else ""
            for line_number, line in enumerate(handle.read().decode("utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line, object_pairs_hook=_unique_keys)
                except json.JSONDecodeError as error:
                    raise ManifestError(f"{location}: row {line_number}: invalid JSON ({error.msg}){hint}") from None
                except KeyError as error:
                    raise ManifestError(f"{location}: row {line_number}: the field {error.args[0]!r} appears twice") from None
                if not isinstance(record, dict):
                    raise ManifestError(f"{location}: row {line_number}: expected a JSON object{hint}")
                records.append(record)
            return records
    except ManifestError:
        raise
    except (pa.ArrowInvalid, UnicodeDecodeError, csv.Error) as error:
        raise ManifestError(f"{location}: cannot parse as {suffix[1:]}: {error}") from None


def scan_audio_folder(location: str) -> list[SourceRow]:
    """One row per audio or video file below ``location`` (recursively, in sorted order)."""
    fs, path = fsspec.core.url_to_fs(location)
    files = sorted(p for p in fs.find(path) if posixpath.splitext(p)[1].lower() in AUDIO_EXTENSIONS)
    if not files:
        raise ManifestError(f"{location}: no audio files ({', '.join(sorted(AUDIO_EXTENSIONS))}) found")
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    to_url = (lambda p: p) if protocol in ("file", "local") else (lambda p: f"{protocol}://{p}")
    return [SourceRow(manifest=location, row_number=i, audio=to_url(p)) for i, p in enumerate(files, start=1)]


MAX_PROBLEMS_SHOWN = 50


def read_manifest(location: str) -> list[SourceRow]:
    """Validated rows of a manifest file, or of a folder of audio files."""
    fs, path = fsspec.core.url_to_fs(location)
    if fs.isdir(path):
        return scan_audio_folder(location)
    if not fs.exists(path):
        raise ManifestError(f"{location}: no such manifest")
    if posixpath.splitext(path)[1].lower() not in MANIFEST_EXTENSIONS:
        raise ManifestError(f"{location}: a manifest must be one of {', '.join(sorted(MANIFEST_EXTENSIONS))}")
    records = _read_records(location, fs, path)
    if not records:
        raise ManifestError(f"{location}: the manifest has no rows")
    if not any("audio" in r for r in records):
        columns = sorted({c for r in records for c in r})
        raise ManifestError(f"{location}: no 'audio' column (found: {', '.join(columns)})")
    base = posixpath.dirname(location) if "://" in location else posixpath.dirname(path)
    rows, problems = [], []
    for number, record in enumerate(records, start=1):  # every bad row in one pass, not one per attempt
        try:
            rows.append(_validate_row(record, location, number, base))
        except ManifestError as error:
            problems.append(str(error))
    _raise_problems(location, problems, "rows are malformed")
    return rows


def _raise_problems(location: str, problems: list[str], what: str) -> None:
    """One ManifestError naming every problem (the first MAX_PROBLEMS_SHOWN), if there are any."""
    if len(problems) == 1:
        raise ManifestError(problems[0])
    if problems:
        shown = "\n".join(f"  {problem}" for problem in problems[:MAX_PROBLEMS_SHOWN])
        more = f"\n  ... and {len(problems) - MAX_PROBLEMS_SHOWN} more" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        raise ManifestError(f"{location}: {len(problems)} {what}:\n{shown}{more}")


def _derived_source_ids(rows: list[SourceRow]) -> dict[str, str]:
    """A source id for each audio file whose rows name none: the file stem, made unique."""
    ids: dict[str, str] = {}
    taken = {row.source_id for row in rows if row.source_id}
    for row in rows:
        if row.source_id or row.audio in ids:
            continue
        # The name from the path alone: a signed URL's query string never reaches a key.
        stem = posixpath.splitext(posixpath.basename(redact_url(row.audio).split("?", 1)[0]))[0]
        try:
            candidate = sanitize_source_id(stem)
        except ClipKeyError:
            candidate = "source"
        if candidate in taken or candidate != stem:
            # Several files share a stem, or the name had to be changed: add a stable hash.
            candidate = f"{candidate}-{hashlib.sha1(redact_url(row.audio).encode()).hexdigest()[:8]}"
        ids[row.audio] = candidate
        taken.add(candidate)
    return ids


def plan_clips(
    rows: Iterable[SourceRow],
    probe_duration: Callable[[str], float | None],
    clip_seconds: float = 10.0,
    min_clip_seconds: float = 1.0,
    max_clip_seconds: float = MAX_CLIP_SECONDS,
) -> list[PlannedClip]:
    """Cut sources into clips. A row with start/end is one clip, refused when longer than
    ``max_clip_seconds``; a row without an end whose audio is longer than ``clip_seconds``
    becomes consecutive clips of that length (a remainder shorter than ``min_clip_seconds`` is
    dropped). A source whose length cannot be probed, or is probed beyond MAX_SOURCE_SECONDS,
    stays one clip, so that decoding records why it is unreadable or too long. Every refused row is reported in one ManifestError."""
    if not 0 < clip_seconds <= max_clip_seconds:
        raise ValueError(f"clip_seconds {clip_seconds} must be positive and at most max_clip_seconds {max_clip_seconds}")
    rows = list(rows)
    derived = _derived_source_ids(rows)
    clips: list[PlannedClip] = []
    seen: dict[str, int] = {}
    problems: list[str] = []
    for row in rows:
        source_id = row.source_id or derived[row.audio]
        windows: list[tuple[float, float | None]]
        if row.end is not None:
            length = row.end - (row.start or 0.0)
            if length > max_clip_seconds:
                problems.append(
                    f"{row.manifest}: row {row.row_number}: the window {row.start or 0.0:.10g}-{row.end:.10g} s is "
                    f"{length:.10g} s, longer than the {max_clip_seconds:g} s limit (ACAV_MAX_CLIP_SECONDS); "
                    "split it into shorter rows, or leave 'end' empty to cut the file into clips")
                continue
            windows = [(row.start or 0.0, row.end)]
        else:
            start = row.start or 0.0
            duration = probe_duration(row.audio)
            if duration is None or not math.isfinite(duration) or duration <= start or duration > MAX_SOURCE_SECONDS:
                # Unknown, or beyond any real recording (a corrupt header claiming years): one
                # window, which decoding reads no further than max_clip_seconds.
                windows = [(start, None)]
            else:
                windows = []
                t = start
                while duration - t >= min_clip_seconds or not windows:
                    windows.append((t, min(t + clip_seconds, duration)))
                    t += clip_seconds
                    if t >= duration:
                        break
        for start, end in windows:
            key = make_clip_key(source_id, start, end if end is not None else start + clip_seconds)
            if key in seen:
                problems.append(f"{row.manifest}: rows {seen[key]} and {row.row_number} both give clip {key}")
                break
            seen[key] = row.row_number
            clips.append(PlannedClip(key, source_id, row.audio, start, end, row))
    if problems:
        _raise_problems(rows[0].manifest, problems, "rows cannot be planned")
    return clips


def shard_prefix(location: str) -> str:
    """A readable shard-name prefix from the manifest's file or folder name."""
    name = posixpath.basename(location.rstrip("/"))
    return sanitize_source_id(posixpath.splitext(name)[0] if "." in name else name)


def split_into_shards(clips: list[PlannedClip], prefix: str, shard_size: int = 1000) -> dict[str, pa.Table]:
    """Consecutive groups of at most ``shard_size`` clips, named ``{prefix}-{index:05d}``."""
    if shard_size < 1:
        raise ValueError("shard_size must be at least 1")
    shards = {}
    for index in range(0, len(clips), shard_size):
        name = f"{prefix}-{index // shard_size:05d}"
        shards[name] = planned_clips_table(clips[index : index + shard_size], name)
    return shards


def planned_clips_table(clips: list[PlannedClip], shard: str) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "key": c.key,
                "shard": shard,
                "source": c.source,
                "start_s": c.start,
                "end_s": c.end,
                "source_id": c.source_id,
                "title": c.row.title,
                "description": c.row.description,
                "tags": list(c.row.tags),
                "license": c.row.license,
                "domain": c.row.domain,
                "extra": json.dumps(c.row.extra, ensure_ascii=False, default=str) if c.row.extra else None,
                "manifest": c.row.manifest,
                "manifest_row": c.row.row_number,
            }
            for c in clips
        ],
        schema=PLANNED_CLIP_SCHEMA,
    )
