"""The expert stage through Dagster on a small generated shard, and the model resources."""

import pyarrow.parquet as pq
import pytest

from acav_assets.defs.resources import TaggerResource
from acav_assets.experts.tagging.tag_table import label_mids_of


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        TaggerResource(profile="fast").load()


def test_resources_load_once_per_process():
    assert TaggerResource().load() is TaggerResource().load()


def test_missing_hub_model_says_how_to_get_it(tmp_path):
    from acav_assets.experts.tagging.tagger_protocol import TaggerModelUnavailable

    with pytest.raises(TaggerModelUnavailable, match="ACAV_TAGGER_MODEL"):
        TaggerResource(profile="paper", model=str(tmp_path / "no-such-model")).load()


def test_every_expert_asset_and_check_succeeds(expert_run):
    _, _, result = expert_run
    assert result.success
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialised == {"clips", "acoustics", "tags", "routing", "speech", "music", "sound_events", "metadata",
                            "lalm_description", "evidence"}
    failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed == []


def test_tags_routing_and_evidence_tables(expert_run):
    settings, shard, _ = expert_run
    tags = pq.read_table(settings.layout.table("tags", shard))
    assert len(label_mids_of(tags)) == 521 and tags.num_rows == 4  # the four decodable files
    routing = {r["key"].split("_")[0]: r for r in pq.read_table(settings.layout.table("routing", shard)).to_pylist()}
    assert routing["silence"]["domain"] == "000" and routing["silence"]["is_silent"]
    evidence = pq.read_table(settings.layout.table("evidence", shard)).to_pylist()
    assert len(evidence) == 6  # every planned clip, the broken ones with their decode error
    broken = [r for r in evidence if r["decode_status"] == "error"]
    assert {r["decode_error_kind"] for r in broken} == {"unreadable_format", "missing_file"}
    good = [r for r in evidence if r["decode_status"] == "ok"]
    assert all(r["routed_domain"] and r["acoustics"]["status"] == "ok" for r in good)
    assert all(r["metadata"]["trusted"] is False and r["metadata"]["tags"] == ["a", "b"] for r in good)
    assert all(r["lalm_description"]["status"] == "not_applicable" for r in good)  # not configured
