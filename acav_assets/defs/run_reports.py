"""What went wrong in a run, in words a user can act on: each failed step's own error (the
innermost cause, without Dagster's wrapping or the stack) and each failed check's reason and
clip keys. The CLI prints these instead of the run's raw log."""

import dagster as dg

ERROR_LINES = 6


def _innermost(error):
    while error is not None and error.cause is not None:
        error = error.cause
    return error


def _error_line(error) -> str:
    """``Class: message``, without the module path Python's traceback puts before the class."""
    head, _, rest = error.message.strip().partition(": ")
    message = rest if head.endswith(error.cls_name) else error.message.strip()
    return f"{error.cls_name}: {message}"


def run_problems(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """One paragraph per failed step and per failed asset check of run ``run_id``."""
    kinds = (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.ASSET_CHECK_EVALUATION)  # steps first
    problems = []
    for kind in kinds:
        for record in instance.get_records_for_run(run_id, of_type=kind, limit=1000).records:
            event = record.event_log_entry.dagster_event
            if kind == dg.DagsterEventType.STEP_FAILURE:
                failure = event.step_failure_data
                error = _innermost(failure.error)
                text = (failure.user_failure_data.description if failure.user_failure_data else None) or (
                    _error_line(error) if error else "no error recorded")
                lines = text.strip().splitlines()
                problems.append(f"step {event.step_key} failed: " + "\n  ".join(lines[:ERROR_LINES])
                                + ("\n  …" if len(lines) > ERROR_LINES else ""))
            else:
                evaluation = event.event_specific_data
                if evaluation.passed:
                    continue
                where = f" [{evaluation.partition}]" if getattr(evaluation, "partition", None) else ""
                problems.append(f"check {evaluation.asset_key.to_user_string()}.{evaluation.check_name}{where} failed: "
                                + (evaluation.description or "no reason given").strip().replace("\n", "\n  "))
    return problems


def latest_run_problems(since: float) -> list[str]:
    """The problems of the newest run in the instance, if it started at or after ``since``."""
    with dg.DagsterInstance.get() as instance:
        records = instance.get_run_records(limit=1)
        if not records or records[0].create_timestamp.timestamp() < since - 1:
            return []
        return run_problems(instance, records[0].dagster_run.run_id)
