"""Stage 3, captions: each decoded clip's evidence becomes six facets x three variants, QA pairs
and confidences, written by an LLM (when one is configured) or by the offline synthesiser."""

import dagster as dg

from acav_assets.captions.offline_synthesiser import SYNTHESIZER_NAME
from acav_assets.captions.shard_captions import (
    caption_cost,
    captionable,
    check_captions,
    llm_caption_rows,
    offline_caption_rows,
)
from acav_assets.captions.table import CAPTIONS_SCHEMA, caption_table
from acav_assets.defs.experts import evidence
from acav_assets.defs.metadata import check_result, promote, table_metadata
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.policies import LLM_BOUND
from acav_assets.defs.resources import AcavSettings, CaptionLlmResource
from acav_assets.io import storage
from acav_assets.ops.promotion import keep_previous_rows


@dg.asset(
    partitions_def=shard_partitions, group_name="captions", deps=[evidence], **LLM_BOUND,
    kinds={"parquet", "openai"},
    description="Six caption facets x three variants, five QA pairs and confidences per decoded clip, "
    "from the LLM at OPENAI_BASE_URL / ACAV_LLM_MODEL (chain of thought kept apart, replies validated, "
    "repaired and cached) or, with none configured, from the deterministic offline synthesiser. "
    "Promoted only when its checks pass and no clip captioned before becomes an error; an "
    "unreachable endpoint fails the step and keeps the previous captions.",
)
def captions(context: dg.AssetExecutionContext, settings: AcavSettings, caption_llm: CaptionLlmResource) -> dg.MaterializeResult:
    shard, layout = context.partition_key, settings.layout
    evidence_rows = storage.read_table(layout.table("evidence", shard)).to_pylist()
    clips = captionable(evidence_rows)
    if caption_llm.enabled:
        rows = llm_caption_rows(shard, clips, caption_llm.settings(), layout.llm_cache, log=context.log)
    else:
        context.log.info("no LLM configured (OPENAI_BASE_URL, ACAV_LLM_MODEL): using %s", SYNTHESIZER_NAME)
        rows = offline_caption_rows(shard, clips)
    table = keep_previous_rows(caption_table(rows), layout.table("captions", shard), log=context.log)
    promote(table, layout.table("captions", shard), check_captions(table, evidence_rows, settings.max_error_rate),
            what=f"captions of shard {shard}", log=context.log)
    return dg.MaterializeResult(metadata={
        **table_metadata(table, layout.table("captions", shard), CAPTIONS_SCHEMA),
        "model": caption_llm.model if caption_llm.enabled else SYNTHESIZER_NAME,
        **caption_cost(rows),
    })


@dg.asset_check(asset=captions, blocking=True, partitions_def=shard_partitions)
def captions_quality(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """One row per decoded clip; exactly three non-empty variants per facet; confidences in [0, 1];
    five QA pairs with MECAT categories and difficulties; "None" facets exactly where the routed
    domain has no such content; failure rate under the limit."""
    layout, shard = settings.layout, context.partition_key
    evidence_rows = storage.read_table(layout.table("evidence", shard)).to_pylist()
    table = storage.read_table(layout.table("captions", shard))
    return check_result(check_captions(table, evidence_rows, settings.max_error_rate))
