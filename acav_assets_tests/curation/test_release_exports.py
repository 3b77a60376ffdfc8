"""Exports of a published release: Lhotse manifests (loaded back with lhotse), NeMo manifests,
the `export` CLI command, and `push-release` against a local stand-in for the hub."""

from __future__ import annotations

import gzip
import json
import os
import shutil

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before `datasets` reads its configuration
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import datasets
import lhotse
import pytest
import soundfile as sf

from acav_assets import cli
from acav_assets.captions.schema import FACETS
from acav_assets.contracts.layout import DataLayout
from acav_assets.curation import exporters, hub_files, hub_upload, release
from acav_assets_tests.curation.test_release import SECONDS
from acav_assets_tests.curation.test_release_publish import curate


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    layout = DataLayout(str(tmp_path_factory.mktemp("exports") / "data"))
    curate(layout, 24)
    release.publish(layout, clips_per_shard=8)
    rows = {r["key"]: r for r in release.release_rows(release.release_input(layout))}
    return layout, rows


def expected_splits(rows, facet="long"):
    out: dict[str, set[str]] = {}
    for key, row in rows.items():
        if row[facet][0] != "None":
            out.setdefault(hub_files.split_of(row["source_id"]), set()).add(key)
    return out


def test_lhotse_manifests_load_with_lhotse(published, tmp_path):
    layout, rows = published
    counts = exporters.export_lhotse(layout.release_folder(), tmp_path, facet="short")
    splits = expected_splits(rows, "short")
    assert counts == {split: len(keys) for split, keys in splits.items()} and set(counts) == {"train", "test"}
    for split, keys in splits.items():
        cuts = lhotse.CutSet.from_file(tmp_path / f"acav_cuts_{split}.jsonl.gz")
        recordings = lhotse.RecordingSet.from_file(tmp_path / f"acav_recordings_{split}.jsonl.gz")
        supervisions = lhotse.SupervisionSet.from_file(tmp_path / f"acav_supervisions_{split}.jsonl.gz")
        lhotse.validate_recordings_and_supervisions(recordings, supervisions)
        assert {c.id for c in cuts} == keys == set(recordings.ids)
        for cut in cuts:
            lhotse.validate(cut, read_data=True)
            row, (supervision,) = rows[cut.id], cut.supervisions
            assert cut.sampling_rate == 16_000 and cut.duration == pytest.approx(SECONDS)
            assert cut.load_audio().shape == (1, round(SECONDS * 16_000))
            assert supervision.text == row["short"][0]
            assert supervision.custom["license"] == row["license"]
            assert supervision.custom["source_id"] == row["source_id"]
            assert supervision.custom["captions"] == {f: row[f] for f in FACETS}


def test_nemo_manifests(published, tmp_path):
    layout, rows = published
    counts = exporters.export_nemo(layout.release_folder(), tmp_path, facet="speech")
    splits = expected_splits(rows, "speech")
    assert len(splits["train"]) < sum(1 for r in rows.values() if hub_files.split_of(r["source_id"]) == "train")
    assert counts == {split: len(keys) for split, keys in splits.items()}
    for split, keys in splits.items():
        lines = [json.loads(line) for line in (tmp_path / f"{split}_manifest.jsonl").read_text().splitlines()]
        assert {line["key"] for line in lines} == keys
        for line in lines:
            row = rows[line["key"]]
            assert line["text"] == row["speech"][0] != "None"
            assert (line["offset"], line["license"], line["domain"]) == (0.0, row["license"], row["domain"])
            audio, rate = sf.read(line["audio_filepath"], dtype="float32")
            assert rate == 16_000 and line["duration"] == pytest.approx(len(audio) / rate) == pytest.approx(SECONDS)


def test_export_refuses_an_unknown_facet_or_format(published, tmp_path):
    layout, _ = published
    with pytest.raises(ValueError, match="unknown facet"):
        exporters.export_nemo(layout.release_folder(), tmp_path, facet="smell")
    with pytest.raises(ValueError, match="unknown export format"):
        exporters.export("kaldi", layout.release_folder(), tmp_path)
    with pytest.raises(FileNotFoundError, match="no Parquet files"):
        exporters.export_nemo(tmp_path, tmp_path / "out")


def test_export_command(published, tmp_path, monkeypatch):
    layout, rows = published
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ACAV_DATA_ROOT", layout.root)  # restored after the test, though main() sets it
    assert cli.main(["--data-root", layout.root, "export", "lhotse", str(tmp_path / "lhotse")]) == 0
    with gzip.open(tmp_path / "lhotse" / "acav_cuts_train.jsonl.gz", "rt") as handle:
        assert all(json.loads(line)["type"] == "MonoCut" for line in handle)
    assert cli.main(["export", "nemo", str(tmp_path / "nemo"), "--release", str(layout.release_folder())]) == 0
    written = sum(len((tmp_path / "nemo" / f"{s}_manifest.jsonl").read_text().splitlines()) for s in ("train", "test"))
    assert written == len(rows)


class LocalHub:
    """Stands in for ``HfApi``: repos are folders under ``root``; an upload copies the folder."""

    def __init__(self, root):
        self.root, self.created = root, []

    def create_repo(self, repo_id, repo_type, private, exist_ok):
        assert repo_type == "dataset" and exist_ok
        self.created.append((repo_id, private))
        (self.root / repo_id).mkdir(parents=True, exist_ok=True)

    def upload_folder(self, folder_path, repo_id, repo_type, commit_message):
        assert repo_type == "dataset" and (repo_id, True) in self.created
        shutil.copytree(folder_path, self.root / repo_id, dirs_exist_ok=True)
        return f"commit of {repo_id}"


def test_push_release_uploads_a_folder_that_loads_the_same(published, tmp_path):
    layout, _ = published
    hub = LocalHub(tmp_path / "hub")
    assert hub_upload.push_release(layout.release_folder(), "someone/acav", private=True, api=hub) == "commit of someone/acav"
    pushed = tmp_path / "hub" / "someone" / "acav"
    assert release.index_problems(pushed) == []
    local = datasets.load_dataset(str(layout.release_folder()), "qa", cache_dir=str(tmp_path / "cache"))
    remote = datasets.load_dataset(str(pushed), "qa", cache_dir=str(tmp_path / "cache"))
    assert {s: t["id"] for s, t in remote.items()} == {s: t["id"] for s, t in local.items()}


def test_push_release_refuses_a_changed_folder_and_a_missing_token(published, tmp_path, monkeypatch):
    layout, _ = published
    copy = tmp_path / "release"
    shutil.copytree(layout.release_folder(), copy)
    (copy / "qa.jsonl.gz").write_bytes(b"changed")
    hub = LocalHub(tmp_path / "hub")
    with pytest.raises(ValueError, match="differs from its index"):
        hub_upload.push_release(copy, "someone/acav", api=hub)
    assert hub.created == []
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(ValueError, match="set HF_TOKEN"):
        hub_upload.push_release(layout.release_folder(), "someone/acav")
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    assert hub_upload.hub_api().token == "hf_test"
