import dagster as dg

from acav_assets.defs.partitions import (
    run_task_partitions,
    shard_partitions,
    system_partitions,
    training_run_partitions,
)

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

# Stage 5, training and evaluation, is one job per partitioning (a job has one partitions
# definition): training runs, scored systems, run x task probes, and the two benchmark tables.
train_job = dg.define_asset_job(
    "train", selection=dg.AssetSelection.assets("caption_model", "caption_predictions"),
    partitions_def=training_run_partitions,
    description="Stage 5: train a run's caption model on the release and caption the benchmark clips with it.",
)

evaluate_captions_job = dg.define_asset_job(
    "evaluate_captions", selection=dg.AssetSelection.assets("mecat_caption_scores"), partitions_def=system_partitions,
    description="Stage 5: MECAT-Caption DATE scores of a system (a training run's predictions or an added CSV).",
)

probe_downstream_job = dg.define_asset_job(
    "probe_downstream", selection=dg.AssetSelection.assets("downstream_scores"), partitions_def=run_task_partitions,
    description="Stage 5: adapter-only probe of a run's frozen model on one Table 3 task.",
)

benchmark_tables_job = dg.define_asset_job(
    "benchmark_tables", selection=dg.AssetSelection.assets("caption_benchmark_table", "downstream_table"),
    description="Stage 5: Table 2 and Table 3, the paper's rows beside every scored system and run.",
)

STAGE_JOBS = [ingest_stage_job, annotate_job, synthesise_job, curate_release_job,
              train_job, evaluate_captions_job, probe_downstream_job, benchmark_tables_job]
