"""How assets share scarce capacity and recover: pools, backfill policies and retries.

- ``gpu`` and ``llm_api`` pools bound how many steps use the GPUs / the LLM endpoint at once
  across all runs (``dagster instance concurrency set gpu 2``, or ``concurrency.pools`` in
  deploy/dagster.yaml).
- Model- and LLM-bound assets backfill with ``multi_run`` and a bounded number of shards per run:
  one shard per run, so each shard keeps its own metadata, blocking checks, retries and run in
  the UI (the assets and checks read ``context.partition_key``); the pools, not the run size,
  keep the GPUs and the endpoint busy.
- Roll-ups over every shard (release, DuckDB statistics) backfill in a single run.
- Transient failures (a lost GPU, an endpoint outage, an object-store hiccup) are retried with
  exponential backoff and jitter, so a fleet of shards does not retry in lock-step.
- On Kubernetes, ``gpu`` steps ask for one GPU and ``llm_api`` steps for a little CPU (op tags).
"""

import warnings

import dagster as dg

from acav_assets.ops.k8s_placement import gpu_step_k8s_config, llm_step_k8s_config

# backfill_policy is "beta" in Dagster 1.13; the assets that use it import this module first.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*`backfill_policy`.*")

SHARDS_PER_RUN = 1
SHARD_AT_A_TIME = dg.BackfillPolicy.multi_run(max_partitions_per_run=SHARDS_PER_RUN)

# Every per-shard asset: one shard per backfill run (the same policy everywhere, so a job over
# several stages does not mix policies).
PER_SHARD = {"backfill_policy": SHARD_AT_A_TIME}

TRANSIENT_RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

# Pool, retries and Kubernetes placement of a model- or LLM-bound step. The op tag is read only
# by dagster-k8s (k8s_job_executor: one pod per step, see defs/k8s_location.py); other executors
# ignore it. Node selector, tolerations and resources come from ACAV_K8S_* (ops/k8s_placement.py).
K8S_CONFIG_TAG = "dagster-k8s/config"
GPU_STEP = {"pool": "gpu", "retry_policy": TRANSIENT_RETRY, "op_tags": {K8S_CONFIG_TAG: gpu_step_k8s_config()}}
LLM_STEP = {"pool": "llm_api", "retry_policy": TRANSIENT_RETRY, "op_tags": {K8S_CONFIG_TAG: llm_step_k8s_config()}}
POOL_STEP = {"gpu": GPU_STEP, "llm_api": LLM_STEP}

GPU_BOUND = {**GPU_STEP, "backfill_policy": SHARD_AT_A_TIME}
LLM_BOUND = {**LLM_STEP, "backfill_policy": SHARD_AT_A_TIME}

# The nightly backfill schedule requests shard runs at 02:00 (defs/schedules.py); the roll-ups
# then refresh once a day, after their upstream shards have updated, through declarative
# automation (the default automation condition sensor evaluates it when the daemon runs).
NIGHTLY_BACKFILL_CRON = "0 2 * * *"
NIGHTLY_ROLL_UP_CRON = "0 6 * * *"

ROLL_UP = {
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "automation_condition": dg.AutomationCondition.on_cron(NIGHTLY_ROLL_UP_CRON),
}
