"""The caption stage: each decoded clip's evidence becomes six facets x three variants, QA pairs
and confidences, written by an LLM (when one is configured) or by the offline synthesiser."""

import collections
import functools
import dagster as dg

from acav_assets.quality import suites as quality_checks
from acav_assets.io import storage
from acav_assets.captions.prompt import PROMPT_VERSION, build_messages, repair_messages
from acav_assets.captions.schema import (
    FACETS, QA_CATEGORIES, QA_DIFFICULTIES, QA_PER_CLIP, parse_reply, split_reasoning,
)
from acav_assets.curation.filters import domain_problem
from acav_assets.captions.table import CAPTIONS_SCHEMA, caption_row, caption_table
from acav_assets.captions.offline_synthesiser import SYNTHESIZER_NAME, synthesize_caption
from acav_assets.captions.llm_client import ReplyCache, run_requests
from acav_assets.defs.assets import column_schema
from acav_assets.defs.checks import check_result
from acav_assets.defs.expert_assets import evidence_table
from acav_assets.defs.models import CaptionLlmResource
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.policies import LLM_BOUND
from acav_assets.defs.resources import AcavSettings

def _synthesised_rows(shard: str, clips: list[dict]) -> list[dict]:
    rows = []
    for clip in clips:
        try:
            rows.append(caption_row(clip["key"], shard, synthesize_caption(clip), model=SYNTHESIZER_NAME,
                                    prompt_version=SYNTHESIZER_NAME, prompt_tokens=0, completion_tokens=0,
                                    requests=0, cache_hit=False))
        except Exception as error:  # recorded per clip; the shard goes on
            rows.append(caption_row(clip["key"], shard, None, model=SYNTHESIZER_NAME, status="error",
                                    error=f"{type(error).__name__}: {error}"))
    return rows


def _llm_rows(context, shard: str, clips: list[dict], llm: CaptionLlmResource, settings: AcavSettings) -> list[dict]:
    cache = ReplyCache(f"{settings.data_root.rstrip('/')}/llm_cache")
    by_domain = collections.defaultdict(list)
    for clip in clips:
        by_domain[clip["routed_domain"]].append(clip)
    outcomes = {}
    done = 0
    for domain, group in sorted(by_domain.items()):
        items = [(clip["key"], build_messages(clip)) for clip in group]
        results = run_requests(
            items, llm.settings(), PROMPT_VERSION, functools.partial(parse_reply, domain=domain), repair_messages,
            split_reasoning, cache=cache,
        )
        outcomes.update({o.key: o for o in results})
        done += len(group)
        context.log.info("captions: %d/%d clips answered", done, len(clips))
    rows = []
    for clip in clips:
        o = outcomes[clip["key"]]
        provenance = dict(model=llm.model, prompt_version=PROMPT_VERSION, prompt_tokens=o.prompt_tokens,
                          completion_tokens=o.completion_tokens, requests=o.requests, cache_hit=o.cache_hit,
                          reasoning=o.reasoning)
        if o.status == "ok":
            rows.append(caption_row(o.key, shard, o.value, **provenance))
        else:
            rows.append(caption_row(o.key, shard, None, status="error", error=o.error, raw_reply=o.raw_reply,
                                    **provenance))
    return rows


@dg.asset(
    partitions_def=shard_partitions, group_name="captions", deps=[evidence_table], **LLM_BOUND,
    kinds={"parquet", "openai"},
    description="Six caption facets x three variants, five QA pairs and confidences per decoded clip, "
    "from the LLM at OPENAI_BASE_URL / ACAV_LLM_MODEL (chain of thought kept apart, replies validated, "
    "repaired and cached) or, with none configured, from the deterministic offline synthesiser.",
)
def captions(context: dg.AssetExecutionContext, settings: AcavSettings, caption_llm: CaptionLlmResource) -> dg.MaterializeResult:
    shard = context.partition_key
    evidence = storage.read_table(settings.url("evidence", shard)).to_pylist()
    clips = [row for row in evidence if row["decode_status"] == "ok" and row["routed_domain"]]
    if caption_llm.enabled:
        rows = _llm_rows(context, shard, clips, caption_llm, settings)
    else:
        context.log.info("no LLM configured (OPENAI_BASE_URL, ACAV_LLM_MODEL): using %s", SYNTHESIZER_NAME)
        rows = _synthesised_rows(shard, clips)
    table = caption_table(rows)
    storage.write_table(table, settings.url("captions", shard))
    cost = {
        "requests": sum(r.get("requests") or 0 for r in rows),
        "prompt_tokens": sum(r.get("prompt_tokens") or 0 for r in rows),
        "completion_tokens": sum(r.get("completion_tokens") or 0 for r in rows),
        "cache_hits": sum(bool(r.get("cache_hit")) for r in rows),
        "failures": sum(r["status"] != "ok" for r in rows),
    }
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": table.num_rows,
            "dagster/column_schema": column_schema(CAPTIONS_SCHEMA),
            "model": caption_llm.model if caption_llm.enabled else SYNTHESIZER_NAME,
            **cost,
            "parquet": dg.MetadataValue.path(settings.url("captions", shard)),
        }
    )


def _facets_follow_domain(row) -> float:
    """1 when the row's "None" facets agree with its domain (the curation filter's rule)."""
    facets = {f: list(row[f]) if row[f] is not None else [] for f in FACETS}
    return float(domain_problem({"domain": row["domain"], **facets}) is None)


def _all_confidences(row) -> list[float]:
    values = [c for f in FACETS for c in (row[f"{f}_confidence"] if row[f"{f}_confidence"] is not None else [])]
    return values + [q["confidence"] for q in (row["qa"] if row["qa"] is not None else [])]


CAPTION_CHECKS = {
    "_variants_min": lambda frame: frame.apply(lambda r: min(len(r[f]) if r[f] is not None else 0 for f in FACETS), axis=1),
    "_variants_max": lambda frame: frame.apply(lambda r: max(len(r[f]) if r[f] is not None else 0 for f in FACETS), axis=1),
    "_empty_variants": lambda frame: frame.apply(
        lambda r: sum(not str(v).strip() for f in FACETS if r[f] is not None for v in r[f]), axis=1),
    "_confidence_min": lambda frame: frame.apply(lambda r: min(_all_confidences(r), default=-1.0), axis=1),
    "_confidence_max": lambda frame: frame.apply(lambda r: max(_all_confidences(r), default=2.0), axis=1),
    "_qa_count": lambda frame: frame["qa"].map(lambda qa: len(qa) if qa is not None else 0),
    "_qa_labels_valid": lambda frame: frame["qa"].map(lambda qa: float(qa is not None and all(
        q["category"] in QA_CATEGORIES and q["difficulty"] in QA_DIFFICULTIES for q in qa))),
    "_facets_follow_domain": lambda frame: frame.apply(_facets_follow_domain, axis=1),
}


@dg.asset_check(asset=captions, blocking=True, partitions_def=shard_partitions)
def captions_quality(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """One row per decoded clip; exactly three non-empty variants per facet; confidences in [0, 1];
    five QA pairs with MECAT categories and difficulties; "None" facets exactly where the routed
    domain has no such content; failure rate under the limit."""
    shard = context.partition_key
    evidence = storage.read_table(settings.url("evidence", shard)).to_pylist()
    expected = [r["key"] for r in evidence if r["decode_status"] == "ok" and r["routed_domain"]]
    table = storage.read_table(settings.url("captions", shard))
    ranges = {"_variants_min": (3, 3), "_variants_max": (3, 3), "_empty_variants": (0, 0),
              "_confidence_min": (0.0, 1.0), "_confidence_max": (0.0, 1.0), "_qa_count": (QA_PER_CLIP, QA_PER_CLIP),
              "_qa_labels_valid": (1.0, 1.0), "_facets_follow_domain": (1.0, 1.0)}
    return check_result(quality_checks.check_expert(
        "captions", table, CAPTIONS_SCHEMA, expected, settings.max_error_rate, ranges=ranges, derived=CAPTION_CHECKS,
    ))
