"""The blocking check of an expert table, from its spec: schema, one row per clip it covers,
the failure rate, and its value ranges and allowed values."""

from __future__ import annotations

import pyarrow as pa

from acav_assets.experts.spec import ExpertSpec, ShardInputs
from acav_assets.quality.suites import QualityReport, check_expert


def check_expert_table(spec: ExpertSpec, inputs: ShardInputs, max_error_rate: float,
                       table: pa.Table | None = None) -> QualityReport:
    """The spec's suite on ``table`` (a candidate not yet promoted), by default the live table."""
    table = inputs.read(spec.name) if table is None else table
    return check_expert(spec.name, table, spec.schema, spec.expected_keys(inputs, table), max_error_rate,
                        ranges=dict(spec.ranges), value_sets=dict(spec.value_sets), derived=dict(spec.derived))
