"""The captions table: one row per decoded clip with its six facets x three variants, QA pairs,
confidences, and the provenance and cost of how it was written."""

from __future__ import annotations

import pyarrow as pa

from acav_assets.captions.schema import FACETS, CaptionRecord
from acav_assets.experts.shard_runner import expert_schema
from acav_assets.io.table_fields import described_field

QA_TYPE = pa.struct([
    pa.field("category", pa.string()), pa.field("difficulty", pa.string()), pa.field("question", pa.string()),
    pa.field("answer", pa.string()), pa.field("confidence", pa.float64()),
])
CAPTION_FIELDS = (
    [described_field("domain", pa.string(), "", "routed domain the facets follow")]
    + [described_field(f, pa.list_(pa.string()), "", f"three variants of the {f} caption") for f in FACETS]
    + [described_field(f"{f}_confidence", pa.list_(pa.float64()), "probability", f"confidence of each {f} variant")
       for f in FACETS]
    + [
        described_field("qa", pa.list_(QA_TYPE), "", "five question-answer pairs (MECAT categories, difficulties)"),
        described_field("model", pa.string(), "", "LLM that wrote the record, or the offline synthesiser's name"),
        described_field("prompt_version", pa.string(), "", "version of the prompt (or synthesiser)"),
        described_field("prompt_tokens", pa.int64(), "tokens", "prompt tokens spent on this clip (0 from cache)"),
        described_field("completion_tokens", pa.int64(), "tokens", "completion tokens spent on this clip"),
        described_field("requests", pa.int64(), "requests", "requests made for this clip, retries and repairs included"),
        described_field("cache_hit", pa.bool_(), "flag", "answered from the reply cache"),
        described_field("reasoning", pa.string(), "text", "the model's chain of thought, kept apart from the answer"),
        described_field("raw_reply", pa.string(), "text", "the last reply, kept when it could not be used"),
    ]
)
CAPTIONS_SCHEMA = expert_schema(CAPTION_FIELDS)


def storable(text: str) -> str:
    """``text`` with anything UTF-8 cannot hold (lone surrogates) replaced, so that a raw reply or
    reasoning kept for diagnosis can always be written."""
    return text.encode("utf-8", errors="replace").decode("utf-8")


def caption_row(key: str, shard: str, record: CaptionRecord | None, **provenance) -> dict:
    """A table row from a record (or from a failure: record None, status/error in provenance)."""
    row: dict = {"key": key, "shard": shard, "status": "ok",
                 **{k: storable(v) if isinstance(v, str) else v for k, v in provenance.items()}}
    if record is not None:
        row["domain"] = record.domain
        for facet in FACETS:
            row[facet] = list(record.facets[facet])
            row[f"{facet}_confidence"] = [float(c) for c in record.confidences[facet]]
        row["qa"] = [vars(q) for q in record.qa]
    return row


def caption_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=CAPTIONS_SCHEMA)
