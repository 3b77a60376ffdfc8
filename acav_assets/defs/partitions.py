import warnings

import dagster as dg

# Partitioned asset checks are "preview" in Dagster 1.13, but without partitions_def a check would
# load every shard. Filtered here, once, because every module defining checks imports this one first.
warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=".*partitions_def on an AssetCheckSpec.*")

# One partition per shard of at most `shard_size` clips, added by the manifest sensor or
# `acav-assets register`.
shard_partitions = dg.DynamicPartitionsDefinition(name="shards")

# One partition per named training run (a run config under {data_root}/training_runs/), added by
# `acav-assets add-run`; checkpoints and generated predictions are partitioned by it.
training_run_partitions = dg.DynamicPartitionsDefinition(name="training_runs")

# One partition per scored caption system: a training run's predictions (same name as the run)
# or an imported predictions file (`acav-assets add-system`).
system_partitions = dg.DynamicPartitionsDefinition(name="systems")
