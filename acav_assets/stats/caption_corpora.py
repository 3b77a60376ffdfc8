"""Readers that turn published caption datasets into one long Arrow table.

Every reader returns :data:`CAPTION_SCHEMA`: one row per caption text with
``dataset, key, facet, variant, text, duration_s, absent, domain``.

* ACAVCaps / MECAT JSON lines (plain or ``.gz``): six facets x variants per clip; a facet whose
  first variant is ``"None"`` is absent and all of its rows get ``absent=True``.
* AudioCaps CSV, Clotho CSV, WavCaps JSON, AudioSetCaps CSV: facet ``"caption"``.

A malformed line or row raises :class:`CorpusFormatError` (a ``ValueError``) naming file and line.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa

from acav_assets.ingest.clip_keys import ClipKeyError, parse_clip_key

CAPTION_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("key", pa.string()),
        ("facet", pa.string()),
        ("variant", pa.int32()),
        ("text", pa.string()),
        ("duration_s", pa.float64()),
        ("absent", pa.bool_()),
        ("domain", pa.string()),
    ]
)
ACAV_FACETS = ("long", "short", "speech", "music", "sound", "environment")
ABSENT_MARKER = "None"
AUDIOCAPS_CLIP_SECONDS = 10.0
# AudioSetCaps releases differ in their headers; these are accepted (first match wins).
AUDIOSETCAPS_KEY_COLUMNS = ("id", "youtube_id", "ytid", "audio_id", "file_name", "filename")
AUDIOSETCAPS_CAPTION_COLUMNS = ("caption", "captions", "text")


class CorpusFormatError(ValueError):
    """A line or row of a caption file that does not follow its published layout."""


class _Rows:
    """Column-wise accumulator for :data:`CAPTION_SCHEMA`."""

    def __init__(self) -> None:
        self.columns: dict[str, list] = {name: [] for name in CAPTION_SCHEMA.names}

    def add(self, dataset: str, key: str, facet: str, variant: int, text: str,
            duration_s: float | None, absent: bool = False, domain: str | None = None) -> None:
        for name, value in zip(CAPTION_SCHEMA.names,
                               (dataset, key, facet, variant, text, duration_s, absent, domain)):
            self.columns[name].append(value)

    def table(self) -> pa.Table:
        return pa.table(self.columns, schema=CAPTION_SCHEMA)


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def acav_duration(key: str) -> float | None:
    """Clip length from an ACAVCaps key (end - start), ``None`` when the key cannot be parsed."""
    try:
        clip = parse_clip_key(key)
    except ClipKeyError:
        return None
    return round(clip.end - clip.start, 6)


def _acav_line(rows: _Rows, dataset: str, line: str, where: str) -> None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusFormatError(f"{where}: not JSON ({exc.msg})") from exc
    if not isinstance(record, dict) or len(record) != 1:
        raise CorpusFormatError(f"{where}: expected one {{KEY: {{...}}}} object per line")
    (key, body), = record.items()
    if not isinstance(body, dict):
        raise CorpusFormatError(f"{where}: value of {key!r} is not an object")
    domain = body.get("domain")
    if domain is not None and not isinstance(domain, str):
        raise CorpusFormatError(f"{where}: 'domain' is not a string")
    duration = acav_duration(key)
    facets = [f for f in ACAV_FACETS if f in body]
    if not facets:
        raise CorpusFormatError(f"{where}: {key!r} has none of the facets {ACAV_FACETS}")
    for facet in facets:
        texts = body[facet]
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise CorpusFormatError(f"{where}: facet {facet!r} of {key!r} is not a list of strings")
        absent = texts[0].strip() == ABSENT_MARKER
        for variant, text in enumerate(texts):
            rows.add(dataset, key, facet, variant, text, duration, absent, domain)


def read_acav_jsonl(paths: str | Path | Iterable[str | Path], dataset: str) -> pa.Table:
    """ACAVCaps / MECAT caption JSON lines (plain or gzip) -> :data:`CAPTION_SCHEMA` rows."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    rows = _Rows()
    for path in map(Path, paths):
        with _open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    _acav_line(rows, dataset, line, f"{path}:{number}")
    return rows.table()


def _csv_rows(path: Path, required: Iterable[str] = ()) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of a CSV with a header; checks the required columns."""
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise CorpusFormatError(f"{path}:1: missing column(s) {missing}; header is {header}")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if None in row or any(v is None for v in row.values()):
                raise CorpusFormatError(f"{where}: wrong number of fields")
            yield reader.line_num, row


def _text(row: dict[str, str], column: str, where: str) -> str:
    text = (row.get(column) or "").strip()
    if not text:
        raise CorpusFormatError(f"{where}: empty {column!r}")
    return text


def read_audiocaps_csv(path: str | Path, dataset: str = "AudioCaps") -> pa.Table:
    """AudioCaps ``audiocap_id,youtube_id,start_time,caption``; clips are 10 s long.

    The key is ``{youtube_id}_{start_time}`` (one clip may carry several captions)."""
    path = Path(path)
    rows = _Rows()
    variants: dict[str, int] = {}
    for line, row in _csv_rows(path, ("audiocap_id", "youtube_id", "start_time", "caption")):
        where = f"{path}:{line}"
        try:
            start = float(row["start_time"])
        except ValueError as exc:
            raise CorpusFormatError(f"{where}: start_time {row['start_time']!r} is not a number") from exc
        youtube_id = _text(row, "youtube_id", where)
        key = f"{youtube_id}_{int(start) if start.is_integer() else start}"
        variant = variants.get(key, 0)
        variants[key] = variant + 1
        rows.add(dataset, key, "caption", variant, _text(row, "caption", where), AUDIOCAPS_CLIP_SECONDS)
    return rows.table()


def read_clotho_csv(path: str | Path, dataset: str = "Clotho") -> pa.Table:
    """Clotho ``file_name,caption_1..caption_5``; durations are not in the CSV (``None``)."""
    path = Path(path)
    rows = _Rows()
    caption_columns = [f"caption_{i}" for i in range(1, 6)]
    for line, row in _csv_rows(path, ["file_name", *caption_columns]):
        where = f"{path}:{line}"
        key = _text(row, "file_name", where)
        for variant, column in enumerate(caption_columns):
            rows.add(dataset, key, "caption", variant, _text(row, column, where), None)
    return rows.table()


def read_wavcaps_json(path: str | Path, dataset: str = "WavCaps") -> pa.Table:
    """WavCaps ``{"data": [{"id", "caption", "duration", ...}, ...]}``; "line" = entry index + 1."""
    path = Path(path)
    with _open_text(path) as handle:
        try:
            document = json.load(handle)
        except json.JSONDecodeError as exc:
            raise CorpusFormatError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from exc
    entries = document.get("data") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise CorpusFormatError(f"{path}:1: expected an object with a 'data' list")
    rows = _Rows()
    for index, entry in enumerate(entries, start=1):
        where = f"{path}: entry {index}"
        if not isinstance(entry, dict) or "id" not in entry or not isinstance(entry.get("caption"), str):
            raise CorpusFormatError(f"{where}: needs 'id' and a string 'caption'")
        duration = entry.get("duration")
        if duration is not None:
            try:
                duration = float(duration)
            except (TypeError, ValueError) as exc:
                raise CorpusFormatError(f"{where}: duration {duration!r} is not a number") from exc
        caption = entry["caption"].strip()
        if not caption:
            raise CorpusFormatError(f"{where}: empty caption")
        rows.add(dataset, str(entry["id"]), "caption", 0, caption, duration)
    return rows.table()


def read_audiosetcaps_csv(path: str | Path, dataset: str = "AudioSetCaps",
                          clip_seconds: float | None = AUDIOCAPS_CLIP_SECONDS) -> pa.Table:
    """AudioSetCaps CSV. Key column: first of :data:`AUDIOSETCAPS_KEY_COLUMNS`; caption column:
    first of :data:`AUDIOSETCAPS_CAPTION_COLUMNS` (header matched case-insensitively).
    AudioSet clips are 10 s (``clip_seconds``; pass ``None`` for unknown)."""
    path = Path(path)
    with _open_text(path) as handle:
        header = next(csv.reader(handle), [])
    lowered = {name.strip().lower(): name for name in header}
    key_col = next((lowered[c] for c in AUDIOSETCAPS_KEY_COLUMNS if c in lowered), None)
    text_col = next((lowered[c] for c in AUDIOSETCAPS_CAPTION_COLUMNS if c in lowered), None)
    if key_col is None or text_col is None:
        raise CorpusFormatError(
            f"{path}:1: need a key column {AUDIOSETCAPS_KEY_COLUMNS} and a caption column "
            f"{AUDIOSETCAPS_CAPTION_COLUMNS}; header is {header}")
    rows = _Rows()
    variants: dict[str, int] = {}
    for line, row in _csv_rows(path):
        where = f"{path}:{line}"
        key = _text(row, key_col, where)
        variant = variants.get(key, 0)
        variants[key] = variant + 1
        rows.add(dataset, key, "caption", variant, _text(row, text_col, where), clip_seconds)
    return rows.table()


READERS = {
    "acav": lambda path, name: read_acav_jsonl(_acav_files(path), name),
    "audiocaps": lambda path, name: read_audiocaps_csv(path, name),
    "clotho": lambda path, name: read_clotho_csv(path, name),
    "wavcaps": lambda path, name: read_wavcaps_json(path, name),
    "audiosetcaps": lambda path, name: read_audiosetcaps_csv(path, name),
}


def _acav_files(path: str | Path) -> list[Path]:
    """A JSON-lines file, or every ``*.jsonl`` / ``*.jsonl.gz`` in a folder."""
    path = Path(path)
    if path.is_dir():
        files = sorted([*path.glob("*.jsonl"), *path.glob("*.jsonl.gz")])
        if not files:
            raise CorpusFormatError(f"{path}: no *.jsonl or *.jsonl.gz files")
        return files
    return [path]


def read_corpus(spec: str) -> pa.Table:
    """A dataset named as ``NAME=FORMAT:PATH`` (FORMAT one of acav, audiocaps, clotho, wavcaps,
    audiosetcaps; PATH a file, or a folder of JSON-lines files for acav)."""
    try:
        name, rest = spec.split("=", 1)
        fmt, path = rest.split(":", 1)
    except ValueError:
        raise CorpusFormatError(f"{spec!r}: expected NAME=FORMAT:PATH") from None
    if fmt not in READERS:
        raise CorpusFormatError(f"{spec!r}: unknown format {fmt!r}; use one of {', '.join(READERS)}")
    return READERS[fmt](path, name.strip())
