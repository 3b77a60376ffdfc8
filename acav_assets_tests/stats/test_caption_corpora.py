"""Caption-corpus readers: real MECAT references and generated files in the published layouts."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from acav_assets.stats.caption_corpora import (
    CAPTION_SCHEMA,
    CorpusFormatError,
    read_acav_jsonl,
    read_audiocaps_csv,
    read_audiosetcaps_csv,
    read_clotho_csv,
    read_wavcaps_json,
)
from acav_assets_tests.reference_data import MECAT_CAPTIONS

MECAT_DIR = MECAT_CAPTIONS
MECAT_FILES = sorted(MECAT_DIR.glob("*.jsonl"))
needs_mecat = pytest.mark.skipif(len(MECAT_FILES) != 6, reason="MECAT reference files not present")

LINE = {"wo8sFEF7sWM_166_48_176_48": {
    "long": ["A dog barks.", "Barking dog.", "Dog barking loudly."],
    "short": ["Dog barks", "Barking", "A dog"],
    "speech": ["None", "No discernible speech content", "Absence of verbal communication"],
    "music": ["None", "No music", "No melody"],
    "sound": ["Dog bark", "Barks", "Canine"],
    "environment": ["Outdoors", "Yard", "Open air"],
    "domain": "00A"}}


@needs_mecat
def test_mecat_reference_files() -> None:
    table = read_acav_jsonl(MECAT_FILES, "MECAT")
    assert table.schema == CAPTION_SCHEMA
    lines = sum(1 for f in MECAT_FILES for line in f.open() if line.strip())
    assert len(set(table["key"].to_pylist())) == lines
    assert table.num_rows == lines * 18
    assert set(table["domain"].to_pylist()) == {f.stem for f in MECAT_FILES}
    durations = table["duration_s"].to_pylist()
    assert None not in durations and all(9.9 < d < 10.1 for d in durations)
    # 000 (silence) clips have absent speech/music/sound facets; S0A clips have speech.
    rows = [r for r in table.to_pylist() if r["domain"] == "000"]
    assert all(r["absent"] for r in rows if r["facet"] == "speech")


def test_acav_gzip_and_absent(tmp_path: Path) -> None:
    path = tmp_path / "00A.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(LINE) + "\n\n")
    rows = read_acav_jsonl(path, "ACAVCaps").to_pylist()
    assert len(rows) == 18
    absent = {(r["facet"], r["variant"]) for r in rows if r["absent"]}
    assert absent == {(f, v) for f in ("speech", "music") for v in range(3)}
    assert {r["duration_s"] for r in rows} == {10.0}
    assert {r["domain"] for r in rows} == {"00A"}


def test_acav_unparsable_key_has_no_duration(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"weird": {"long": ["a"]}}) + "\n")
    rows = read_acav_jsonl([path], "X").to_pylist()
    assert rows[0]["duration_s"] is None and rows[0]["domain"] is None


@pytest.mark.parametrize("bad", ["{not json", json.dumps({"k": {"long": "x", "short": [1]}}),
                                 json.dumps({"a": {}, "b": {}}), json.dumps({"k": {"other": []}})])
def test_acav_malformed_line_names_file_and_line(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(LINE) + "\n" + bad + "\n")
    with pytest.raises(CorpusFormatError, match=r"bad\.jsonl:2"):
        read_acav_jsonl(path, "X")


def test_audiocaps(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("audiocap_id,youtube_id,start_time,caption\n"
                    "1,abcdefghijk,30,A dog barks\n"
                    "2,abcdefghijk,30,\"A dog, barking\"\n"
                    "3,zzzzzzzzzzz,0,Rain falls\n")
    rows = read_audiocaps_csv(path).to_pylist()
    assert [(r["key"], r["variant"]) for r in rows] == [
        ("abcdefghijk_30", 0), ("abcdefghijk_30", 1), ("zzzzzzzzzzz_0", 0)]
    assert rows[1]["text"] == "A dog, barking"
    assert {r["duration_s"] for r in rows} == {10.0}
    assert {r["dataset"] for r in rows} == {"AudioCaps"} and {r["facet"] for r in rows} == {"caption"}
    path.write_text(path.read_text() + "4,yyyyyyyyyyy,ten,Wind\n")
    with pytest.raises(CorpusFormatError, match=r"train\.csv:5"):
        read_audiocaps_csv(path)


def test_clotho(tmp_path: Path) -> None:
    path = tmp_path / "clotho_captions_development.csv"
    path.write_text("file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n"
                    "a.wav,one,two,three,four,five\n")
    rows = read_clotho_csv(path).to_pylist()
    assert [r["text"] for r in rows] == ["one", "two", "three", "four", "five"]
    assert [r["variant"] for r in rows] == list(range(5))
    assert {r["duration_s"] for r in rows} == {None}
    path.write_text(path.read_text() + "b.wav,one,two\n")
    with pytest.raises(CorpusFormatError, match=r"clotho_captions_development\.csv:3"):
        read_clotho_csv(path)


def test_wavcaps(tmp_path: Path) -> None:
    path = tmp_path / "fsd_final.json"
    data = {"data": [{"id": "1", "caption": "Birds chirp.", "duration": 5.5, "audio": "a.flac"},
                     {"id": 2, "caption": "Wind", "duration": None}]}
    path.write_text(json.dumps(data))
    rows = read_wavcaps_json(path).to_pylist()
    assert [(r["key"], r["duration_s"]) for r in rows] == [("1", 5.5), ("2", None)]
    data["data"].append({"id": "3"})
    path.write_text(json.dumps(data))
    with pytest.raises(CorpusFormatError, match=r"fsd_final\.json: entry 3"):
        read_wavcaps_json(path)


@pytest.mark.parametrize("header", ["id,caption", "youtube_id,caption", "YTID,Text"])
def test_audiosetcaps_lenient_header(tmp_path: Path, header: str) -> None:
    path = tmp_path / "asc.csv"
    path.write_text(f"{header}\nYrSWCoVAL1k,A man speaks\nYrSWCoVAL1k,Speech\n")
    rows = read_audiosetcaps_csv(path).to_pylist()
    assert [(r["key"], r["variant"], r["text"]) for r in rows] == [
        ("YrSWCoVAL1k", 0, "A man speaks"), ("YrSWCoVAL1k", 1, "Speech")]


def test_audiosetcaps_unknown_header(tmp_path: Path) -> None:
    path = tmp_path / "asc.csv"
    path.write_text("clip,description\nx,y\n")
    with pytest.raises(CorpusFormatError, match=r"asc\.csv:1"):
        read_audiosetcaps_csv(path)
