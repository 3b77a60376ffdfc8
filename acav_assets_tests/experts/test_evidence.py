import pyarrow as pa

from acav_assets.experts.evidence import STATUS_NOT_APPLICABLE, build_evidence
from acav_assets.experts.shard_runner import expert_schema
from acav_assets_tests.fixtures import clip_rows


def expert(rows: list[dict], fields: list[pa.Field]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=expert_schema(fields))


def test_one_row_per_clip_and_failures_stay_local():
    clips = clip_rows("s", ["ok", "ok", "error"])
    keys = clips["key"].to_pylist()
    loudness = [pa.field("lufs", pa.float64())]
    words = [pa.field("transcript", pa.string())]
    acoustics = expert([{"key": keys[0], "shard": "s", "lufs": -20.0, "status": "ok"},
                        {"key": keys[1], "shard": "s", "status": "error", "error": "boom"}], loudness)
    speech = expert([{"key": keys[1], "shard": "s", "transcript": "hello", "status": "ok"}], words)
    table = build_evidence(clips, {"acoustics": acoustics, "speech": speech}, {keys[0]: "0M0", keys[1]: "S00"})
    rows = table.to_pylist()
    assert [r["key"] for r in rows] == keys
    assert rows[0]["acoustics"]["lufs"] == -20.0 and rows[0]["speech"]["status"] == STATUS_NOT_APPLICABLE
    # Acoustics failed on clip 1; its speech result is intact.
    assert rows[1]["acoustics"]["status"] == "error" and rows[1]["speech"]["transcript"] == "hello"
    assert rows[1]["experts_failed"] == ["acoustics"]
    assert rows[2]["decode_status"] == "error" and rows[2]["routed_domain"] is None
    assert table.schema.field("speech").type.get_field_index("transcript") >= 0
