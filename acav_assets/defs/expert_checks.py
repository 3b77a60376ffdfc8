"""Blocking great-expectations checks on every expert table (see quality_checks.check_expert)."""

import dagster as dg
import numpy as np

from acav_assets.quality import suites as quality_checks
from acav_assets.io import storage
from acav_assets.ingest.clip_decoding import CLIPS_SCHEMA, STATUS_OK
from acav_assets.experts.music import PITCH_CLASSES
from acav_assets.experts.routing import DOMAINS
from acav_assets.defs.checks import check_result
from acav_assets.defs.expert_assets import (
    EXPERT_SCHEMAS, evidence_table, lalm_description, metadata_asset, music, routing, sound_events_asset, speech, tags,
)
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.resources import AcavSettings

# Expected keys come only from the checked asset's own upstream tables (decoded clips from
# `clips`, routed clips from `routing`), so a check never races an asset it does not depend on
# under a multiprocess or Celery executor.
def _keys(settings: AcavSettings, asset: str, shard: str, where=lambda row: True) -> list[str]:
    table = storage.read_table(settings.url(asset, shard))
    return [r["key"] for r in table.to_pylist() if r["status"] == STATUS_OK and where(r)]


def _routed(settings: AcavSettings, shard: str, position: int, letter: str) -> list[str]:
    return _keys(settings, "routing", shard, lambda r: r["domain"][position] == letter)


def _check(settings: AcavSettings, shard: str, asset: str, expected: list[str], **spec) -> dg.AssetCheckResult:
    table = storage.read_table(settings.url(asset, shard))
    return check_result(quality_checks.check_expert(
        asset, table, EXPERT_SCHEMAS[asset], expected, settings.max_error_rate, **spec
    ))


def _all_values(value) -> np.ndarray:
    """Every number in a (possibly nested) list cell; NaN for an empty or null cell."""
    if value is None or len(value) == 0:
        return np.array([np.nan])
    return np.concatenate([np.ravel(np.asarray(item, dtype=float)) for item in value])


def _score_range(column: str) -> dict:
    """Derived columns with the smallest and largest number in a list column, for range checks."""
    return {
        f"_{column}_min": lambda frame: frame[column].map(lambda v: float(np.min(_all_values(v)))),
        f"_{column}_max": lambda frame: frame[column].map(lambda v: float(np.max(_all_values(v)))),
    }


@dg.asset_check(asset=tags, blocking=True, partitions_def=shard_partitions)
def tags_quality(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """One row per decoded clip, every window and clip score a probability in [0, 1]."""
    shard = context.partition_key
    derived = {**_score_range("window_scores"), **_score_range("clip_scores")}
    ranges = {name: (0.0, 1.0) for name in derived}
    return _check(settings, shard, "tags", _keys(settings, "clips", shard), ranges=ranges, derived=derived)


@dg.asset_check(asset=routing, blocking=True, partitions_def=shard_partitions)
def routing_quality(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """One row per tagged clip, a domain from the 8, part scores in [0, 1]."""
    shard = context.partition_key
    ranges = {f"{part}_score": (0.0, 1.0) for part in ("speech", "music", "sound")}
    return _check(settings, shard, "routing", _keys(settings, "tags", shard), ranges=ranges,
                  value_sets={"domain": list(DOMAINS)})


@dg.asset_check(asset=speech, blocking=True, partitions_def=shard_partitions)
def speech_quality(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """One row per S** clip; ratios, rates and pitch in plausible ranges; attributes without a
    model say "unavailable"."""
    shard = context.partition_key
    return _check(
        settings, shard, "speech", _routed(settings, shard, 0, "S"),
        ranges={"speech_ratio": (0.0, 1.0), "speaking_rate_wpm": (0.0, 600.0), "pitch_median_hz": (50.0, 500.0),
                "language_probability": (0.0, 1.0), "gender_confidence": (0.0, 1.0), "voiced_ratio": (0.0, 1.0)},
        value_sets={"gender": ["male", "female", None]},
    )


@dg.asset_check(asset=music, blocking=True, partitions_def=shard_partitions)
def music_quality(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """One row per *M* clip; tempo 30-300 BPM, a key from the 12 pitch classes, ratios in [0, 1]."""
    shard = context.partition_key
    return _check(
        settings, shard, "music", _routed(settings, shard, 1, "M"),
        ranges={"tempo_bpm": (30.0, 300.0), "beat_confidence": (0.0, 1.0), "key_confidence": (0.0, 1.0),
                "harmonic_ratio": (0.0, 1.0), "percussive_ratio": (0.0, 1.0), "vocal_presence": (0.0, 1.0)},
        value_sets={"musical_key": [*PITCH_CLASSES, None], "mode": ["major", "minor", None]},
    )


@dg.asset_check(asset=sound_events_asset, blocking=True, partitions_def=shard_partitions)
def sound_events_quality(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """One row per **A clip."""
    shard = context.partition_key
    return _check(settings, shard, "sound_events", _routed(settings, shard, 2, "A"), ranges={"threshold": (0.0, 1.0)})


@dg.asset_check(asset=metadata_asset, blocking=True, partitions_def=shard_partitions)
def metadata_quality(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """One row per decoded clip, every row marked untrusted."""
    shard = context.partition_key
    return _check(settings, shard, "metadata", _keys(settings, "clips", shard),
                  value_sets={"trusted": [False]}, ranges={"language_confidence": (0.0, 1.0)})


@dg.asset_check(asset=lalm_description, blocking=True, partitions_def=shard_partitions)
def lalm_description_quality(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """Disabled: no rows. Enabled: one row per decoded clip, failures under the error rate."""
    shard = context.partition_key
    table = storage.read_table(settings.url("lalm_description", shard))
    expected = _keys(settings, "clips", shard) if table.num_rows else []
    return _check(settings, shard, "lalm_description", expected)


@dg.asset_check(asset=evidence_table, blocking=True, partitions_def=shard_partitions)
def evidence_quality(context: dg.AssetCheckExecutionContext, settings: AcavSettings) -> dg.AssetCheckResult:
    """One row per planned clip, unique keys, a routed domain for every decoded clip."""
    shard = context.partition_key
    gx = quality_checks._gx()
    clips = storage.read_table(settings.url("clips", shard), CLIPS_SCHEMA)
    frame = storage.read_table(settings.url("evidence", shard)).to_pandas()
    report = quality_checks.run_suite("evidence", frame, [
        gx.expectations.ExpectTableRowCountToEqual(value=clips.num_rows),
        gx.expectations.ExpectColumnValuesToBeUnique(column="key"),
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="routed_domain", value_set=list(DOMAINS), row_condition='decode_status=="ok"',
            condition_parser="pandas"),
        gx.expectations.ExpectColumnValuesToNotBeNull(
            column="routed_domain", row_condition='decode_status=="ok"', condition_parser="pandas"),
    ])
    return check_result(report)
