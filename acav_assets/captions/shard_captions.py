"""One shard's captions: which clips get one, written by the LLM (when configured) or the offline
synthesiser, what it cost, and the blocking check of the captions table."""

from __future__ import annotations

import functools
import logging

import pyarrow as pa

from acav_assets.captions.llm_client import LlmSettings, ReplyCache, run_requests
from acav_assets.captions.offline_synthesiser import (
    SYNTHESIZER_NAME,
    synthesize_caption,
)
from acav_assets.captions.prompt import PROMPT_VERSION, build_messages, repair_messages
from acav_assets.captions.schema import (
    FACETS,
    QA_CATEGORIES,
    QA_DIFFICULTIES,
    QA_PER_CLIP,
    parse_reply,
    split_reasoning,
)
from acav_assets.captions.table import CAPTIONS_SCHEMA, caption_row
from acav_assets.contracts.domains import STATUS_ERROR, STATUS_OK, error_text
from acav_assets.curation.filters import domain_problem
from acav_assets.io.progress import ShardProgress
from acav_assets.quality.suites import QualityReport, check_expert

logger = logging.getLogger(__name__)


def captionable(evidence_rows: list[dict]) -> list[dict]:
    """The evidence rows of clips that decoded and were routed: the clips that get captions."""
    return [row for row in evidence_rows if row["decode_status"] == STATUS_OK and row["routed_domain"]]


def offline_caption_rows(shard: str, clips: list[dict]) -> list[dict]:
    """Captions from the deterministic offline synthesiser; a clip it cannot caption gets its reason."""
    rows = []
    for clip in clips:
        try:
            rows.append(caption_row(clip["key"], shard, synthesize_caption(clip), model=SYNTHESIZER_NAME,
                                    prompt_version=SYNTHESIZER_NAME, prompt_tokens=0, completion_tokens=0,
                                    requests=0, cache_hit=False))
        except Exception as error:  # recorded per clip; the shard goes on
            rows.append(caption_row(clip["key"], shard, None, model=SYNTHESIZER_NAME, status=STATUS_ERROR,
                                    error=error_text(error)))
    return rows


def llm_caption_rows(shard: str, clips: list[dict], llm: LlmSettings, cache_root: str,
                     log: logging.Logger = logger) -> list[dict]:
    """Captions from the LLM, one request per clip, every domain in one pool (the reply schema
    depends on the clip's domain, so each clip carries its own parser); replies are cached under
    ``cache_root`` so a re-run never pays twice. Raises ``EndpointUnreachable`` when the endpoint
    is down or refuses the configuration (a clip's bad reply is an error row instead)."""
    parsers = {domain: functools.partial(parse_reply, domain=domain) for domain in {c["routed_domain"] for c in clips}}
    items = [(clip["key"], build_messages(clip), parsers[clip["routed_domain"]]) for clip in clips]
    tracker = ShardProgress("captions", total=len(items), log=log)
    mean_seconds = sum(clip.get("duration_s") or 0.0 for clip in clips) / max(len(clips), 1)
    results = run_requests(items, llm, PROMPT_VERSION, parse_reply, repair_messages, split_reasoning,
                           cache=ReplyCache(cache_root), progress=lambda done, total: tracker.add(mean_seconds))
    outcomes = {o.key: o for o in results}
    tracker.finish(failed=sum(o.status != STATUS_OK for o in results))
    rows = []
    for clip in clips:
        o = outcomes[clip["key"]]
        provenance = dict(model=llm.model, prompt_version=PROMPT_VERSION, prompt_tokens=o.prompt_tokens,
                          completion_tokens=o.completion_tokens, requests=o.requests, cache_hit=o.cache_hit,
                          reasoning=o.reasoning)
        if o.status == STATUS_OK:
            rows.append(caption_row(o.key, shard, o.value, **provenance))
        else:
            rows.append(caption_row(o.key, shard, None, status=STATUS_ERROR, error=o.error, raw_reply=o.raw_reply,
                                    **provenance))
    return rows


def caption_cost(rows: list[dict]) -> dict[str, int]:
    """Requests, tokens, cache hits and failures of a shard's captions."""
    return {
        "requests": sum(r.get("requests") or 0 for r in rows),
        "prompt_tokens": sum(r.get("prompt_tokens") or 0 for r in rows),
        "completion_tokens": sum(r.get("completion_tokens") or 0 for r in rows),
        "cache_hits": sum(bool(r.get("cache_hit")) for r in rows),
        "failures": sum(r["status"] != STATUS_OK for r in rows),
    }


def _facets_follow_domain(row) -> float:
    """1 when the row's "None" facets agree with its domain (the curation filter's rule)."""
    facets = {f: list(row[f]) if row[f] is not None else [] for f in FACETS}
    return float(domain_problem({"domain": row["domain"], **facets}) is None)


def _all_confidences(row) -> list[float]:
    values = [c for f in FACETS for c in (row[f"{f}_confidence"] if row[f"{f}_confidence"] is not None else [])]
    return values + [q["confidence"] for q in (row["qa"] if row["qa"] is not None else [])]


# Computed columns of the captions check, and the range each must fall in.
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
CAPTION_RANGES = {"_variants_min": (3, 3), "_variants_max": (3, 3), "_empty_variants": (0, 0),
                  "_confidence_min": (0.0, 1.0), "_confidence_max": (0.0, 1.0),
                  "_qa_count": (QA_PER_CLIP, QA_PER_CLIP), "_qa_labels_valid": (1.0, 1.0),
                  "_facets_follow_domain": (1.0, 1.0)}


def check_captions(captions: pa.Table, evidence_rows: list[dict], max_error_rate: float) -> QualityReport:
    """One row per captionable clip; exactly three non-empty variants per facet; confidences in
    [0, 1]; five QA pairs with MECAT labels; "None" facets exactly where the domain lacks that
    content; failure rate under the limit."""
    expected = [row["key"] for row in captionable(evidence_rows)]
    return check_expert("captions", captions, CAPTIONS_SCHEMA, expected, max_error_rate, ranges=CAPTION_RANGES,
                        derived=CAPTION_CHECKS)
