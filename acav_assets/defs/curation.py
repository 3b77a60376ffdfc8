"""Stage 4, curation and release: the captions one can trust, every drop explained, and the
published files written from them."""

import dagster as dg
import pyarrow as pa

from acav_assets.captions.schema import FACETS
from acav_assets.captions.table import CAPTIONS_SCHEMA
from acav_assets.curation.corpus_dedup import (
    corpus_duplicates as find_corpus_duplicates,
)
from acav_assets.curation.filters import packaged_minilm
from acav_assets.curation.release import describe_problems, publish, round_trip_problems
from acav_assets.curation.shard_curation import DROP_REASONS, curate_shard
from acav_assets.defs.captions import captions
from acav_assets.defs.metadata import check_result, column_schema, metadata, promote
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.policies import PER_SHARD, ROLL_UP
from acav_assets.defs.resources import AcavSettings
from acav_assets.ingest.clip_decoding import CLIPS_SCHEMA
from acav_assets.io import storage
from acav_assets.ops.promotion import staged
from acav_assets.quality.suites import QualityReport, check_accounting
from acav_assets.stats.token_stats import caption_token_rows, token_count


@dg.asset(
    partitions_def=shard_partitions, group_name="curation", **PER_SHARD, deps=[captions], kinds={"parquet"},
    description="Captions that pass every filter (confidence, domain consistency, caption-evidence "
    "consistency under all-MiniLM-L6-v2, exact and near duplicates, decontamination list); every "
    "dropped clip is in curation_drops with its reason.",
)
def curated_captions(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    shard, layout = context.partition_key, settings.layout
    captioned = storage.read_table(layout.table("captions", shard))
    rows = captioned.to_pylist()
    evidence = storage.read_table(layout.table("evidence", shard)).to_pylist()
    decoded = storage.read_table(layout.table("clips", shard), CLIPS_SCHEMA).select(["key", "checksum"]).to_pylist()
    kept, drops, summary = curate_shard(rows, evidence, packaged_minilm(), settings.decontamination_list, clips=decoded)
    storage.write_table(drops, staged(layout.table("curation_drops", shard)))
    promote(kept, layout.table("curated_captions", shard), accounting_report(kept, drops, captioned),
            companions=[layout.table("curation_drops", shard)],
            what=f"curated captions of shard {shard}", log=context.log)
    context.log.info("curation: kept %d of %d clips; dropped %s", kept.num_rows, len(rows), summary["drop_reasons"])
    return dg.MaterializeResult(metadata={
        "dagster/row_count": kept.num_rows, "dagster/column_schema": column_schema(CAPTIONS_SCHEMA),
        **metadata(summary)})


@dg.asset_check(asset=curated_captions, blocking=True, partitions_def=shard_partitions)
def curation_accounts_for_every_clip(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """Kept and dropped clips together are exactly the captioned clips; every drop has a known reason."""
    layout, shard = settings.layout, context.partition_key
    return check_result(accounting_report(*(storage.read_table(layout.table(name, shard))
                                            for name in ("curated_captions", "curation_drops", "captions"))))


def accounting_report(kept: pa.Table, drops: pa.Table, captioned: pa.Table) -> QualityReport:
    """Kept and dropped clips against the captioned ones: run before promotion and by the check."""
    return check_accounting(kept=kept["key"].to_pylist(), dropped=drops["key"].to_pylist(),
                            reasons=drops["reason"].to_pylist(), captioned=captioned["key"].to_pylist(),
                            known_reasons=list(DROP_REASONS))


@dg.asset(
    partitions_def=shard_partitions, group_name="curation", **PER_SHARD, deps=[curated_captions], kinds={"parquet"},
    description="Every curated caption variant with its Qwen3 token ids (the exact Qwen3 tokenizer, "
    "batched); DuckDB counts unique tokens over these (dataset_stats, caption_stats).",
)
def caption_tokens(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    shard, layout = context.partition_key, settings.layout
    curated = storage.read_table(layout.table("curated_captions", shard)).to_pylist()
    table = caption_token_rows(curated, shard, FACETS)
    storage.write_table(table, layout.table("caption_tokens", shard))
    return dg.MaterializeResult(metadata={"dagster/row_count": table.num_rows, "tokens": token_count(table)})


@dg.asset(
    group_name="release", deps=[curated_captions, dg.AssetKey("corpus_duplicates")],
    kinds={"json", "parquet", "webdataset", "huggingface"}, **ROLL_UP,
    description="The published layout: {domain}.jsonl.gz per domain (ACAVCaps lines), qa.jsonl.gz "
    "(MECAT-QA lines), captions.parquet (text only), the Hugging Face configs captions/ (audio as an "
    "Audio feature) and qa/ (one row per pair) split by source, the dataset card README.md whose "
    "configs `load_dataset` follows, WebDataset shards (flac + json) for training and index.json "
    "(size and sha256 of every file); every file but the ACAVCaps/MECAT lines carries each clip's "
    "source, window and licence. Built in a staging folder and swapped in whole once it "
    "round-trips; plots of the release in the metadata.",
)
def release(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    try:
        summary = publish(settings.layout, log=context.log)
    except ValueError as error:  # an object-store root: the release is written to a local folder
        raise dg.Failure(str(error), allow_retries=False) from error
    return dg.MaterializeResult(metadata={**metadata(summary), "folder": dg.MetadataValue.path(summary["folder"])})


@dg.asset_check(asset=release, blocking=True)
def release_round_trip(settings: AcavSettings) -> dg.AssetCheckResult:
    """Every file matches index.json (size, sha256, nothing unlisted), and reading the published
    files, tars and Hugging Face Parquet back gives exactly the curated captions with their clips'
    provenance (000 clips excluded); the card's configs cover exactly the Parquet files."""
    problems = round_trip_problems(settings.layout)
    passed = not any(problems.values())
    return dg.AssetCheckResult(
        passed=passed,
        description="release matches its index and the curated captions" if passed else describe_problems(problems),
        metadata={kind: len(found) for kind, found in problems.items()},
    )


@dg.asset(
    group_name="release", deps=[curated_captions], kinds={"parquet", "duckdb"}, **ROLL_UP,
    description="Cross-shard duplicates the release leaves out: clips whose long caption equals or "
    "nearly equals (MinHash LSH, verified word-bigram Jaccard) another clip's and whose audio is the "
    "same material (same PCM, or overlapping windows of one source); the copy with the highest mean "
    "confidence wins (acav_assets.curation.corpus_dedup).",
)
def corpus_duplicates(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    table, summary = find_corpus_duplicates(settings.layout)
    storage.write_table(table, settings.layout.table("corpus_duplicates"))
    context.log.info("corpus dedup: %s", summary)
    return dg.MaterializeResult(metadata={"dagster/row_count": table.num_rows, **metadata(summary)})
