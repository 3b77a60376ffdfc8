"""Data-quality suites for the per-shard tables, run with great-expectations 1.x.

Each suite returns a ``QualityReport`` that says which expectations failed and names the
offending clips, so that a failing Dagster check tells the user exactly what to look at.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

OK_ROWS = 'status=="ok"'


@dataclass(frozen=True)
class ExpectationResult:
    expectation: str
    column: str | None
    success: bool
    observed: str
    offending_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class QualityReport:
    suite: str
    results: tuple[ExpectationResult, ...]
    rows: int
    error_rate: float = 0.0
    notes: dict = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)

    @property
    def failures(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success]

    def describe(self, max_keys: int = 20) -> str:
        """One line per failed expectation, naming up to ``max_keys`` clips."""
        if self.success:
            return f"{self.suite}: all {len(self.results)} expectations passed on {self.rows} rows"
        lines = [f"{self.suite}: {len(self.failures)} of {len(self.results)} expectations failed"]
        for failure in self.failures:
            keys = ", ".join(failure.offending_keys[:max_keys])
            more = len(failure.offending_keys) - max_keys
            keys += f" and {more} more" if more > 0 else ""
            target = f" on {failure.column}" if failure.column else ""
            lines.append(f"- {failure.expectation}{target}: {failure.observed}" + (f"; clips: {keys}" if keys else ""))
        return "\n".join(lines)

    def markdown(self) -> str:
        header = "| expectation | column | ok | observed |\n|---|---|---|---|\n"
        return header + "\n".join(
            f"| {r.expectation} | {r.column or ''} | {'yes' if r.success else '**no**'} | {r.observed} |"
            for r in self.results
        )


@functools.cache
def _gx_context():
    # great-expectations takes seconds to import: only pay for it when a check runs.
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _gx():
    import great_expectations as gx

    return gx


def run_suite(suite_name: str, frame: pd.DataFrame, expectations: list, key_column: str = "key") -> QualityReport:
    """Validate ``frame`` against GX expectation objects; collect offending keys per failure."""
    gx = _gx()
    context = _gx_context()
    source = context.data_sources.add_or_update_pandas(f"{suite_name}_source")
    asset = source.add_dataframe_asset(f"{suite_name}_{id(frame)}")
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": frame})
    suite = gx.ExpectationSuite(name=suite_name)
    for expectation in expectations:
        suite.add_expectation(expectation)
    result_format = {"result_format": "COMPLETE"}
    if key_column in frame.columns:
        result_format["unexpected_index_column_names"] = [key_column]
    validation = batch.validate(suite, result_format=result_format)
    results = []
    for outcome in validation.results:
        config = outcome.expectation_config
        detail = outcome.result or {}
        keys = tuple(
            str(item.get(key_column)) for item in detail.get("unexpected_index_list") or [] if isinstance(item, dict)
        )
        if "unexpected_count" in detail:
            observed = f"{detail['unexpected_count']} unexpected of {detail.get('element_count', len(frame))}"
        elif "observed_value" in detail:
            observed = str(detail["observed_value"])[:200]
        else:
            observed = "exception: " + str(outcome.exception_info.get("exception_message", ""))[:200] if not outcome.success else ""
        results.append(
            ExpectationResult(
                expectation=config.type,
                column=config.kwargs.get("column"),
                success=bool(outcome.success),
                observed=observed,
                offending_keys=tuple(dict.fromkeys(keys)) if not outcome.success else (),
            )
        )
    source.delete_asset(asset.name)
    return QualityReport(suite=suite_name, results=tuple(results), rows=len(frame))


# A failure explained by a defect of the input, as the error-rate gate sees it.
EXPLAINED = "explained"
GATE = "counted_status"


def _status_expectations(schema: pa.Schema, max_error_rate: float, gate_column: str = "status") -> list:
    gx = _gx()
    return [
        gx.expectations.ExpectTableColumnsToMatchOrderedList(column_list=schema.names),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="key"),
        gx.expectations.ExpectColumnValuesToBeUnique(column="key"),
        gx.expectations.ExpectColumnValuesToBeInSet(column="status", value_set=["ok", "error"]),
        gx.expectations.ExpectColumnValuesToNotBeNull(
            column="error", row_condition='status=="error"', condition_parser="pandas"
        ),
        # The error-rate gate: at most max_error_rate of the rows may have failed (without an
        # explanation, where the table has a gate column that sets explained defects apart).
        gx.expectations.ExpectColumnValuesToBeInSet(
            column=gate_column, value_set=["ok", EXPLAINED], mostly=max(0.0, 1.0 - max_error_rate)
        ),
    ]


def _error_rate(frame: pd.DataFrame, column: str = "status") -> float:
    return float((~frame[column].isin(["ok", EXPLAINED])).mean()) if len(frame) else 0.0


def check_clips(
    table: pa.Table,
    schema: pa.Schema,
    min_clip_seconds: float,
    max_clip_seconds: float,
    max_error_rate: float,
    sample_rate: int = 16_000,
    explained_kinds: frozenset[str] = frozenset(),
) -> QualityReport:
    """Schema, unique keys, 16 kHz audio, durations in range and the failure rate of one shard.

    Failures whose ``error_kind`` is in ``explained_kinds`` (defects of the input: a corrupt,
    missing or empty file) are recorded per clip and do not count toward ``max_error_rate``: a
    shard's good clips are never held back by its explained bad files."""
    gx = _gx()
    frame = table.to_pandas()
    explained = (frame["status"] != "ok") & frame["error_kind"].isin(explained_kinds)
    frame[GATE] = frame["status"].where(~explained, EXPLAINED)
    gated = pa.schema(list(schema) + [pa.field(GATE, pa.string())])
    expectations = _status_expectations(gated, max_error_rate, GATE) + [
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="sample_rate", value_set=[sample_rate], row_condition=OK_ROWS, condition_parser="pandas"
        ),
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="duration_s", min_value=min_clip_seconds, max_value=max_clip_seconds,
            row_condition=OK_ROWS, condition_parser="pandas",
        ),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="checksum", row_condition=OK_ROWS, condition_parser="pandas"),
    ]
    report = run_suite("clips", frame, expectations)
    return QualityReport(report.suite, report.results, report.rows, _error_rate(frame, GATE),
                         notes={"explained_failures": int(explained.sum())})


def check_expert(
    suite: str,
    table: pa.Table,
    schema: pa.Schema,
    expected_keys: list[str],
    max_error_rate: float,
    ranges: dict[str, tuple[float | None, float | None]] | None = None,
    value_sets: dict[str, list] | None = None,
    derived: dict[str, Callable[[pd.DataFrame], pd.Series]] | None = None,
) -> QualityReport:
    """An expert table: schema, exactly one row per expected clip, the failure rate, and value
    ranges (units as in the schema) and allowed values on the rows that succeeded. ``derived``
    adds computed columns (e.g. the range of a list column) that ranges can then test."""
    gx = _gx()
    frame = table.to_pandas()
    for name, compute in (derived or {}).items():
        frame[name] = compute(frame) if len(frame) else pd.Series(dtype=float)
    expectations = _status_expectations(pa.schema(list(schema) + [pa.field(n, pa.float64()) for n in derived or {}]),
                                        max_error_rate) + [
        gx.expectations.ExpectTableRowCountToEqual(value=len(expected_keys)),
        gx.expectations.ExpectColumnValuesToBeInSet(column="key", value_set=sorted(expected_keys)),
    ]
    for column, (low, high) in (ranges or {}).items():
        expectations.append(
            gx.expectations.ExpectColumnValuesToBeBetween(
                column=column, min_value=low, max_value=high, row_condition=OK_ROWS, condition_parser="pandas"
            )
        )
    for column, allowed in (value_sets or {}).items():
        expectations.append(
            gx.expectations.ExpectColumnValuesToBeInSet(
                column=column, value_set=allowed, row_condition=OK_ROWS, condition_parser="pandas"
            )
        )
    report = run_suite(suite, frame, expectations)
    return QualityReport(report.suite, report.results, report.rows, _error_rate(frame))


def check_dataset_stats(stats: pa.Table, expected_samples: int, expected_planned: int) -> QualityReport:
    """The statistics agree with the Parquet they were computed from."""
    gx = _gx()
    frame = stats.to_pandas()
    expectations = [
        gx.expectations.ExpectTableRowCountToEqual(value=1),
        gx.expectations.ExpectColumnValuesToBeInSet(column="samples", value_set=[expected_samples]),
        gx.expectations.ExpectColumnValuesToBeInSet(column="clips_planned", value_set=[expected_planned]),
        gx.expectations.ExpectColumnValuesToBeBetween(column="hours", min_value=0.0),
    ]
    return run_suite("dataset_stats", frame, expectations, key_column="dataset")


def check_evidence(evidence: pa.Table, planned_clips: int, domains: list[str]) -> QualityReport:
    """One row per planned clip, unique keys, a routed domain for every decoded clip."""
    gx = _gx()
    return run_suite("evidence", evidence.to_pandas(), [
        gx.expectations.ExpectTableRowCountToEqual(value=planned_clips),
        gx.expectations.ExpectColumnValuesToBeUnique(column="key"),
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="routed_domain", value_set=domains, row_condition='decode_status=="ok"', condition_parser="pandas"),
        gx.expectations.ExpectColumnValuesToNotBeNull(
            column="routed_domain", row_condition='decode_status=="ok"', condition_parser="pandas"),
    ])


def check_accounting(kept: list[str], dropped: list[str], reasons: list[str], captioned: list[str],
                     known_reasons: list[str]) -> QualityReport:
    """Kept and dropped clips together are exactly the captioned clips, each once; every drop has a
    known reason."""
    gx = _gx()
    frame = pa.table({"key": kept + dropped, "reason": [None] * len(kept) + reasons}).to_pandas()
    return run_suite("curation", frame, [
        gx.expectations.ExpectColumnValuesToBeUnique(column="key"),
        gx.expectations.ExpectColumnValuesToBeInSet(column="key", value_set=sorted(captioned)),
        gx.expectations.ExpectTableRowCountToEqual(value=len(captioned)),
        gx.expectations.ExpectColumnValuesToBeInSet(column="reason", value_set=known_reasons),
    ])
