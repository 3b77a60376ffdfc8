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
"""

import warnings

import dagster as dg

# backfill_policy is "beta" in Dagster 1.13; the assets that use it import this module first.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*`backfill_policy`.*")

SHARDS_PER_RUN = 1
SHARD_AT_A_TIME = dg.BackfillPolicy.multi_run(max_partitions_per_run=SHARDS_PER_RUN)

# Every per-shard asset: one shard per backfill run (the same policy everywhere, so a job over
# several stages does not mix policies).
PER_SHARD = {"backfill_policy": SHARD_AT_A_TIME}

TRANSIENT_RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

GPU_BOUND = {
    "pool": "gpu",
    "backfill_policy": SHARD_AT_A_TIME,
    "retry_policy": TRANSIENT_RETRY,
}

LLM_BOUND = {
    "pool": "llm_api",
    "backfill_policy": SHARD_AT_A_TIME,
    "retry_policy": TRANSIENT_RETRY,
}

# The nightly backfill schedule requests shard runs at 02:00 (defs/schedules.py); the roll-ups
# then refresh once a day, after their upstream shards have updated, through declarative
# automation (the default automation condition sensor evaluates it when the daemon runs).
NIGHTLY_BACKFILL_CRON = "0 2 * * *"
NIGHTLY_ROLL_UP_CRON = "0 6 * * *"

ROLL_UP = {
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "automation_condition": dg.AutomationCondition.on_cron(NIGHTLY_ROLL_UP_CRON),
}
