"""What an expert declares, and what it is given and returns for one shard.

An expert is an :class:`ExpertSpec`: its fields (with units), which clips it must cover, the
function that analyses a shard, the model resource and pool it needs, and the value ranges its
blocking check enforces. The Dagster shell builds one asset and one check per spec
(``acav_assets/defs/experts.py``); the registry (``experts/registry.py``) lists the specs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from acav_assets.contracts.domains import PARTS, STATUS_OK, has_part
from acav_assets.contracts.layout import DataLayout
from acav_assets.experts.shard_runner import expert_schema
from acav_assets.io import storage

logger = logging.getLogger(__name__)

# Which clips an expert must have exactly one row for.
DECODED = "decoded"  # every clip that decoded
TAGGED = "tagged"  # every clip the tagger scored
COVERAGE = (DECODED, TAGGED, *PARTS)  # or a part: the clips routed with speech, music or sound


@dataclass(frozen=True)
class ShardInputs:
    """Everything an expert may read for one shard: the data root's tables and audio, the run's
    settings, the loaded model (when the spec names one) and a logger."""

    shard: str
    layout: DataLayout
    settings: Mapping[str, Any] = field(default_factory=dict)
    model: Any = None
    log: logging.Logger = logger

    @property
    def audio(self) -> str:
        """The shard's audio tar."""
        return self.layout.audio_tar(self.shard)

    @property
    def workers(self) -> int:
        return int(self.settings.get("workers", 2))

    def read(self, asset: str, schema: pa.Schema | None = None) -> pa.Table:
        """This shard's partition of a Parquet asset."""
        return storage.read_table(self.layout.table(asset, self.shard), schema)

    def ok_rows(self, asset: str) -> list[dict]:
        return ok_rows(self.read(asset))

    def keys(self, coverage: str) -> list[str]:
        """The clips an expert with this coverage must have a row for, from its own upstream
        tables only (decoded clips from ``clips``, tagged from ``tags``, routed from ``routing``),
        so a check never races an asset it does not depend on."""
        if coverage == DECODED:
            return [row["key"] for row in self.ok_rows("clips")]
        if coverage == TAGGED:
            return [row["key"] for row in self.ok_rows("tags")]
        if coverage in PARTS:
            return [row["key"] for row in self.ok_rows("routing") if has_part(row["domain"], coverage)]
        raise ValueError(f"unknown coverage {coverage!r}: use one of {', '.join(COVERAGE)}")


@dataclass(frozen=True)
class ExpertOutput:
    """One shard's table, and a summary for the asset's metadata (numbers, dicts, Markdown)."""

    table: pa.Table
    summary: Mapping[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        """Clips whose row says why the expert failed on them."""
        return sum(status != STATUS_OK for status in self.table["status"].to_pylist())


@dataclass(frozen=True)
class ExpertSpec:
    """An expert, declared."""

    name: str
    description: str
    fields: tuple[pa.Field, ...]
    analyse: Callable[[ShardInputs], ExpertOutput]  # one shard in, one table out
    reads: tuple[str, ...]  # upstream assets
    coverage: str  # DECODED, TAGGED or a part (see COVERAGE)
    model: str | None = None  # the resource that loads its model, if any ("tagger", "speech_models" ...)
    pool: str | None = None  # "gpu" or "llm_api": bounds concurrent steps across runs
    ranges: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    value_sets: Mapping[str, list] = field(default_factory=dict)
    derived: Mapping[str, Callable] = field(default_factory=dict)  # computed columns the ranges may test
    check: str = ""  # what the blocking check asserts, in a sentence
    optional: bool = False  # an empty table (expert switched off) passes its check
    kinds: frozenset[str] = frozenset({"parquet"})

    def __post_init__(self) -> None:
        if self.coverage not in COVERAGE:
            raise ValueError(f"expert {self.name}: coverage {self.coverage!r} is not one of {COVERAGE}")

    @property
    def schema(self) -> pa.Schema:
        return expert_schema(list(self.fields))

    def expected_keys(self, inputs: ShardInputs, table: pa.Table) -> list[str]:
        if self.optional and table.num_rows == 0:
            return []
        return inputs.keys(self.coverage)


def ok_rows(table: pa.Table) -> list[dict]:
    """The rows of a per-clip table whose status is ok."""
    return [row for row in table.to_pylist() if row["status"] == STATUS_OK]
