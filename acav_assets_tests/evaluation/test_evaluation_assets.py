"""mecat_caption_scores and caption_benchmark_table through Dagster on real MECAT references."""

import json
import os
from pathlib import Path

import dagster as dg
import pytest

from acav_assets.defs import evaluation as evaluation_defs
from acav_assets.defs.partitions import system_partitions
from acav_assets.defs.resources import AcavSettings
from acav_assets.evaluation.date_metric import GROUPS
from acav_assets.evaluation.mecat_scoring import final_score, write_prediction_csvs
from acav_assets.stats import sql_runner
from acav_assets.stats.caption_corpora import ACAV_FACETS
from acav_assets_tests.reference_data import MECAT_CAPTIONS

os.environ["HF_HUB_OFFLINE"] = "1"
MECAT = MECAT_CAPTIONS
CLIPS_PER_DOMAIN = 12


@pytest.fixture(scope="module")
def references(tmp_path_factory) -> Path:
    """The first clips of every domain in the real MECAT train references."""
    if not MECAT.exists():
        pytest.skip("MECAT reference data not available")
    folder = tmp_path_factory.mktemp("mecat_refs")
    for path in sorted(MECAT.glob("*.jsonl")):
        lines = path.read_text().splitlines()[:CLIPS_PER_DOMAIN]
        (folder / path.name).write_text("\n".join(lines) + "\n")
    return folder


def _reference_rows(folder: Path) -> dict[str, dict]:
    rows = {}
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            rows.update(json.loads(line))
    return rows


def write_system(settings: AcavSettings, system: str, texts: dict[str, dict[str, str]]) -> None:
    write_prediction_csvs({facet: {key: value[facet] for key, value in texts.items()} for facet in ACAV_FACETS},
                          settings.layout.predictions(system))


def run(settings, instance, selection, partition=None):
    return dg.materialize(
        [evaluation_defs.mecat_caption_scores, evaluation_defs.caption_benchmark_table,
         evaluation_defs.mecat_scores_cover_the_references, dg.AssetSpec("caption_predictions")],
        selection=selection, partition_key=partition, instance=instance, resources={"settings": settings},
        raise_on_error=False,
    )


def test_scores_stored_in_duckdb_and_table_2_rendered(references, tmp_path):
    settings = AcavSettings.from_env(data_root=str(tmp_path / "data"), mecat_references=str(references))
    refs = _reference_rows(references)
    first = {k: {f: v[f][0] for f in ACAV_FACETS} for k, v in refs.items()}
    keys = sorted(first)
    shuffled_keys = keys[1:] + keys[:1]  # every clip gets another clip's captions
    write_system(settings, "copy-first-reference", first)
    write_system(settings, "shuffled", {k: first[s] for k, s in zip(keys, shuffled_keys)})
    partial = dict(list(first.items())[: len(first) // 2])
    write_system(settings, "half-missing", partial)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(system_partitions.name, ["copy-first-reference", "shuffled", "half-missing"])
        for system in ("copy-first-reference", "shuffled", "half-missing"):
            result = run(settings, instance, [evaluation_defs.mecat_caption_scores], system)
            assert result.success
            check = result.get_asset_check_evaluations()[0]
            assert check.passed == (system != "half-missing")
        table = run(settings, instance, [evaluation_defs.caption_benchmark_table])
        assert table.success
    scores = {r["system"]: r for r in sql_runner.query(settings.database, "SELECT * FROM caption_benchmark").to_pylist()}
    good, bad = scores["copy-first-reference"], scores["shuffled"]
    groups = [g for g in ("content_long", "content_short", "mixed_speech", "pure_music", "mixed_music",
                          "pure_sound", "mixed_sound", "environment")]
    assert all(good[g] > bad[g] + 5 for g in groups), (good, bad)
    # the train sample has no S00 clips: that group counts as 0 in the score, as in the official code
    assert good["pure_speech"] is None
    assert good["score"] == pytest.approx(final_score({g: good[g] for g in GROUPS}))
    assert good["clips"] == len(refs)
    markdown = Path(settings.layout.table("caption_benchmark_table", "table2", ext="md")).read_text()
    assert "| ACAVCaps | paper | 76.6" in markdown and "| shuffled | scored here |" in markdown
    assert "a group without clips (n/a) counts as 0 in the score" in markdown
    rows = sql_runner.query(settings.database,
                            "SELECT * FROM mecat_caption_scores WHERE system = 'half-missing'").to_pylist()
    assert sum(r["missing_predictions"] or 0 for r in rows) > 0


def test_clear_failures_without_references_or_predictions(references, tmp_path):
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(system_partitions.name, ["nothing-here"])
        settings = AcavSettings.from_env(data_root=str(tmp_path), mecat_references="")
        result = run(settings, instance, [evaluation_defs.mecat_caption_scores], "nothing-here")
        assert not result.success
        assert "ACAV_MECAT_REFERENCES" in str(result.get_step_failure_events()[0].event_specific_data.error)
        settings = AcavSettings.from_env(data_root=str(tmp_path), mecat_references=str(references))
        result = run(settings, instance, [evaluation_defs.mecat_caption_scores], "nothing-here")
        error = str(result.get_step_failure_events()[0].event_specific_data.error)
        assert "expected predictions.csv or the six files long.csv" in error
