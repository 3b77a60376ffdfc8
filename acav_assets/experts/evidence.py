"""The evidence table: one row per planned clip with every expert's output for it.

Each expert's row becomes one struct column named after the expert (its own ``status`` and
``error`` included), so an expert that failed on a clip, or did not apply to it, leaves the
other experts' results for that clip intact. This is what the caption synthesis stage reads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import pyarrow as pa

from acav_assets.contracts.domains import STATUS_OK
from acav_assets.experts.registry import EVIDENCE_EXPERTS
from acav_assets.experts.spec import ExpertOutput, ShardInputs, ok_rows
from acav_assets.ingest.clip_decoding import CLIPS_SCHEMA

CLIP_COLUMNS = (
    "key", "shard", "source_id", "start_s", "end_s", "duration_s", "title", "description", "tags",
    "license", "domain", "status", "error_kind", "error",
)
# Clip columns whose names would be ambiguous next to the experts'.
RENAMED = {"domain": "recorded_domain", "status": "decode_status", "error_kind": "decode_error_kind",
           "error": "decode_error"}
STATUS_NOT_APPLICABLE = "not_applicable"


def expert_struct_type(schema: pa.Schema) -> pa.StructType:
    """An expert table's columns, less key and shard, as one struct (all nullable: an expert that
    did not apply to a clip has only a status)."""
    return pa.struct([f.with_nullable(True) for f in schema if f.name not in ("key", "shard")])


def evidence_schema(clips_schema: pa.Schema, experts: Mapping[str, pa.Schema]) -> pa.Schema:
    clip_fields = [clips_schema.field(name) for name in CLIP_COLUMNS]
    fields = [f.with_name(RENAMED.get(f.name, f.name)) for f in clip_fields]
    fields.append(pa.field("routed_domain", pa.string(), metadata={"description": "domain from the routing expert"}))
    fields += [pa.field(name, expert_struct_type(schema)) for name, schema in experts.items()]
    fields.append(pa.field("experts_failed", pa.list_(pa.string()), metadata={"description": "experts with status error"}))
    return pa.schema(fields)


def build_evidence(clips: pa.Table, experts: Mapping[str, pa.Table], routed: Mapping[str, str]) -> pa.Table:
    """Join the clips table with each expert table on ``key`` (``routed``: key → domain)."""
    schema = evidence_schema(clips.schema, {name: table.schema for name, table in experts.items()})
    by_expert = {}
    for name, table in experts.items():
        rows_by_key = {}
        for row in table.to_pylist():
            row.pop("shard", None)
            rows_by_key[row.pop("key")] = row
        by_expert[name] = rows_by_key
    rows = []
    for clip in clips.select(list(CLIP_COLUMNS)).to_pylist():
        key = clip["key"]
        row = {RENAMED.get(name, name): value for name, value in clip.items()}
        row["routed_domain"] = routed.get(key)
        failed = []
        for name, expert_rows in by_expert.items():
            expert_row = expert_rows.get(key)
            if expert_row is None:
                expert_row = {"status": STATUS_NOT_APPLICABLE}
            elif expert_row.get("status") == "error":
                failed.append(name)
            row[name] = expert_row
        row["experts_failed"] = failed
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=schema)


def evidence_of_shard(inputs: ShardInputs) -> ExpertOutput:
    """The shard's clips joined with every expert's table and the tagger's top labels."""
    clips = inputs.read("clips", CLIPS_SCHEMA)
    experts = {name: inputs.read(name) for name in EVIDENCE_EXPERTS}
    top = inputs.read("tags").select(["key", "shard", "top_labels", "tagger", "status", "error"])
    experts = {"acoustics": experts.pop("acoustics"), "tagging": top, **experts}
    routed = {row["key"]: row["domain"] for row in ok_rows(experts["routing"])}
    table = build_evidence(clips, experts, routed)
    failures = Counter(name for names in table["experts_failed"].to_pylist() for name in names)
    return ExpertOutput(table, {
        "clips_decoded": sum(status == STATUS_OK for status in table["decode_status"].to_pylist()),
        "expert_failures": dict(failures),
    })
