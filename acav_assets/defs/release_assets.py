"""Curation, release and caption statistics: the dataset one can trust, measure and publish."""

import collections
import os
import dagster as dg
import pyarrow as pa

from acav_assets.quality import suites as quality_checks
from acav_assets.io import storage
from acav_assets.captions.schema import FACETS
from acav_assets.captions.table import CAPTIONS_SCHEMA
from acav_assets.curation.filters import CurationSettings, curate, packaged_minilm
from acav_assets.defs.assets import CAPTION_TOKENS_SCHEMA, COMPARISON_SCHEMA, column_schema
from acav_assets.defs.caption_assets import captions
from acav_assets.defs.checks import check_result
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.policies import PER_SHARD, ROLL_UP
from acav_assets.defs.resources import AcavSettings

DROPS_SCHEMA = pa.schema([
    pa.field("key", pa.string(), nullable=False), pa.field("shard", pa.string(), nullable=False),
    pa.field("reason", pa.string(), nullable=False), pa.field("detail", pa.string()),
])
DROP_REASONS = ("caption_failed", "decontaminated", "low_confidence", "domain_inconsistent", "evidence_inconsistent",
                "duplicate", "near_duplicate")


def decontamination_ids() -> frozenset[str]:
    """Source ids or clip keys, one per line, from the file named by ACAV_DECONTAMINATION_LIST."""
    path = os.environ.get("ACAV_DECONTAMINATION_LIST", "")
    if not path:
        return frozenset()
    with open(path, encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip() and not line.startswith("#"))


@dg.asset(
    partitions_def=shard_partitions, group_name="curation", **PER_SHARD, deps=[captions], kinds={"parquet"},
    description="Captions that pass every filter (confidence, domain consistency, caption-evidence "
    "consistency under all-MiniLM-L6-v2, exact and near duplicates, decontamination list); every "
    "dropped clip is in curation_drops with its reason.",
)
def curated_captions(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    shard = context.partition_key
    rows = storage.read_table(settings.url("captions", shard)).to_pylist()
    evidence = {r["key"]: r for r in storage.read_table(settings.url("evidence", shard)).to_pylist()}
    kept, dropped = curate(rows, evidence, CurationSettings(decontamination_ids=decontamination_ids()),
                           packaged_minilm())
    kept_table = pa.Table.from_pylist(kept, schema=CAPTIONS_SCHEMA)
    storage.write_table(kept_table, settings.url("curated_captions", shard))
    storage.write_table(pa.Table.from_pylist(dropped, schema=DROPS_SCHEMA), settings.url("curation_drops", shard))
    reasons = collections.Counter(d["reason"] for d in dropped)
    context.log.info("curation: kept %d of %d clips; dropped %s", len(kept), len(rows), dict(reasons))
    drops_md = "\n".join(["| key | reason | detail |", "|---|---|---|"] + [
        f"| {d['key']} | {d['reason']} | {(d.get('detail') or '').replace('|', '/')} |" for d in dropped[:50]])
    return dg.MaterializeResult(metadata={
        "dagster/row_count": kept_table.num_rows,
        "dagster/column_schema": column_schema(CAPTIONS_SCHEMA),
        "kept": len(kept), "dropped": len(dropped), "drop_reasons": dict(reasons),
        "dropped_clips": dg.MetadataValue.md(drops_md if dropped else "No clip dropped."),
    })


@dg.asset_check(asset=curated_captions, blocking=True, partitions_def=shard_partitions)
def curation_accounts_for_every_clip(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """Kept and dropped clips together are exactly the captioned clips; every drop has a known reason."""
    shard = context.partition_key
    gx = quality_checks._gx()
    captioned = storage.read_table(settings.url("captions", shard))["key"].to_pylist()
    kept = storage.read_table(settings.url("curated_captions", shard))["key"].to_pylist()
    drops = storage.read_table(settings.url("curation_drops", shard))
    frame = pa.table({"key": kept + drops["key"].to_pylist(),
                      "reason": [None] * len(kept) + drops["reason"].to_pylist()}).to_pandas()
    report = quality_checks.run_suite("curation", frame, [
        gx.expectations.ExpectColumnValuesToBeUnique(column="key"),
        gx.expectations.ExpectColumnValuesToBeInSet(column="key", value_set=sorted(captioned)),
        gx.expectations.ExpectTableRowCountToEqual(value=len(captioned)),
        gx.expectations.ExpectColumnValuesToBeInSet(column="reason", value_set=list(DROP_REASONS)),
    ])
    return check_result(report)


def _curated_rows(settings: AcavSettings) -> list[dict]:
    table = storage.read_partitions(settings.data_root, "curated_captions")
    return [] if table is None else sorted(table.to_pylist(), key=lambda r: r["key"])


def _release_folder(settings: AcavSettings) -> str:
    local = storage.local_path(settings.data_root)
    if local is None:
        raise ValueError("the release is written to a local folder: set ACAV_DATA_ROOT to a local path")
    return f"{local}/release"


@dg.asset(
    group_name="release", deps=[curated_captions], kinds={"json", "parquet", "webdataset"}, **ROLL_UP,
    description="The published layout: {domain}.jsonl.gz per domain (ACAVCaps lines), qa.jsonl.gz "
    "(MECAT-QA lines), captions.parquet (loads with `datasets`), and WebDataset shards (flac + json) "
    "for training, with plots of the release in the metadata.",
)
def release(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    from acav_assets.stats import plots
    from acav_assets.curation.release import write_caption_files, write_parquet, write_qa_file, write_webdataset

    rows = _curated_rows(settings)
    folder = _release_folder(settings)
    os.makedirs(folder, exist_ok=True)
    per_domain = write_caption_files(rows, folder)
    qa_lines = write_qa_file(rows, folder)
    write_parquet(rows, f"{folder}/captions.parquet")
    shards = sorted({r["shard"] for r in rows})
    tars = write_webdataset(rows, {s: settings.url("audio", s, "tar") for s in shards}, f"{folder}/webdataset")
    clips = storage.read_partitions(settings.data_root, "clips", ["key", "duration_s"])
    durations = dict(zip(clips["key"].to_pylist(), clips["duration_s"].to_pylist())) if clips is not None else {}
    lengths = {f: [len(v.split()) for r in rows for v in r[f] if v != "None"] for f in FACETS}
    domains = collections.Counter(r["domain"] for r in rows)
    context.log.info("release: %d clips, %d QA lines, %d WebDataset shards in %s", len(rows), qa_lines, len(tars), folder)
    return dg.MaterializeResult(metadata={
        "folder": dg.MetadataValue.path(folder),
        "clips": len(rows), "qa_lines": qa_lines, "webdataset_shards": len(tars),
        "lines_per_domain": {k: v for k, v in per_domain.items()},
        "domain_distribution": dg.MetadataValue.md(plots.domain_distribution(dict(domains))),
        "duration_histogram": dg.MetadataValue.md(
            plots.duration_histogram([durations[r["key"]] for r in rows if durations.get(r["key"])])),
        "caption_lengths": dg.MetadataValue.md(plots.caption_length_histograms(lengths)),
    })


@dg.asset_check(asset=release, blocking=True)
def release_round_trip(settings: AcavSettings) -> dg.AssetCheckResult:
    """Reading the published files back gives exactly the curated captions (000 clips excluded)."""
    from acav_assets.curation.release import read_release

    rows = {r["key"]: r for r in _curated_rows(settings) if r["domain"] != "000"}
    released = read_release(_release_folder(settings))
    missing = sorted(set(rows) - set(released))
    extra = sorted(set(released) - set(rows))
    different = sorted(k for k in set(rows) & set(released)
                       if any(list(rows[k][f]) != list(released[k][f]) for f in FACETS)
                       or rows[k]["domain"] != released[k]["domain"])
    passed = not (missing or extra or different)
    return dg.AssetCheckResult(
        passed=passed,
        description="release matches the curated captions" if passed else
        f"missing {missing[:20]}, unexpected {extra[:20]}, different {different[:20]}",
        metadata={"clips": len(rows), "missing": len(missing), "unexpected": len(extra), "different": len(different)},
    )


@dg.asset(
    partitions_def=shard_partitions, group_name="curation", **PER_SHARD, deps=[curated_captions], kinds={"parquet"},
    description="Every curated caption variant with its Qwen3 token ids (the exact Qwen3 tokenizer, "
    "batched); DuckDB counts unique tokens over these (dataset_stats, caption_stats).",
)
def caption_tokens(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    import numpy as np

    from acav_assets.stats.token_stats import token_id_table

    shard = context.partition_key
    rows = []
    for caption in storage.read_table(settings.url("curated_captions", shard)).to_pylist():
        for facet in FACETS:
            absent = caption[facet][0] == "None"
            for variant, text in enumerate(caption[facet]):
                rows.append({"key": caption["key"], "shard": shard, "domain": caption["domain"], "facet": facet,
                             "variant": variant, "text": text, "absent": absent, "words": len(text.split())})
    ids = token_id_table([r["text"] for r in rows])
    row_index = ids["row"].to_numpy()
    token_ids = ids["token_id"].to_numpy()
    bounds = np.searchsorted(row_index, np.arange(len(rows) + 1))
    for i, row in enumerate(rows):
        row["token_ids"] = token_ids[bounds[i]:bounds[i + 1]].tolist()
    table = pa.Table.from_pylist(rows, schema=CAPTION_TOKENS_SCHEMA)
    storage.write_table(table, settings.url("caption_tokens", shard))
    return dg.MaterializeResult(metadata={"dagster/row_count": table.num_rows, "tokens": int(len(token_ids))})


# Table 1 of the ACAVCaps paper : hours, samples, unique Qwen3 tokens.
PAPER_TABLE_1 = [
    ("AudioCaps", "135", "50k", "5.5k"), ("Clotho", "24", "3.8k", "5.5k"), ("SongDescriber", "12", "0.4k", "2.4k"),
    ("MusicCaps", "7", "4.6k", "4.6k"), ("LPMusicCaps", "127", "21.6k", "5.1k"), ("WavCaps", "1.8k", "0.4M", "23.1k"),
    ("Auto-ACD", "5.2k", "1.9M", "20.3k"), ("Sound-VeCaps", "4.5k", "1.6M", "42.7k"),
    ("AudioSetCaps", "5.6k", "2.0M", "20.9k"), ("ACAVCaps", "13.0k", "4.7M", "76.7k"),
]


def _our_captions(settings: AcavSettings) -> pa.Table:
    """The curated captions in the comparison's long layout (one row per caption variant)."""
    from acav_assets.stats.caption_corpora import CAPTION_SCHEMA

    tokens = storage.read_partitions(settings.data_root, "caption_tokens")
    clips = storage.read_partitions(settings.data_root, "clips", ["key", "duration_s"])
    durations = dict(zip(clips["key"].to_pylist(), clips["duration_s"].to_pylist())) if clips is not None else {}
    rows = [] if tokens is None else [
        {"dataset": settings.dataset_name, "key": r["key"], "facet": r["facet"], "variant": r["variant"],
         "text": r["text"], "duration_s": durations.get(r["key"]), "absent": r["absent"], "domain": r["domain"]}
        for r in tokens.select(["key", "facet", "variant", "text", "absent", "domain"]).to_pylist()
    ]
    return pa.Table.from_pylist(rows, schema=CAPTION_SCHEMA)


@dg.asset(
    group_name="statistics", deps=[caption_tokens], kinds={"duckdb", "parquet"}, **ROLL_UP,
    description="Table 1 side by side: this dataset's curated captions and every caption dataset named "
    "in ACAV_COMPARE_DATASETS (';'-separated NAME=FORMAT:PATH, e.g. MECAT=acav:/data/mecat/caption/train), "
    "hours, samples and unique Qwen3 tokens counted the same way, with the paper's rows for reference.",
)
def dataset_comparison(context: dg.AssetExecutionContext, settings: AcavSettings) -> dg.MaterializeResult:
    from acav_assets.stats.caption_corpora import read_corpus
    from acav_assets.stats.token_stats import caption_tokens as tokenise, dataset_statistics, markdown_table

    specs = [s.strip() for s in os.environ.get("ACAV_COMPARE_DATASETS", "").split(";") if s.strip()]
    captions = pa.concat_tables([_our_captions(settings)] + [read_corpus(spec) for spec in specs])
    stats = dataset_statistics(captions, tokens=tokenise(captions)).select(COMPARISON_SCHEMA.names).cast(COMPARISON_SCHEMA)
    storage.write_table(stats, settings.url("dataset_comparison"))
    paper = "\n".join(["| dataset (paper) | hours | samples | unique tokens |", "|---|---|---|---|"]
                      + [f"| {name} | {h} | {n} | {t} |" for name, h, n, t in PAPER_TABLE_1])
    context.log.info("compared %d datasets", stats.num_rows)
    return dg.MaterializeResult(metadata={
        "table_1": dg.MetadataValue.md(markdown_table(stats)),
        "paper_table_1": dg.MetadataValue.md(paper),
        "parquet": dg.MetadataValue.path(settings.url("dataset_comparison")),
    })
