"""The hostile corpus through planning and decoding: every broken file and manifest gets its
expected outcome and a reason, nothing crashes, no good clip is lost."""

import collections

import pytest
import soundfile as sf

from acav_assets.io.audio_shards import read_audio_shard
from acav_assets_tests.fixtures import RATE, tone
from acav_assets_tests.hostile_corpus import (
    ERROR,
    OK,
    PLANNED,
    REFUSED,
    build_hostile_audio,
    build_hostile_manifests,
    hostile_audio_run,
    hostile_manifest_run,
    manifest_outcome,
)


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory):
    return hostile_audio_run(tmp_path_factory.mktemp("hostile"), workers=2)


def test_the_corpus_is_varied_and_small(tmp_path):
    cases = build_hostile_audio(tmp_path)
    assert len(cases) >= 60 and len({case.name for case in cases}) == len(cases)
    assert {case.expected for case in cases} == {OK, ERROR}
    sizes = [case.file.stat().st_size for case in cases if case.file.is_file()]
    assert max(sizes) < 2_000_000 and sum(sizes) < 30_000_000


def test_every_audio_case_gets_its_outcome(audio_run):
    assert audio_run.raised is None
    assert audio_run.counts == {"crashes": 0, "good_clips_lost": 0, "clips_without_reason": 0, "wrong_outcome": 0}
    rows = collections.defaultdict(list)
    for row in audio_run.clips.to_pylist():
        rows[row["manifest_row"]].append(row)
    for number, case in enumerate(audio_run.cases, start=1):
        assert rows[number], case.name
        for row in rows[number]:
            assert row["status"] == case.expected, (case.name, row["error_kind"], row["error"])
            if row["status"] == ERROR:
                assert row["error_kind"] and row["error"].strip(), case.name
                assert case.error_kind in (None, row["error_kind"]), (case.name, row["error"])
        if case.warns:
            assert any(row["warning"] for row in rows[number]), case.name


def test_good_clips_are_in_the_tar(audio_run):
    table = audio_run.clips
    ok = [row["key"] for row in table.to_pylist() if row["status"] == OK]
    assert [key for key, _, _ in read_audio_shard(audio_run.audio_url)] == ok
    long = [row for row in table.to_pylist() if row["source"].endswith("ten_minutes_8khz.flac")]
    assert len(long) == 60 and all(abs(row["duration_s"] - 10.0) < 1e-6 for row in long)


@pytest.fixture(scope="module")
def manifest_cases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile_manifests")
    sf.write(folder / "good.wav", tone(2.0), RATE)
    return folder, build_hostile_manifests(folder / "manifests", folder / "good.wav")


def test_every_manifest_is_refused_with_its_reason_or_planned(manifest_cases):
    folder, cases = manifest_cases
    assert len(cases) >= 15
    for case in cases:
        outcome, detail = manifest_outcome(case, folder / "shards" / case.name)
        assert outcome == case.expected, (case.name, detail)
        if outcome == REFUSED:
            assert case.message in detail, (case.name, detail)
            continue
        found = collections.defaultdict(list)
        for row in detail:
            found[row["manifest_row"]].append(row)
        assert sorted(found) == list(range(1, len(case.row_errors) + 1)), case.name  # no row dropped
        for number, kind in enumerate(case.row_errors, start=1):
            for row in found[number]:
                assert row["status"] == (ERROR if kind else OK) and row["error_kind"] == kind, (case.name, row)
                assert kind is None or row["error"].strip()


def test_a_good_row_beside_bad_ones_is_named_with_them(manifest_cases):
    folder, cases = manifest_cases
    (case,) = [c for c in cases if c.name == "good_row_among_bad.csv"]
    outcome, message = manifest_outcome(case, folder / "shards")
    assert outcome == REFUSED and "row 2" in message and "row 3" in message and "row 1" not in message
    planned = [c for c in cases if c.expected == PLANNED and None in c.row_errors and len(c.row_errors) > 1]
    assert planned  # good rows decoded next to bad rows of the same manifest


def test_hostile_manifest_run_counts_nothing(tmp_path):
    assert hostile_manifest_run(tmp_path) == {
        "crashes": 0, "good_clips_lost": 0, "clips_without_reason": 0, "wrong_outcome": 0}
