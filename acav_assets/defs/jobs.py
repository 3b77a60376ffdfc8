import dagster as dg

from acav_assets.defs.partitions import shard_partitions

# Everything computed per shard (decode, then the experts), with their checks.
ingest_job = dg.define_asset_job(
    "ingest_shard",
    selection=dg.AssetSelection.groups("ingest", "experts", "captions", "curation"),
    partitions_def=shard_partitions,
    description="Decode one shard, run the experts on it and write its captions.",
)

statistics_job = dg.define_asset_job(
    "statistics",
    selection=dg.AssetSelection.groups("release", "statistics"),
    description="Write the release and rebuild the DuckDB statistics over every shard's Parquet.",
)

# One job per stage group, for launching (or backfilling) one stage at a time from the UI or CLI.
# Group selections resolve when the definitions load, so a group that has no assets yet gives an
# empty job rather than an error.
ingest_stage_job = dg.define_asset_job(
    "ingest", selection=dg.AssetSelection.groups("ingest"), partitions_def=shard_partitions,
    description="Stage 1: decode each planned clip of a shard into the audio tar and the clips table.",
)

annotate_job = dg.define_asset_job(
    "annotate", selection=dg.AssetSelection.groups("experts"), partitions_def=shard_partitions,
    description="Stage 2: the experts (tags, routing, speech, music, sound events, acoustics, metadata) and the evidence table.",
)

synthesise_job = dg.define_asset_job(
    "synthesise", selection=dg.AssetSelection.groups("captions"), partitions_def=shard_partitions,
    description="Stage 3: captions and QA from the evidence (LLM endpoint in the llm_api pool, or the offline synthesiser).",
)

curate_release_job = dg.define_asset_job(
    "curate_release", selection=dg.AssetSelection.groups("curation", "release", "statistics"),
    description="Stage 4: curation filters and caption tokens per shard, then the release files and the "
    "DuckDB statistics over every shard.",
)

def train_evaluate_jobs(assets_defs) -> list:
    """Stage 5: training runs on the release and their evaluation (groups "training" and "evaluation").

    A job has one partitions definition, while training is partitioned by training run and scoring
    by caption system: ``train_evaluate`` holds the unpartitioned assets and those of the first
    partitioning found (training runs first), ``train_evaluate_<partitions>`` each other one. Built
    from the loaded assets, so it follows whatever those groups hold (an empty job when none).
    """
    by_partitions: dict[str | None, list[dg.AssetKey]] = {}
    for assets_def in assets_defs:
        if not isinstance(assets_def, dg.AssetsDefinition):
            continue
        partitions = assets_def.partitions_def
        name = getattr(partitions, "name", None) or (str(partitions) if partitions else None)
        for spec in assets_def.specs:
            if spec.group_name in STAGE5_GROUPS:
                by_partitions.setdefault(name, []).append(spec.key)
    unpartitioned = by_partitions.pop(None, [])
    names = sorted(by_partitions, key=lambda n: (n != "training_runs", n))
    jobs = []
    for index, name in enumerate(names or [None]):
        keys = by_partitions.get(name, []) + (unpartitioned if index == 0 else [])
        jobs.append(dg.define_asset_job(
            "train_evaluate" if index == 0 else f"train_evaluate_{name}",
            selection=dg.AssetSelection.assets(*keys) if keys else dg.AssetSelection.groups(*STAGE5_GROUPS),
            description="Stage 5: training runs on the release and their MECAT-Caption evaluation"
            + (f" (assets partitioned by {name})" if name else "") + ".",
        ))
    return jobs


STAGE5_GROUPS = ("training", "evaluation")
STAGE_JOBS = [ingest_stage_job, annotate_job, synthesise_job, curate_release_job]
