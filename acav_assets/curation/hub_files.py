"""The Hugging Face-native part of a release: ``captions/{split}-NNNNN-of-MMMMM.parquet`` (one row
per clip, its audio embedded as FLAC in a ``datasets`` ``Audio`` column) and
``qa/{split}-NNNNN-of-MMMMM.parquet`` (one row per question-answer pair).

Splits are deterministic by source: a clip is in ``test`` when the sha256 of its ``source_id``
falls in the first ``TEST_PERCENT`` of the hash range, else in ``train``, so every window of one
recording lands in the same split. Files are sharded by size (Arrow bytes, at most
``max_shard_bytes`` each) in row groups of ``ROWS_PER_GROUP`` clips, as ``datasets`` writes audio.
A split without rows gets no file (``datasets`` cannot read an empty Parquet shard)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from acav_assets.captions.schema import FACETS
from acav_assets.io.audio_decoding import TARGET_RATE

CAPTIONS_CONFIG, QA_CONFIG = "captions", "qa"
SPLITS = ("train", "test")
TEST_PERCENT = 10
MAX_SHARD_BYTES = 500 * 2**20  # the hub's usual Parquet shard size
ROWS_PER_GROUP = 100  # what `datasets` uses for audio, so a viewer reads few clips at a time

# Per-clip provenance, as every release file carries it.
CLIP_FIELDS = [
    pa.field("source_id", pa.string()), pa.field("window_start_s", pa.float64()),
    pa.field("window_end_s", pa.float64()), pa.field("duration_s", pa.float64()),
    pa.field("license", pa.string()), pa.field("domain", pa.string()),
]
AUDIO_TYPE = pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])  # datasets' Audio storage
QA_ITEM = pa.struct([pa.field(f, pa.string()) for f in ("category", "difficulty", "question", "answer")]
                    + [pa.field("confidence", pa.float64())])
# `datasets` reads the features from the schema metadata's "huggingface" key; undeclared columns
# are inferred from their Arrow types, so only the audio column needs declaring.
HF_METADATA = {"huggingface": json.dumps({"info": {"features": {
    "audio": {"_type": "Audio", "sampling_rate": TARGET_RATE}}}})}

HUB_CAPTIONS_SCHEMA = pa.schema(
    [pa.field("key", pa.string()), pa.field("audio", AUDIO_TYPE), *CLIP_FIELDS]
    + [pa.field(f, pa.list_(pa.string())) for f in FACETS]
    + [pa.field("qa", pa.list_(QA_ITEM)), pa.field("model", pa.string())],
    metadata=HF_METADATA,
)
HUB_QA_SCHEMA = pa.schema(
    [pa.field("id", pa.string()), pa.field("key", pa.string()), *CLIP_FIELDS]
    + [pa.field(f, pa.string()) for f in ("category", "difficulty", "question", "answer")]
    + [pa.field("confidence", pa.float64())]
)


def split_of(source_id: str) -> str:
    """``test`` for about ``TEST_PERCENT`` % of sources (by hash), else ``train``."""
    bucket = int(hashlib.sha256(source_id.encode()).hexdigest()[:8], 16) % 100
    return "test" if bucket < TEST_PERCENT else "train"


def clip_fields(row: Mapping) -> dict:
    """The provenance columns of a released row (see :data:`CLIP_FIELDS`)."""
    return {f.name: row.get(f.name) for f in CLIP_FIELDS}


def caption_record(row: Mapping, flac: bytes) -> dict:
    """One row of the captions config."""
    return {
        "key": row["key"], "audio": {"bytes": flac, "path": f"{row['key']}.flac"}, **clip_fields(row),
        **{f: [str(v) for v in row[f]] for f in FACETS},
        "qa": [{**{f: qa[f] for f in ("category", "difficulty", "question", "answer")},
                "confidence": qa.get("confidence")} for qa in row.get("qa") or []],
        "model": row.get("model"),
    }


def qa_records(row: Mapping, qa_pairs: Iterable[tuple[str, Mapping]]) -> list[dict]:
    """Rows of the QA config: one per (id, pair) of a clip."""
    return [{"id": ident, "key": row["key"], **clip_fields(row),
             **{f: qa[f] for f in ("category", "difficulty", "question", "answer")},
             "confidence": qa.get("confidence")} for ident, qa in qa_pairs]


class ShardedParquet:
    """``{folder}/{split}-NNNNN-of-MMMMM.parquet``: row groups of ``rows_per_group`` rows, a new file
    once the current one holds ``max_bytes`` of Arrow data. Names get their ``-of-`` part on
    :meth:`close`, when the count is known."""

    def __init__(self, folder: str | Path, split: str, schema: pa.Schema,
                 max_bytes: int = MAX_SHARD_BYTES, rows_per_group: int = ROWS_PER_GROUP):
        if max_bytes < 1 or rows_per_group < 1:
            raise ValueError("max_bytes and rows_per_group must be at least 1")
        self.folder, self.split, self.schema = Path(folder), split, schema
        self.max_bytes, self.rows_per_group = max_bytes, rows_per_group
        self.rows = 0
        self._pending: list[dict] = []
        self._paths: list[Path] = []
        self._writer: pq.ParquetWriter | None = None
        self._bytes = 0

    def add(self, record: dict) -> None:
        self._pending.append(record)
        self.rows += 1
        if len(self._pending) >= self.rows_per_group:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        table = pa.Table.from_pylist(self._pending, schema=self.schema)
        self._pending = []
        if self._writer is None or self._bytes >= self.max_bytes:
            self._close_file()
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{self.split}-{len(self._paths):05d}.parquet"
            self._writer = pq.ParquetWriter(path, self.schema, compression="zstd")
            self._paths.append(path)
        self._writer.write_table(table, row_group_size=self.rows_per_group)
        self._bytes += table.nbytes

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._writer, self._bytes = None, 0

    def close(self) -> list[Path]:
        """Write what is pending and name the files; returns their final paths (none when empty)."""
        self._flush()
        self._close_file()
        final = []
        for index, path in enumerate(self._paths):
            target = path.with_name(f"{self.split}-{index:05d}-of-{len(self._paths):05d}.parquet")
            os.replace(path, target)
            final.append(target)
        return final


class HubFiles:
    """The captions and QA configs of one release, fed clip by clip, written to ``folder``."""

    def __init__(self, folder: str | Path, max_shard_bytes: int = MAX_SHARD_BYTES,
                 rows_per_group: int = ROWS_PER_GROUP):
        folder = Path(folder)
        self.writers = {
            config: {split: ShardedParquet(folder / config, split, schema, max_shard_bytes, rows_per_group)
                     for split in SPLITS}
            for config, schema in ((CAPTIONS_CONFIG, HUB_CAPTIONS_SCHEMA), (QA_CONFIG, HUB_QA_SCHEMA))
        }

    def add(self, row: Mapping, flac: bytes, qa_pairs: Iterable[tuple[str, Mapping]]) -> None:
        split = split_of(row["source_id"])
        self.writers[CAPTIONS_CONFIG][split].add(caption_record(row, flac))
        for record in qa_records(row, qa_pairs):
            self.writers[QA_CONFIG][split].add(record)

    def close(self) -> dict[str, dict[str, int]]:
        """Finish every file; returns config -> split -> rows, for the splits that have rows."""
        out: dict[str, dict[str, int]] = {}
        for config, by_split in self.writers.items():
            for split, writer in by_split.items():
                if writer.close():
                    out.setdefault(config, {})[split] = writer.rows
        return out


def read_config(folder: str | Path, config: str) -> dict[str, pa.Table]:
    """split -> the rows of one config as written (empty splits absent)."""
    out = {}
    for split in SPLITS:
        paths = sorted((Path(folder) / config).glob(f"{split}-*.parquet"))
        if paths:
            out[split] = pa.concat_tables(pq.read_table(p) for p in paths)
    return out
