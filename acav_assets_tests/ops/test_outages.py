"""Outages never replace good outputs: an unreachable source or LLM endpoint fails the step and
the previous clips, audio tar and captions stay live."""

import shutil

import dagster as dg
import pytest
import soundfile as sf

from acav_assets.contracts.failures import EndpointUnreachable, SourceUnreachable
from acav_assets.defs import captions as caption_defs
from acav_assets.defs import ingest
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.resources import AcavSettings, CaptionLlmResource
from acav_assets.ingest import clip_decoding
from acav_assets.ingest.shard_plans import plan_shards, store_shard_plans
from acav_assets.io import storage
from acav_assets.ops.promotion import rejection_note
from acav_assets_tests.captions.test_caption_assets import materialise_captions
from acav_assets_tests.fixtures import RATE, tone
from acav_assets_tests.openai_stub import OpenAIStub


def materialise_clips(settings: AcavSettings, shard: str) -> dg.ExecuteInProcessResult:
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(shard_partitions.name, [shard])
        return dg.materialize([ingest.clips, ingest.clips_quality], partition_key=shard, instance=instance,
                              resources={"settings": settings}, raise_on_error=False)


@pytest.fixture
def decoded_shard(tmp_path):
    folder = tmp_path / "audio"
    folder.mkdir()
    for i in range(4):
        sf.write(folder / f"tone{i}.wav", tone(2.0, 300 + 100 * i), RATE)
    manifest = folder / "outage.csv"
    manifest.write_text("audio\n" + "".join(f"tone{i}.wav\n" for i in range(4)))
    settings = AcavSettings(data_root=str(tmp_path / "data"))
    (shard,) = store_shard_plans(plan_shards(str(manifest), 10.0, 1.0, 1000), settings.data_root)
    assert materialise_clips(settings, shard).success
    layout = settings.layout
    return settings, shard, folder, storage.read_table(layout.table("clips", shard)), \
        open(layout.audio_tar(shard), "rb").read()


def assert_still_live(settings, shard, clips, tar):
    layout = settings.layout
    assert storage.read_table(layout.table("clips", shard)).equals(clips)
    assert open(layout.audio_tar(shard), "rb").read() == tar


def test_an_unreachable_source_fails_decoding_and_keeps_the_good_shard(decoded_shard, monkeypatch):
    settings, shard, _, clips, tar = decoded_shard

    def unreachable(url, *args, **kwargs):
        raise SourceUnreachable(f"{url}: connection refused")

    monkeypatch.setattr(clip_decoding, "decode_clip", unreachable)
    result = materialise_clips(settings, shard)
    assert not result.success
    assert_still_live(settings, shard, clips, tar)


def test_a_lost_source_file_is_refused_as_worse(decoded_shard):
    settings, shard, folder, clips, tar = decoded_shard
    (folder / "tone2.wav").unlink()  # the source moved away: re-decoding would lose a good clip
    result = materialise_clips(settings, shard)
    assert not result.success
    assert_still_live(settings, shard, clips, tar)
    assert "tone2" in open(rejection_note(settings.layout.table("clips", shard))).read()


def test_an_llm_outage_keeps_the_previous_captions(expert_run, tmp_path):
    source_settings, shard, _ = expert_run
    root = tmp_path / "data"
    shutil.copytree(source_settings.data_root, root)
    settings = AcavSettings(data_root=str(root), max_error_rate=0.5)
    assert materialise_captions(settings, shard, CaptionLlmResource()).success
    url = settings.layout.table("captions", shard)
    before = storage.read_table(url)

    with OpenAIStub() as server:
        base_url = server.base_url
    # The server is gone: every request is refused at the transport level.
    llm = CaptionLlmResource(model="stub-r1", max_repairs=0, max_retries=1, timeout_s=2.0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_BASE_URL", base_url)
        # Invoked directly: the asset's own failure, without Dagster's step retries (minutes of backoff).
        with pytest.raises(EndpointUnreachable, match="unreachable"):
            caption_defs.captions(dg.build_asset_context(partition_key=shard), settings=settings, caption_llm=llm)
    assert storage.read_table(url).equals(before)
