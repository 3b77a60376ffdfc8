"""One shard's curation: the captions that pass every filter, and every dropped clip with its reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

from acav_assets.captions.table import CAPTIONS_SCHEMA
from acav_assets.curation.filters import REASONS, CurationSettings, TextEmbedder, curate
from acav_assets.io.markdown import Markdown, rows_table

DROPS_SCHEMA = pa.schema([
    pa.field("key", pa.string(), nullable=False), pa.field("shard", pa.string(), nullable=False),
    pa.field("reason", pa.string(), nullable=False), pa.field("detail", pa.string()),
])
DROP_REASONS = REASONS


def read_decontamination_list(path: str) -> frozenset[str]:
    """Source ids or clip keys, one per line (``#`` starts a comment line); empty for no file."""
    if not path:
        return frozenset()
    with Path(path).open(encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip() and not line.startswith("#"))


def curate_shard(captions: list[dict], evidence: list[Mapping], embedder: TextEmbedder,
                 decontamination_list: str = "", clips: list[Mapping] | None = None) -> tuple[pa.Table, pa.Table, dict]:
    """(kept captions, drops, summary) of one shard, from its captions and evidence rows; the
    ``clips`` rows, when given, add each clip's PCM ``checksum`` (exact-duplicate audio)."""
    settings = CurationSettings(decontamination_ids=read_decontamination_list(decontamination_list))
    checksums = {row["key"]: row.get("checksum") for row in clips or []}
    by_key = {row["key"]: {**row, "checksum": checksums.get(row["key"], row.get("checksum"))} for row in evidence}
    kept, dropped = curate(captions, by_key, settings, embedder)
    reasons = Counter(d["reason"] for d in dropped)
    shown = [(d["key"], d["reason"], (d.get("detail") or "").replace("|", "/")) for d in dropped[:50]]
    summary = {
        "kept": len(kept), "dropped": len(dropped), "drop_reasons": dict(reasons),
        "dropped_clips": Markdown(rows_table(["key", "reason", "detail"], shown, cell=str) if dropped
                                  else "No clip dropped."),
    }
    return (pa.Table.from_pylist(kept, schema=CAPTIONS_SCHEMA), pa.Table.from_pylist(dropped, schema=DROPS_SCHEMA),
            summary)
