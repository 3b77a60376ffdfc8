import pyarrow as pa

from acav_assets.experts.acoustics import ACOUSTIC_RANGES
from acav_assets.experts.acoustics import SPEC as ACOUSTICS
from acav_assets.ingest.clip_decoding import CLIPS_SCHEMA
from acav_assets.quality import suites
from acav_assets_tests.fixtures import clip_rows


def test_good_clips_pass():
    report = suites.check_clips(clip_rows("s", ["ok"] * 5).set_column(
        CLIPS_SCHEMA.get_field_index("sample_rate"), "sample_rate", pa.array([16000] * 5, pa.int32())
    ).set_column(CLIPS_SCHEMA.get_field_index("checksum"), "checksum", pa.array(["x" * 64] * 5)),
        CLIPS_SCHEMA, 0.1, 30.0, 0.1)
    assert report.success, report.describe()


def test_failures_name_the_clips():
    table = clip_rows("s", ["ok", "error", "error", "ok"])
    rows = table.to_pylist()
    for row in rows:
        row["sample_rate"], row["checksum"] = 16000, "x" * 64
    rows[0]["sample_rate"] = 8000          # wrong rate
    rows[3]["duration_s"] = 45.0           # too long
    rows[3]["key"] = rows[1]["key"]        # duplicate key
    report = suites.check_clips(pa.Table.from_pylist(rows, schema=CLIPS_SCHEMA), CLIPS_SCHEMA, 0.1, 30.0, 0.1)
    assert not report.success
    failed = {(f.expectation, f.column): f.offending_keys for f in report.failures}
    assert failed[("expect_column_values_to_be_in_set", "sample_rate")] == ("s_0_0_10",)
    assert failed[("expect_column_values_to_be_between", "duration_s")] == ("s_1_0_10",)
    assert failed[("expect_column_values_to_be_unique", "key")] == ("s_1_0_10",)
    # 2 of 4 failed, above the 10 % limit: the error-rate gate names them.
    assert set(failed[("expect_column_values_to_be_in_set", "counted_status")]) == {"s_1_0_10", "s_2_0_10"}
    assert report.error_rate == 0.5
    assert "s_0_0_10" in report.describe()


def test_explained_input_defects_do_not_count_toward_the_error_rate():
    rows = clip_rows("s", ["ok", "error", "error", "ok"]).to_pylist()
    for row in rows:
        row["sample_rate"], row["checksum"] = 16000, "x" * 64
    rows[2]["error_kind"] = "decoder_exception"
    table = pa.Table.from_pylist(rows, schema=CLIPS_SCHEMA)
    explained = suites.check_clips(table, CLIPS_SCHEMA, 0.1, 30.0, 0.3, explained_kinds=frozenset({"unreadable_format"}))
    assert explained.success and explained.error_rate == 0.25 and explained.notes["explained_failures"] == 1
    unexplained = suites.check_clips(table, CLIPS_SCHEMA, 0.1, 30.0, 0.2, explained_kinds=frozenset({"unreadable_format"}))
    (failure,) = unexplained.failures
    assert failure.column == "counted_status" and failure.offending_keys == ("s_2_0_10",)


def test_error_rate_threshold_is_configurable():
    table = clip_rows("s", ["ok", "error"])
    rows = table.to_pylist()
    rows[0]["sample_rate"], rows[0]["checksum"] = 16000, "x" * 64
    table = pa.Table.from_pylist(rows, schema=CLIPS_SCHEMA)
    assert not suites.check_clips(table, CLIPS_SCHEMA, 0.1, 30.0, 0.1).success
    assert suites.check_clips(table, CLIPS_SCHEMA, 0.1, 30.0, 0.5).success


def test_acoustics_ranges_and_coverage():
    row = {"key": "a", "shard": "s", "rms_dbfs": -20.0, "peak_dbfs": -3.0, "loudness_lufs": -23.0,
           "clipping_ratio": 0.0, "silence_ratio": 0.1, "snr_db": 30.0, "bandwidth_hz": 7000.0, "rt60_s": 0.3,
           "is_silent": False, "status": "ok", "error": None}
    good = pa.Table.from_pylist([row, dict(row, key="b")], schema=ACOUSTICS.schema)
    assert suites.check_expert("acoustics", good, ACOUSTICS.schema, ["a", "b"], 0.1, ranges=ACOUSTIC_RANGES).success
    bad = pa.Table.from_pylist([row, dict(row, key="b", peak_dbfs=6.0)], schema=ACOUSTICS.schema)
    report = suites.check_expert("acoustics", bad, ACOUSTICS.schema, ["a", "b", "c"], 0.1, ranges=ACOUSTIC_RANGES)
    failed = {(f.expectation, f.column): f.offending_keys for f in report.failures}
    assert failed[("expect_column_values_to_be_between", "peak_dbfs")] == ("b",)
    assert ("expect_table_row_count_to_equal", None) in failed  # clip c has no acoustics row
