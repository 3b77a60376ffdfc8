"""A long-lived worker process that the CLI feeds with runs: one run per line of JSON on stdin,
``{"selection": "group:ingest or …", "partition": "shard-0001" | null}``, each executed in this
process against the instance in DAGSTER_HOME (so every run shows in the Dagster UI).

Models are cached per process (``defs/resources.py``), so a worker that materialises a hundred
shards loads them once. The worker answers on stdout with one JSON line per event:
``{"event": "progress", "text": …, "totals": …}`` for each stage's progress report (totals on a
stage's last report) and
``{"event": "done", "success": …, "run_id": …, "problems": […]}`` when a run ends. Dagster's own
console log is kept to warnings (on stderr); the full log of every run is in the instance.
"""

from __future__ import annotations

import json
import logging
import os
import sys

import dagster as dg

QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class _ProgressToParent(logging.Handler):
    """Forwards each stage's progress report to the CLI as a JSON line."""

    def emit(self, record: logging.LogRecord) -> None:
        _answer({"event": "progress", "text": record.getMessage(), "totals": getattr(record, "stage_totals", None)})


_protocol = sys.stdout  # replaced in main() by a private copy of the real stdout


def _answer(message: dict) -> None:
    _protocol.write(json.dumps(message) + "\n")
    _protocol.flush()


def execute(selection: str, partition: str | None, instance: dg.DagsterInstance) -> dict:
    """Materialise ``selection`` (Dagster's selection syntax) for ``partition``, with its checks."""
    from acav_assets.definitions import ASSETS, CHECKS
    from acav_assets.defs.resources import resources_from_env
    from acav_assets.defs.run_reports import run_problems

    result = dg.materialize(
        [*ASSETS, *CHECKS], selection=dg.AssetSelection.from_string(selection), partition_key=partition,
        instance=instance, resources=resources_from_env(), run_config=QUIET_CONSOLE, raise_on_error=False,
        tags={"acav/launched_by": "acav-assets cli"},
    )
    problems = [] if result.success else run_problems(instance, result.run_id)
    return {"event": "done", "success": result.success, "run_id": result.run_id, "problems": problems}


def main() -> int:
    global _protocol
    from acav_assets.io.progress import PROGRESS_LOGGER

    # Answers go to a private copy of stdout; whatever a library prints lands on stderr instead.
    _protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    progress = logging.getLogger(PROGRESS_LOGGER)
    progress.addHandler(_ProgressToParent())
    progress.setLevel(logging.INFO)
    progress.propagate = False
    with dg.DagsterInstance.get() as instance:
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            try:
                _answer(execute(request["selection"], request.get("partition"), instance))
            except Exception as error:  # a run that could not even start (bad selection, bad settings)
                _answer({"event": "done", "success": False, "run_id": None,
                         "problems": [f"the run did not start: {type(error).__name__}: {error}"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
