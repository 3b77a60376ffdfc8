"""The release writers: ACAVCaps jsonl.gz, MECAT-QA lines, Parquet and WebDataset tars."""

from __future__ import annotations

import gzip
import io
import json
import os
import re

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import webdataset as wds

from acav_assets.captions.schema import ABSENT, CONTENT_FACETS, FACETS
from acav_assets.curation.release import (
    RELEASE_DOMAINS,
    read_qa,
    read_release,
    write_caption_files,
    write_parquet,
    write_qa_file,
    write_webdataset,
)
from acav_assets.io.audio_shards import AudioShardWriter, encode_flac
from acav_assets_tests.reference_data import MECAT_SAMPLE

REFERENCE = MECAT_SAMPLE
DOMAINS = ["00A", "0M0", "S00", "SMA", "000", "S0A", "SM0", "0MA", "000"]


LICENCES = ("CC-BY-4.0", "CC0-1.0 (generated)", None)
SECONDS = 0.2


def clip_provenance(i: int) -> dict:
    """What the release joins from the clips table: clip ``i`` is the window [i, i + SECONDS) of
    source ``vid{i // 2}`` (two windows per source), under one of :data:`LICENCES`."""
    return {"source_id": f"vid{i // 2:08d}", "window_start_s": float(i), "window_end_s": i + SECONDS,
            "duration_s": SECONDS, "license": LICENCES[i % len(LICENCES)]}


def make_row(i: int, domain: str, shard: str = "shard-a") -> dict:
    key = f"vid{i:08d}_{i}_0_{i + 10}_0"
    row = {"key": key, "shard": shard, "domain": domain, "status": "ok", "model": "test-model", "prompt_version": "v1",
           **clip_provenance(i)}
    for facet in FACETS:
        absent = facet in CONTENT_FACETS and domain[CONTENT_FACETS[facet]] == "0"
        row[facet] = ([ABSENT, f"No {facet} in clip {i}.", f"Clip {i} has no {facet}."] if absent
                      else [f"{facet} caption {j} of clip {i}" for j in range(3)])
        row[f"{facet}_confidence"] = [0.9, 0.8, 0.7]
    row["qa"] = [
        {"category": "direct_perception", "difficulty": d, "question": f"Question {q} about clip {i}?",
         "answer": f"Answer {q}", "confidence": 0.5}
        for q, d in enumerate(["basic", "intermediate", "advanced", "complex", "basic"])
    ]
    return row


@pytest.fixture
def rows() -> list[dict]:
    out = [make_row(i, d, shard="shard-a" if i % 2 else "shard-b") for i, d in enumerate(DOMAINS)]
    out.append({"key": "failedclip1_0_10", "shard": "shard-a", "status": "failed"})
    return list(reversed(out))


def test_caption_files_round_trip(rows, tmp_path):
    counts = write_caption_files(rows, str(tmp_path))
    assert counts["000_skipped"] == 2
    assert sum(counts[d] for d in RELEASE_DOMAINS) == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{d}.jsonl.gz" for d in RELEASE_DOMAINS)
    back = read_release(str(tmp_path))
    expected = {r["key"]: {"domain": r["domain"], **{f: r[f] for f in FACETS}}
                for r in rows if r.get("domain") not in (None, "000")}
    assert back == expected


def test_caption_files_are_deterministic(rows, tmp_path):
    write_caption_files(rows, str(tmp_path / "a"))
    write_caption_files(list(reversed(rows)), str(tmp_path / "b"))
    for domain in RELEASE_DOMAINS:
        assert (tmp_path / "a" / f"{domain}.jsonl.gz").read_bytes() == (tmp_path / "b" / f"{domain}.jsonl.gz").read_bytes()
    assert not [p for p in (tmp_path / "a").iterdir() if ".tmp-" in p.name]


def test_caption_line_matches_reference_structure(rows, tmp_path):
    write_caption_files(rows, str(tmp_path))
    with gzip.open(tmp_path / "S00.jsonl.gz", "rt") as handle:
        lines = handle.read().splitlines()
    assert len(lines) == 1
    ours = json.loads(lines[0])
    (key, record), = ours.items()
    assert list(record) == list(FACETS)  # the ACAVCaps README's order, no domain field
    assert all(isinstance(v, list) and len(v) == 3 and all(isinstance(s, str) for s in v) for v in record.values())
    reference = next((REFERENCE / "caption" / "train").glob("*.jsonl"), None)
    if reference is None:
        pytest.skip("MECAT reference not available")
    published = json.loads(reference.read_text().splitlines()[0])
    (_, ref_record), = published.items()
    # MECAT adds "domain" (and lists short before long); the facet set and shapes are the same
    assert set(ref_record) - {"domain"} == set(record)
    assert all(len(ref_record[f]) == 3 for f in record)


def test_qa_file(rows, tmp_path):
    n = write_qa_file(rows, str(tmp_path))
    assert n == 7 * 5
    qa = read_qa(str(tmp_path))
    assert len(qa) == n
    keys = {r["key"]: r["domain"] for r in rows if r.get("domain") not in (None, "000")}
    reference_fields = None
    reference = next((REFERENCE / "qa" / "train").glob("*.jsonl"), None)
    if reference is not None:
        (_, ref), = json.loads(reference.read_text().splitlines()[0]).items()
        reference_fields = list(ref)
    for ident, record in qa.items():
        match = re.fullmatch(r"(.+)_([0-9a-f]{8})", ident)
        assert match and match.group(1) in keys
        assert record["domain"] == keys[match.group(1)]
        assert list(record) == ["category", "difficulty", "question", "answer", "domain"]
        if reference_fields is not None:
            assert list(record) == reference_fields
    # stable ids
    write_qa_file(list(reversed(rows)), str(tmp_path / "again"))
    assert read_qa(str(tmp_path / "again")) == qa


def test_parquet(rows, tmp_path):
    path = tmp_path / "release" / "captions.parquet"
    write_parquet(rows, str(path))
    table = pq.read_table(path)
    assert table.column_names == ["key", "source_id", "window_start_s", "window_end_s", "duration_s", "license",
                                  "domain", *FACETS, "qa", "model"]
    assert table.num_rows == 7
    first = table.to_pylist()[0]
    assert first["key"] == min(r["key"] for r in rows if r.get("domain") not in (None, "000"))
    assert {k: first[k] for k in ("source_id", "window_start_s", "duration_s", "license")} == {
        "source_id": "vid00000000", "window_start_s": 0.0, "duration_s": SECONDS, "license": "CC-BY-4.0"}
    assert set(first["qa"][0]) == {"category", "difficulty", "question", "answer", "confidence"}
    assert len(first["long"]) == 3


def sine(frequency: float, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(16_000 * seconds)) / 16_000
    return (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def test_webdataset(rows, tmp_path):
    audio_tars = {}
    for shard in ("shard-a", "shard-b"):
        url = str(tmp_path / "audio" / f"{shard}.tar")
        with AudioShardWriter(url) as writer:
            for i, row in enumerate(r for r in rows if r["shard"] == shard):
                writer.add(row["key"], encode_flac(sine(200 + 50 * i)), {"source": row["key"]})
            writer.add("extra_not_curated", encode_flac(sine(1000)), {})
        audio_tars[shard] = url
    out = tmp_path / "wds"
    paths = write_webdataset(rows, audio_tars, str(out), clips_per_shard=3)
    assert [os.path.basename(p) for p in paths] == ["train-000000.tar", "train-000001.tar", "train-000002.tar"]
    seen = {}
    for path in paths:
        for sample in wds.WebDataset(path, shardshuffle=False):
            record = json.loads(sample["json"])
            assert record["key"] == sample["__key__"]
            audio, rate = sf.read(io.BytesIO(sample["flac"]), dtype="float32")
            assert rate == 16_000 and len(audio) == 8000
            seen[record["key"]] = record
    expected = {r["key"]: r for r in rows if r.get("domain") not in (None, "000")}
    assert set(seen) == set(expected)
    for key, record in seen.items():
        assert record["domain"] == expected[key]["domain"] and record["license"] == expected[key]["license"]
        assert (record["source_id"], record["window_start_s"]) == (expected[key]["source_id"],
                                                                  expected[key]["window_start_s"])
        assert all(record[f] == expected[key][f] for f in FACETS)
        assert len(record["qa"]) == 5


def test_webdataset_missing_audio_fails_cleanly(rows, tmp_path):
    url = str(tmp_path / "audio" / "empty.tar")
    with AudioShardWriter(url) as writer:
        writer.add("unrelated", encode_flac(sine(300)), {})
    with pytest.raises(KeyError):
        write_webdataset(rows, {"shard-a": url, "shard-b": url}, str(tmp_path / "wds"))
    assert not (tmp_path / "wds").exists() or not list((tmp_path / "wds").iterdir())
