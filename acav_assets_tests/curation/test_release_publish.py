"""Publishing a release: staged, indexed, round-trip checked, then swapped in whole."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from acav_assets.contracts.failures import PromotionRefused
from acav_assets.contracts.layout import DataLayout
from acav_assets.curation import release
from acav_assets.ingest.clip_decoding import CLIPS_SCHEMA
from acav_assets.io import storage
from acav_assets.io.audio_shards import AudioShardWriter, encode_flac
from acav_assets_tests.curation.test_release import DOMAINS, SECONDS, make_row, sine


def clips_table(rows: list[dict]) -> pa.Table:
    """The decoded clips of ``rows`` as the clips asset stores them (provenance from make_row)."""
    return pa.Table.from_pylist([
        {"key": r["key"], "shard": r["shard"], "source": f"{r['source_id']}.wav", "start_s": r["window_start_s"],
         "end_s": r["window_end_s"] if n % 2 else None, "source_id": r["source_id"], "license": r["license"],
         "manifest": "m.csv", "manifest_row": n + 1, "duration_s": r["duration_s"], "checksum": f"{n:064x}",
         "status": "ok"}
        for n, r in enumerate(rows)], schema=CLIPS_SCHEMA)


def curate(layout: DataLayout, count: int) -> None:
    """Curated captions of ``count`` clips over two shards, with their decoded clips and audio tars."""
    rows = [make_row(i, DOMAINS[i % len(DOMAINS)], shard=f"shard-{i % 2}") for i in range(count)]
    provenance = {"source_id", "window_start_s", "window_end_s", "duration_s", "license"}
    for shard in ("shard-0", "shard-1"):
        chosen = [r for r in rows if r["shard"] == shard]
        storage.write_table(pa.Table.from_pylist([{k: v for k, v in r.items() if k not in provenance}
                                                  for r in chosen]), layout.table("curated_captions", shard))
        storage.write_table(clips_table(chosen), layout.table("clips", shard))
        with AudioShardWriter(layout.audio_tar(shard)) as writer:
            for i, row in enumerate(chosen):
                writer.add(row["key"], encode_flac(sine(200 + 20 * i, SECONDS)), {})


@pytest.fixture
def layout(tmp_path) -> DataLayout:
    return DataLayout(str(tmp_path / "data"))


def tars(layout: DataLayout) -> list[str]:
    return sorted(p.name for p in layout.release_webdataset().glob("*.tar"))


def test_a_smaller_release_leaves_no_stale_tar_and_indexes_every_file(layout):
    curate(layout, 12)
    release.publish(layout, clips_per_shard=2)
    assert len(tars(layout)) == 5  # 10 released clips (000 left out)
    curate(layout, 4)
    summary = release.publish(layout, clips_per_shard=2)
    assert tars(layout) == ["train-000000.tar", "train-000001.tar"] and summary["webdataset_shards"] == 2
    folder = layout.release_folder()
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith("release")] == ["release"]
    listed = {entry["path"] for entry in json.loads((folder / release.INDEX).read_text())["files"]}
    assert "webdataset/train-000001.tar" in listed and "captions.parquet" in listed
    assert len(listed) == summary["indexed_files"] == len(list(folder.rglob("*.*"))) - 1
    assert not any(release.round_trip_problems(layout).values())


def test_a_corrupt_staged_release_leaves_the_live_one_untouched(layout, monkeypatch):
    curate(layout, 6)
    release.publish(layout, clips_per_shard=2)
    before = {p: p.read_bytes() for p in layout.release_folder().rglob("*") if p.is_file()}
    curate(layout, 12)
    write_index = release.write_index

    def corrupting(folder, **kwargs):  # a tar changed after indexing, as a faulty disk or writer would
        count = write_index(folder, **kwargs)
        with open(f"{folder}/webdataset/train-000000.tar", "r+b") as handle:
            handle.seek(600)
            handle.write(b"\xff" * 64)
        return count

    monkeypatch.setattr(release, "write_index", corrupting)
    with pytest.raises(PromotionRefused, match="train-000000.tar: sha256 differs"):
        release.publish(layout, clips_per_shard=2)
    after = {p: p.read_bytes() for p in layout.release_folder().rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in layout.release_folder().parent.iterdir() if p.name.startswith("release")] == ["release"]


def test_round_trip_reports_changed_missing_and_unlisted_files(layout):
    curate(layout, 6)
    release.publish(layout, clips_per_shard=2)
    folder = layout.release_folder()
    (folder / "webdataset" / "train-000009.tar").write_bytes(b"left over")
    (folder / "qa.jsonl.gz").unlink()
    parquet = folder / "captions.parquet"
    parquet.write_bytes(parquet.read_bytes()[:-1] + b"x")
    problems = release.round_trip_problems(layout)
    assert problems["files"] == ["unlisted file webdataset/train-000009.tar",
                                 "captions.parquet: sha256 differs from the index", "missing file qa.jsonl.gz"]
    assert any("train-000009.tar: unreadable" in p for p in problems["tars"])
    assert not problems["missing"] and not problems["different"]


def test_round_trip_checks_every_tar_sample_against_the_curated_captions(layout):
    curate(layout, 6)
    release.publish(layout, clips_per_shard=2)
    curated = release.curated_rows(layout)
    changed = [{**r, "long": ["another", "long", "caption"]} if r["key"] == curated[1]["key"] else r for r in curated]
    storage.write_table(pa.Table.from_pylist([r for r in changed if r["shard"] == curated[1]["shard"]]),
                        layout.table("curated_captions", curated[1]["shard"]))
    problems = release.round_trip_problems(layout)
    assert problems["different"] == [curated[1]["key"]]
    assert any(f"{curated[1]['key']}.json differs" in p for p in problems["tars"])
    assert not problems["files"]
