"""The Hugging Face-native release: ``datasets.load_dataset`` on the release folder gives the
captions and QA configs with their splits (the WebDataset tars beside them notwithstanding), the
audio is an ``Audio`` feature, licences travel with every clip, and the round trip catches drift."""

from __future__ import annotations

import io
import os
from collections import Counter

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before `datasets` reads its configuration
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from acav_assets.captions.schema import FACETS
from acav_assets.contracts.layout import DataLayout
from acav_assets.curation import dataset_card, hub_files, release
from acav_assets_tests.curation.test_release import SECONDS
from acav_assets_tests.curation.test_release_publish import curate

CLIPS = 24  # 19 released (five are 000), two windows per source, three licences (one absent)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    layout = DataLayout(str(tmp_path_factory.mktemp("hub") / "data"))
    curate(layout, CLIPS)
    summary = release.publish(layout, clips_per_shard=4)
    return layout, summary


def load(folder, *config, cache):
    return datasets.load_dataset(str(folder), *config, cache_dir=str(cache))


def test_load_dataset_gives_the_captions_and_qa_configs_with_their_splits(published, tmp_path):
    layout, summary = published
    folder = layout.release_folder()
    assert sorted(p.name for p in (folder / "webdataset").glob("*.tar"))  # present, yet not the dataset
    released = {r["key"]: r for r in release.release_rows(release.release_input(layout))}
    expected_split = {k: hub_files.split_of(r["source_id"]) for k, r in released.items()}
    assert set(expected_split.values()) == {"train", "test"}  # the fixture exercises both splits

    captions = load(folder, cache=tmp_path)
    print(captions)
    assert set(captions) == set(summary["hub_splits"]["captions"]) == {"train", "test"}
    assert isinstance(captions["train"].features["audio"], datasets.Audio)
    assert captions["train"].features["audio"].sampling_rate == 16_000
    assert {k: captions[s].num_rows for k, s in (("train", "train"), ("test", "test"))} == dict(
        Counter(expected_split.values()))
    raw = captions.cast_column("audio", datasets.Audio(decode=False))
    for split, table in raw.items():
        for row in table:
            expected = released[row["key"]]
            assert expected_split[row["key"]] == split
            assert {c: row[c] for c in ("source_id", "window_start_s", "window_end_s", "duration_s", "license",
                                         "domain")} == {c: expected[c] for c in ("source_id", "window_start_s",
                                                                                  "window_end_s", "duration_s",
                                                                                  "license", "domain")}
            assert all(row[f] == expected[f] for f in FACETS) and len(row["qa"]) == 5
            audio, rate = sf.read(io.BytesIO(row["audio"]["bytes"]), dtype="float32")
            assert rate == 16_000 and len(audio) == round(SECONDS * 16_000)

    qa = load(folder, "qa", cache=tmp_path)
    print(qa)
    assert set(qa) == {"train", "test"}
    assert qa["train"].column_names == [f.name for f in hub_files.HUB_QA_SCHEMA]
    assert sum(t.num_rows for t in qa.values()) == summary["qa_lines"] == 5 * len(released)
    for split, table in qa.items():
        assert all(expected_split[k] == split for k in table["key"])
    assert set(qa["test"]["id"]) | set(qa["train"]["id"]) == set(release.read_qa(str(folder)))


def test_licences_reach_the_card_and_every_file(published):
    layout, summary = published
    folder = layout.release_folder()
    front = dataset_card.read_front_matter(folder)
    assert front["license"] == ["cc-by-4.0", "cc0-1.0", "unknown"]
    assert {c["config_name"] for c in front["configs"]} == {"captions", "qa"}
    card = (folder / dataset_card.CARD).read_text()
    assert "| CC0-1.0 (generated) |" in card and "| CC-BY-4.0 |" in card
    released = release.release_rows(release.release_input(layout))
    licences = Counter(r["license"] for r in released)
    assert licences == {"CC-BY-4.0": 8, "CC0-1.0 (generated)": 5, None: 6}
    assert summary["licences"] == {"CC-BY-4.0": 8, "CC0-1.0 (generated)": 5, "unknown": 6}
    assert Counter(pq.read_table(folder / "captions.parquet")["license"].to_pylist()) == licences
    qa = pa.concat_tables(pq.read_table(p) for p in sorted((folder / "qa").glob("*.parquet")))
    assert Counter(qa["license"].to_pylist()) == Counter({k: 5 * n for k, n in licences.items()})


@pytest.mark.parametrize(("licence", "ids"), [
    ("CC0-1.0 (generated); instruments rendered with the FluidR3_GM soundfont (MIT)", ["mit", "cc0-1.0"]),
    ("cc-by-sa-3.0", ["cc-by-sa-3.0"]),
    ("CC-BY-NC-4.0", ["cc-by-nc-4.0"]),
    ("All rights reserved", ["other"]),
    (None, ["unknown"]),
    ("  ", ["unknown"]),
])
def test_hub_license_ids(licence, ids):
    assert sorted(dataset_card.hub_license_ids(licence)) == sorted(ids)


def test_parquet_shards_by_size_and_loads_whole(tmp_path):
    rows = [{"id": f"q{i:03d}", "key": f"clip{i}", "source_id": f"s{i}", "window_start_s": 0.0,
             "window_end_s": 1.0, "duration_s": 1.0, "license": "MIT", "domain": "00A", "category": "c",
             "difficulty": "basic", "question": "Why? " * 40, "answer": "Because.", "confidence": None}
            for i in range(50)]
    writer = hub_files.ShardedParquet(tmp_path / "qa", "train", hub_files.HUB_QA_SCHEMA, max_bytes=4_000,
                                      rows_per_group=5)
    for row in rows:
        writer.add(row)
    paths = writer.close()
    assert len(paths) > 2
    assert [p.name for p in paths] == [f"train-{i:05d}-of-{len(paths):05d}.parquet" for i in range(len(paths))]
    assert sorted(p.name for p in (tmp_path / "qa").iterdir()) == [p.name for p in paths]
    dataset_card.write_card(tmp_path, {"qa": {"train": len(rows)}}, Counter({"MIT": 50}))
    loaded = load(tmp_path, "qa", cache=tmp_path / "cache")
    assert loaded["train"]["id"] == [r["id"] for r in rows]


def test_an_empty_split_gets_no_file(tmp_path):
    writer = hub_files.ShardedParquet(tmp_path, "test", hub_files.HUB_QA_SCHEMA)
    assert writer.close() == [] and not list(tmp_path.iterdir())


def test_split_is_by_source(published):
    layout, _ = published
    rows = release.release_rows(release.release_input(layout))
    by_source: dict[str, set[str]] = {}
    for table_split, table in hub_files.read_config(layout.release_folder(), "captions").items():
        for source in table["source_id"].to_pylist():
            by_source.setdefault(source, set()).add(table_split)
    assert len(by_source) == len({r["source_id"] for r in rows}) and all(len(s) == 1 for s in by_source.values())
    assert hub_files.split_of("vid00000003") == hub_files.split_of("vid00000003")


def test_round_trip_catches_hub_drift(published, tmp_path):
    layout, _ = published
    folder = layout.release_folder()
    assert not any(release.round_trip_problems(layout).values())
    rows = {r["key"]: r for r in release.release_rows(release.release_input(layout))}
    path = min((folder / "captions").glob("train-*.parquet"))
    original = path.read_bytes()
    card = folder / dataset_card.CARD
    card_text = card.read_text()
    try:
        table = pq.read_table(path)
        changed = table.set_column(table.schema.get_field_index("license"), "license",
                                   pa.array(["CC-BY-ND-4.0"] * table.num_rows, pa.string()))
        pq.write_table(changed, path)
        (folder / "qa" / "extra.parquet").write_bytes(b"")
        card.write_text(card_text.replace("- cc0-1.0\n", ""))
        problems = release.hub_problems(folder, rows)
        assert f"captions/train: {table['key'][0]} differs from the curated captions" in problems
        assert "card: qa/extra.parquet is in no config" in problems
        assert any(p.startswith("card: license") for p in problems)
    finally:
        path.write_bytes(original)
        card.write_text(card_text)
        (folder / "qa" / "extra.parquet").unlink()
    assert release.hub_problems(folder, rows) == []
