import warnings

import dagster as dg

from acav_assets.evaluation.downstream_tasks import load_tasks

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

# Downstream probes: one partition per (training run, Table 3 task).
downstream_task_partitions = dg.StaticPartitionsDefinition(list(load_tasks()))
run_task_partitions = dg.MultiPartitionsDefinition({"run": training_run_partitions, "task": downstream_task_partitions})
