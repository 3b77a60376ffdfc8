import json
import os

import pytest

from acav_assets import cli
from acav_assets.evaluation.mecat_scoring import (
    final_score,
    load_predictions,
    load_references,
)
from acav_assets_tests.reference_data import MECAT_CAPTIONS

os.environ["HF_HUB_OFFLINE"] = "1"
MECAT = MECAT_CAPTIONS


@pytest.fixture
def small_references(tmp_path):
    """Twelve real MECAT clips (first lines of two domains) as a references folder."""
    if not MECAT.exists():
        pytest.skip("MECAT reference data not available")
    folder = tmp_path / "refs"
    folder.mkdir()
    for domain in ("00A", "SMA"):
        lines = (MECAT / f"{domain}.jsonl").read_text().splitlines()[:6]
        (folder / f"{domain}.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def test_predictions_files(tmp_path):
    one = tmp_path / "one.csv"
    one.write_text('key,text\n"a_0_10","a dog barks"\n"b_0_10","None"\n')
    preds = load_predictions([one], "verbatim")
    assert preds["long"] == preds["environment"] == {"a_0_10": "a dog barks", "b_0_10": "None"}
    # as the official loader reads it: the header is a clip, "None" is missing and becomes "nan"
    assert load_predictions([one])["short"] == {"key": "text", "a_0_10": "a dog barks", "b_0_10": "nan"}
    with pytest.raises(ValueError, match="one predictions CSV or 6"):
        load_predictions([one, one])
    (tmp_path / "bad.csv").write_text("a,b,c\n")
    with pytest.raises(ValueError, match="line 1: expected two fields"):
        load_predictions([tmp_path / "bad.csv"], "verbatim")
    with pytest.raises(ValueError, match="expected two fields per row"):
        load_predictions([tmp_path / "bad.csv"], "mecat")
    with pytest.raises(ValueError, match="input mode 'raw'"):
        load_predictions([one], "raw")


def test_clips_without_a_prediction_are_skipped_or_scored_empty(small_references):
    from acav_assets.evaluation.date_metric import packaged_encoder
    from acav_assets.evaluation.mecat_scoring import score_group_details

    references = load_references(small_references)
    keys = sorted(references)
    texts = {k: references[k]["long"][0] for k in keys[1:]}  # the first clip has no prediction
    predictions = {facet: texts for facet in ("long", "short", "speech", "music", "sound", "environment")}
    encoder = packaged_encoder()
    rows = {mode: {r["group"]: r for r in score_group_details(references, predictions, encoder, input_mode=mode)}
            for mode in ("mecat", "verbatim")}
    assert rows["mecat"]["content_long"]["n"] == len(keys) - 1 and rows["verbatim"]["content_long"]["n"] == len(keys)
    assert rows["mecat"]["content_long"]["missing_predictions"] == rows["verbatim"]["content_long"]["missing_predictions"] == 1
    assert rows["verbatim"]["content_long"]["date"] < rows["mecat"]["content_long"]["date"]


def test_cli_prints_the_table_2_row(small_references, tmp_path, capsys):
    references = load_references(small_references)
    assert len(references) == 12 and {r["domain"] for r in references.values()} == {"00A", "SMA"}
    predictions = tmp_path / "pred.csv"
    lines = ["key,text"]
    for path in sorted(small_references.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            key, value = next(iter(json.loads(line).items()))
            lines.append(f'"{key}","{value["long"][0]}"')
    predictions.write_text("\n".join(lines) + "\n")
    assert cli.main(["date-score", "--references", str(small_references), "--model", "packaged",
                     str(predictions)]) == 0
    header, _, values, _, note = capsys.readouterr().out.strip().splitlines()
    row = dict(zip(header.strip("| ").split(" | "), values.strip("| ").split(" | ")))
    # no S00, 0M0 clips in these references: those groups count as 0 in the score, which is flagged
    assert row["pure_speech"] == row["pure_music"] == "n/a" and row["score"].endswith("*")
    assert note == ("* no clips for pure_speech, pure_music: counted as 0 in the score, "
                    "as the official evaluator does")
    assert 0 < float(row["content_long"]) <= 100 and float(row["pure_sound"]) > 0
    groups = {g: float(v) if v != "n/a" else None for g, v in row.items() if g != "score"}
    assert float(row["score"][:-1]) == pytest.approx(final_score(groups), abs=0.1)


def test_add_system_registers_scores_and_renders_table_2(small_references, tmp_path, monkeypatch, capsys):
    import dagster as dg

    from acav_assets.stats import sql_runner

    data_root, home = tmp_path / "data", tmp_path / "home"
    monkeypatch.setenv("ACAV_DATA_ROOT", str(data_root))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("ACAV_MECAT_REFERENCES", str(small_references))
    predictions = tmp_path / "pred.csv"
    lines = ["key,text"]
    for path in sorted(small_references.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            key, value = next(iter(json.loads(line).items()))
            lines.append(f'"{key}","{value["short"][1]}"')
    predictions.write_text("\n".join(lines) + "\n")
    (tmp_path / "bad.csv").write_text("only-one-field\n")
    assert cli.main(["add-system", "bad", str(tmp_path / "bad.csv")]) == 2
    assert not (data_root / "predictions" / "bad").exists()
    assert cli.main(["add-system", "my-captioner", str(predictions), "--score"]) == 0
    assert (data_root / "predictions" / "my-captioner" / "predictions.csv").is_file()
    with dg.DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions("systems") == ["my-captioner"]
    row = sql_runner.query(str(data_root / "warehouse.duckdb"), "SELECT * FROM caption_benchmark").to_pylist()[0]
    assert row["system"] == "my-captioner" and row["clips"] == 12 and 0 < row["content_long"] < 100
    table = (data_root / "caption_benchmark_table" / "table2.md").read_text()
    assert "| my-captioner | scored here |" in table and "| ACAVCaps | paper |" in table


def test_references_from_a_release_take_the_domain_from_the_file_name(tmp_path):
    import gzip

    facets = {f: [f"{f} a", f"{f} b", f"{f} c"] for f in ("long", "short", "speech", "music", "sound", "environment")}
    with gzip.open(tmp_path / "0M0.jsonl.gz", "wt") as handle:
        handle.write(json.dumps({"abcdefghijk_0_10": facets}) + "\n")
    with gzip.open(tmp_path / "qa.jsonl.gz", "wt") as handle:  # the release's QA file is not a reference
        handle.write(json.dumps({"abcdefghijk_0_10_0badc0de": {"question": "q", "answer": "a"}}) + "\n")
    references = load_references(tmp_path)
    assert references == {"abcdefghijk_0_10": {"domain": "0M0", **facets}}
    (tmp_path / "captions.jsonl").write_text(json.dumps({"zyxwvutsrqp_0_10": facets}) + "\n")
    with pytest.raises(ValueError, match="without a 'domain' field"):
        load_references(tmp_path)
