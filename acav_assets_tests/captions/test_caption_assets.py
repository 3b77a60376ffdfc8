"""The captions asset through Dagster: offline synthesiser, and an LLM behind a local server."""

import dagster as dg
import pyarrow.parquet as pq

from acav_assets.captions.offline_synthesiser import SYNTHESIZER_NAME
from acav_assets.captions.schema import FACETS
from acav_assets.defs import captions as caption_defs
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.resources import CaptionLlmResource
from acav_assets.io import storage
from acav_assets_tests.openai_stub import OpenAIStub


def materialise_captions(settings, shard, llm: CaptionLlmResource):
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(shard_partitions.name, [shard])
        return dg.materialize(
            [caption_defs.captions, caption_defs.captions_quality,
             *[dg.AssetSpec(k) for k in ("evidence",)]],
            selection=[caption_defs.captions.key], partition_key=shard, instance=instance,
            resources={"settings": settings, "caption_llm": llm},
        )


def test_offline_synthesiser_captions_every_decoded_clip(expert_run):
    settings, shard, _ = expert_run
    result = materialise_captions(settings, shard, CaptionLlmResource())
    assert result.success and all(e.passed for e in result.get_asset_check_evaluations())
    rows = pq.read_table(settings.layout.table("captions", shard)).to_pylist()
    assert len(rows) == 4 and all(r["status"] == "ok" and r["model"] == SYNTHESIZER_NAME for r in rows)
    assert all(len(r[f]) == 3 for r in rows for f in FACETS)
    silent = [r for r in rows if r["domain"] == "000"]
    assert silent and silent[0]["speech"][0] == "None"


def test_llm_captions_are_validated_cached_and_failures_kept(expert_run, tmp_path, monkeypatch):
    settings, shard, _ = expert_run
    # Start without live captions: otherwise the offline test's caption of the video clip is kept.
    storage.remove(settings.layout.table("captions", shard))
    # Prompts for the video clip always get broken JSON: it must be recorded, not lost.
    with OpenAIStub(garbage_markers=("video",)) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        llm = CaptionLlmResource(model="stub-r1", max_repairs=1)
        result = materialise_captions(settings, shard, llm)
        first_requests = server.answered
        rows = {r["key"].split("_")[0]: r for r in pq.read_table(settings.layout.table("captions", shard)).to_pylist()}
        assert len(rows) == 4
        assert rows["video"]["status"] == "error" and "JSON" in rows["video"]["error"]
        assert rows["video"]["raw_reply"].startswith('{"facets"') and rows["video"]["requests"] == 2
        good = [r for k, r in rows.items() if k != "video"]
        assert all(r["status"] == "ok" and r["model"] == "stub-r1" and r["prompt_tokens"] > 0 for r in good)
        assert all(r["reasoning"] == "The experts agree; no contradictions." for r in good)
        metadata = result.asset_materializations_for_node("captions")[0].metadata
        assert metadata["failures"].value == 1 and metadata["requests"].value == first_requests

        # Re-materialising asks again only for the clip that failed; the others come from the cache.
        materialise_captions(settings, shard, llm)
        assert server.answered == first_requests + 2
        again = pq.read_table(settings.layout.table("captions", shard)).to_pylist()
        assert sum(r["cache_hit"] for r in again) == 3
