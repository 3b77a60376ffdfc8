import json
import subprocess
import sys

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from acav_assets.ingest.manifests import (
    ManifestError,
    plan_clips,
    read_manifest,
    split_into_shards,
)


def durations(mapping):
    return lambda url: mapping.get(url.rsplit("/", 1)[-1])


def test_csv_manifest_with_metadata(tmp_path):
    manifest = tmp_path / "corpus.csv"
    manifest.write_text(
        "audio,start,end,source_id,title,tags,license,domain,speaker\n"
        "a.wav,,,007,A title,dog|bark,CC-BY-4.0,00A,anna\n"
        "sub/b.flac,2,7.5,,,,,,\n"
    )
    rows = read_manifest(str(manifest))
    assert rows[0].audio == str(tmp_path / "a.wav")
    assert rows[0].source_id == "007"  # ids stay text
    assert rows[0].tags == ("dog", "bark")
    assert rows[0].extra == {"speaker": "anna"}
    assert (rows[1].start, rows[1].end, rows[1].audio) == (2.0, 7.5, str(tmp_path / "sub/b.flac"))


def test_jsonl_and_parquet_manifests(tmp_path):
    records = [{"audio": "x.wav", "tags": ["rain", "wind"], "end": 4}, {"audio": "s3://bucket/y.flac"}]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    pq.write_table(pa.Table.from_pylist(records), tmp_path / "m.parquet")
    for name in ("m.jsonl", "m.parquet"):
        rows = read_manifest(str(tmp_path / name))
        assert rows[0].tags == ("rain", "wind") and rows[0].end == 4.0
        assert rows[1].audio == "s3://bucket/y.flac"


def test_audio_folder_without_manifest(tmp_path):
    for name in ("b.wav", "a.flac", "notes.txt", "nested/c.mp4"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    rows = read_manifest(str(tmp_path))
    assert [r.audio.rsplit("/", 1)[-1] for r in rows] == ["a.flac", "b.wav", "c.mp4"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("audio,start\na.wav,abc\n", "row 1: start 'abc' is not a number"),
        ("audio,start,end\na.wav,1,2\nb.wav,5,3\n", "row 2: end 3.0 must be after start 5.0"),
        ("audio,domain\na.wav,XYZ\n", "row 1: domain 'XYZ'"),
        ("audio,title\na.wav,t\n,t\n", "row 2: 'audio' is empty"),
        ("audio,title\na.wav,t,extra\n", "row 1: more fields than the header"),
        ("path,title\na.wav,t\n", "no 'audio' column"),
        ("audio,start\na.wav,-1\n", "row 1: start"),
        ("audio,title,audio\na.wav,t,b.wav\n", "the header names 'audio' more than once"),
    ],
)
def test_malformed_csv_names_the_row(tmp_path, content, message):
    manifest = tmp_path / "bad.csv"
    manifest.write_text(content)
    with pytest.raises(ManifestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_manifest(str(manifest))


def test_malformed_jsonl_names_the_line(tmp_path):
    manifest = tmp_path / "bad.jsonl"
    manifest.write_text('{"audio": "a.wav"}\n{"audio": "b.wav",\n')
    with pytest.raises(ManifestError, match="row 2: invalid JSON"):
        read_manifest(str(manifest))


def test_a_jsonl_field_given_twice_is_refused(tmp_path):
    manifest = tmp_path / "twice.jsonl"
    manifest.write_text('{"audio": "a.wav"}\n{"audio": "b.wav", "audio": "c.wav"}\n')
    with pytest.raises(ManifestError, match="row 2: the field 'audio' appears twice"):
        read_manifest(str(manifest))


def test_missing_and_unsupported_manifests(tmp_path):
    with pytest.raises(ManifestError, match="no such manifest"):
        read_manifest(str(tmp_path / "nope.csv"))
    (tmp_path / "m.xlsx").write_bytes(b"x")
    with pytest.raises(ManifestError, match="must be one of"):
        read_manifest(str(tmp_path / "m.xlsx"))


def test_long_sources_become_consecutive_clips(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("audio,start,end\nlong.wav,,\nshort.wav,,\nwindow.wav,2,9.5\nunreadable.wav,,\n")
    rows = read_manifest(str(manifest))
    clips = plan_clips(rows, durations({"long.wav": 25.4, "short.wav": 4.0, "window.wav": 60.0}))
    windows = [(c.key, c.start, c.end) for c in clips]
    assert windows == [
        ("long_0_10", 0.0, 10.0), ("long_10_20", 10.0, 20.0), ("long_20_25_4", 20.0, 25.4),
        ("short_0_4", 0.0, 4.0), ("window_2_9_5", 2.0, 9.5),
        ("unreadable_0_10", 0.0, None),  # kept, so that decoding records why it fails
    ]
    # A remainder shorter than min_clip_seconds is dropped.
    assert [c.end for c in plan_clips(rows[:1], durations({"long.wav": 20.5}))] == [10.0, 20.0]


def test_duplicate_clips_and_clashing_stems(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("audio,start,end\na.wav,0,5\na.wav,0,5\n")
    with pytest.raises(ManifestError, match="rows 1 and 2 both give clip a_0_5"):
        plan_clips(read_manifest(str(manifest)), durations({}))
    manifest.write_text("audio\nx/a.wav\ny/a.wav\n")
    keys = [c.key for c in plan_clips(read_manifest(str(manifest)), durations({"a.wav": 3.0}))]
    assert keys[0] == "a_0_3" and keys[1].startswith("a-") and len(set(keys)) == 2


def test_sharding_is_deterministic(tmp_path):
    manifest = tmp_path / "corpus.csv"
    manifest.write_text("audio\n" + "".join(f"f{i}.wav\n" for i in range(25)))
    clips = plan_clips(read_manifest(str(manifest)), lambda url: 3.0)
    shards = split_into_shards(clips, "corpus", shard_size=10)
    assert {k: v.num_rows for k, v in shards.items()} == {"corpus-00000": 10, "corpus-00001": 10, "corpus-00002": 5}
    again = split_into_shards(plan_clips(read_manifest(str(manifest)), lambda url: 3.0), "corpus", 10)
    assert all(again[k].equals(v) for k, v in shards.items())


def test_source_ids_come_from_the_row(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("audio,source_id,start,end\na.wav,first,0,5\na.wav,second,0,5\nb.wav,,0,5\n")
    keys = [c.key for c in plan_clips(read_manifest(str(manifest)), durations({}))]
    assert keys == ["first_0_5", "second_0_5", "b_0_5"]


def test_every_bad_row_is_reported_in_one_pass(tmp_path):
    manifest = tmp_path / "many.csv"
    manifest.write_text("audio,start,domain\na.wav,abc,S00\nb.wav,0,S00\nc.wav,-1,S00\nd.wav,0,XYZ\n")
    with pytest.raises(ManifestError) as caught:
        read_manifest(str(manifest))
    message = str(caught.value)
    assert "3 rows are malformed" in message
    assert all(f"row {n}:" in message for n in (1, 3, 4)) and "row 2:" not in message


def test_windows_past_the_limit_are_refused_at_planning_all_in_one_pass(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("audio,start,end\na.wav,0,5\nb.wav,0,1000000000\nc.wav,10,50\nd.wav,0,30\n")
    rows = read_manifest(str(manifest))
    with pytest.raises(ManifestError) as caught:
        plan_clips(rows, durations({}), max_clip_seconds=30.0)
    message = str(caught.value)
    assert "2 rows cannot be planned" in message
    assert "row 2: the window 0-1000000000 s is 1000000000 s, longer than the 30 s limit" in message
    assert "row 3: the window 10-50 s is 40 s, longer than the 30 s limit" in message
    assert "row 1:" not in message and "row 4:" not in message
    assert [c.key for c in plan_clips(rows[2:], durations({}), max_clip_seconds=60.0)] == ["c_10_50", "d_0_30"]
    with pytest.raises(ValueError, match="at most max_clip_seconds"):
        plan_clips(rows[:1], durations({}), clip_seconds=40.0, max_clip_seconds=30.0)


def test_a_whole_file_of_hours_is_cut_into_clips_never_one_window(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("audio\nhours.wav\nbroken_header.wav\n")
    rows = read_manifest(str(manifest))
    clips = plan_clips(rows[:1], durations({"hours.wav": 3 * 3600.0}), max_clip_seconds=30.0)
    assert len(clips) == 1080 and all(c.end is not None and c.end - c.start <= 10.0 for c in clips)
    # A non-finite probed length is no length: one open window, which decoding bounds and explains.
    (clip,) = plan_clips(rows[1:], durations({"broken_header.wav": float("inf")}))
    assert (clip.start, clip.end) == (0.0, None)


def test_parquet_manifest_read_repeatedly_in_a_fresh_process(tmp_path):
    """Arrow reading through a Python file handle could abort the process (rc 134) now and then."""
    manifest = tmp_path / "m.parquet"
    pq.write_table(pa.Table.from_pylist([{"audio": f"{i}.wav", "tags": ["a", "b"], "end": 4} for i in range(200)]),
                   manifest)
    code = ("from acav_assets.ingest.manifests import read_manifest\n"
            f"assert all(len(read_manifest({str(manifest)!r})) == 200 for _ in range(50))\n")
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_remote_parquet_manifest_is_read_through_fsspec():
    fs = fsspec.filesystem("memory")
    with fs.open("memory://corpus/m.parquet", "wb") as handle:
        pq.write_table(pa.Table.from_pylist([{"audio": "a.wav", "end": 4}]), handle)
    try:
        (row,) = read_manifest("memory://corpus/m.parquet")
        assert (row.audio, row.end) == ("memory://corpus/a.wav", 4.0)
    finally:
        fs.rm("/corpus", recursive=True)


def test_a_signed_url_never_reaches_a_clip_key():
    from acav_assets.ingest.manifests import SourceRow, plan_clips

    url = "https://user:pw@host/bucket/talk.wav?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA"
    rows = [SourceRow(audio=url, manifest="m.csv", row_number=1)]
    (clip,) = plan_clips(rows, lambda _: 5.0, clip_seconds=10.0, min_clip_seconds=1.0)
    assert "deadbeef" not in clip.key and "AKIA" not in clip.key and "pw" not in clip.key
    assert clip.source_id == "talk"


def test_a_header_claiming_years_plans_one_bounded_window():
    from acav_assets.ingest.manifests import SourceRow, plan_clips

    rows = [SourceRow(audio="/a/bogus.ogg", manifest="m.csv", row_number=1)]
    (clip,) = plan_clips(rows, lambda _: 4.9e7, clip_seconds=10.0, min_clip_seconds=1.0)
    assert clip.start == 0.0 and clip.end is None
