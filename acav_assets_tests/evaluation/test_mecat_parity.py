"""Parity with the official MECAT evaluator (PyPI ``mecat``): its CSV loader, its final score and
its DATE on a sample of its own test references, offline (packaged MiniLM, no fluency penalty)."""

from __future__ import annotations

import gzip
import json
import os
import socket

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from acav_assets.evaluation.date_metric import GROUPS
from acav_assets.evaluation.mecat_scoring import (
    absent_groups,
    final_score,
    load_predictions,
    load_references,
    read_prediction_csv,
    score_groups,
    write_prediction_csvs,
)
from acav_assets.stats.caption_corpora import ACAV_FACETS

official_evaluate = pytest.importorskip("mecat.evaluate")

# ×100 scale; the official evaluator rounds each group to 4 decimals of the 0..1 scale.
TOLERANCE = 1e-4 * 100
CLIPS_PER_DOMAIN = 3
TRICKY = {
    "a_0_10": "A dog barks, then a car passes.",
    "b_0_10": 'She says "hello"\nand leaves',
    "c_0_10": "None",
    "d_0_10": "NA",
    "e_0_10": "",
    "f_0_10": "1.50",
    "g_0_10": "Über café – ♪",
}


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a parity test tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_prediction_csvs_are_in_the_official_format(tmp_path):
    path, = write_prediction_csvs({"long": TRICKY}, tmp_path)
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0] == '"a_0_10","A dog barks, then a car passes."'  # no header, keys sorted
    assert '"e_0_10",""' in lines  # every field quoted, the empty one too
    official = official_evaluate.load_csv(path)
    assert official == official_evaluate.load_prediction_file(path) == read_prediction_csv(path, "mecat")
    unchanged = {k: v for k, v in TRICKY.items() if k not in ("c_0_10", "d_0_10", "e_0_10")}
    assert {k: official[k] for k in unchanged} == unchanged  # commas, quotes, newlines, unicode survive
    # pandas' missing-value spellings become the text "nan"
    assert (official["c_0_10"], official["d_0_10"], official["e_0_10"]) == ("nan", "nan", "nan")
    assert read_prediction_csv(path, "verbatim") == TRICKY
    # a column of number-like captions only is read as numbers
    numbers, = write_prediction_csvs({"short": {"x_0_10": "1.50", "y_0_10": "2"}}, tmp_path)
    assert official_evaluate.load_csv(numbers) == read_prediction_csv(numbers, "mecat") == {"x_0_10": "1.5", "y_0_10": "2.0"}


def test_a_header_line_is_a_clip_named_key_for_the_official_loader(tmp_path):
    path = tmp_path / "old.csv"
    path.write_text('key,text\n"a_0_10","None"\n', encoding="utf-8")
    assert read_prediction_csv(path, "mecat") == official_evaluate.load_csv(path) == {"key": "text", "a_0_10": "nan"}
    assert read_prediction_csv(path, "verbatim") == {"a_0_10": "None"}


def test_final_score_counts_an_absent_group_as_zero_like_the_official_code():
    groups = {name: 10.0 + i for i, name in enumerate(GROUPS)}
    groups["pure_speech"] = None
    results = {"task": "caption", "group_names": list(groups), "fields": {
        name: {"num_samples": 0 if value is None else 5, "overall_scores": {"date": (value or 0.0) / 100}}
        for name, value in groups.items()}}
    frame = official_evaluate.results_to_dataframe(results).set_index("subtask")
    assert final_score(groups) == pytest.approx(100 * frame.loc["score_caption", "date"], abs=1e-9)
    assert absent_groups(groups) == ["pure_speech"]
    assert final_score({**groups, "pure_speech": 0.0}) == final_score(groups)


@pytest.fixture(scope="module")
def official_sample(tmp_path_factory):
    """First clips of each domain of the packaged test references, and a system that copies the
    first reference variant (so absent facets are predicted as "None"), with tweaks the two
    input modes read differently: a missing prediction, "NA" and an empty caption."""
    from acav_assets.evaluation.official_mecat import official_references

    folder = tmp_path_factory.mktemp("mecat_parity")
    (folder / "references").mkdir()
    records = {}
    for path in sorted(official_references().glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            lines = handle.read().splitlines()[:CLIPS_PER_DOMAIN]
        (folder / "references" / path.name.removesuffix(".gz")).write_text("\n".join(lines) + "\n", encoding="utf-8")
        records.update(next(iter(json.loads(line).items())) for line in lines)
    predictions = {facet: {key: body[facet][0] for key, body in records.items()} for facet in ACAV_FACETS}
    keys = sorted(records)
    del predictions["speech"][keys[0]]
    predictions["long"][keys[1]] = "NA"
    predictions["short"][keys[2]] = ""
    return folder / "references", write_prediction_csvs(predictions, folder / "predictions")


def test_project_date_equals_the_official_date_per_group(official_sample, no_network):
    from acav_assets.curation.filters import packaged_model_dir
    from acav_assets.evaluation.date_metric import packaged_encoder
    from acav_assets.evaluation.official_mecat import official_scores

    references_dir, paths = official_sample
    official = official_scores(paths, references_dir, packaged_model_dir())
    references, encoder = load_references(references_dir), packaged_encoder()
    ours = score_groups(references, load_predictions(paths, "mecat"), encoder, input_mode="mecat")
    differences = {group: abs(ours[group] - official[group]) for group in official}
    assert max(differences.values()) <= TOLERANCE, (ours, official)
    # Read verbatim, "None" is not "nan" and the missing clip is scored: the numbers move.
    verbatim = score_groups(references, load_predictions(paths, "verbatim"), encoder, input_mode="verbatim")
    assert abs(verbatim["mixed_speech"] - official["mixed_speech"]) > 10 * TOLERANCE
