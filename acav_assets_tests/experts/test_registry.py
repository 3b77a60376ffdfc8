"""Experts are declared: a spec is enough for the shell to build a working asset and check."""

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq

from acav_assets.defs import ingest
from acav_assets.defs.experts import expert_asset, expert_check
from acav_assets.defs.partitions import shard_partitions
from acav_assets.experts.registry import EVIDENCE_EXPERTS, EXPERTS, expert
from acav_assets.experts.shard_runner import analyse_shard
from acav_assets.experts.spec import DECODED, ExpertOutput, ExpertSpec, ShardInputs
from acav_assets.io.table_fields import described_field

SECONDS = described_field("seconds", pa.float64(), "s", "Length of the decoded clip.")


def clip_length(inputs: ShardInputs) -> ExpertOutput:
    table = analyse_shard(inputs.audio, inputs.shard, [SECONDS], lambda audio, rate: {"seconds": len(audio) / rate},
                          workers=1, name="clip_length", log=inputs.log)
    return ExpertOutput(table, {"clips": table.num_rows})


CLIP_LENGTH = ExpertSpec(name="clip_length", description="How long each decoded clip is.", fields=(SECONDS,),
                         analyse=clip_length, reads=("clips",), coverage=DECODED, ranges={"seconds": (0.0, 30.0)},
                         check="One row per decoded clip, lengths within the clip limit.")


def test_a_new_spec_becomes_an_asset_with_a_blocking_check(expert_run):
    settings, shard, _ = expert_run
    asset = expert_asset(CLIP_LENGTH)
    check = expert_check(CLIP_LENGTH, asset)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(shard_partitions.name, [shard])
        result = dg.materialize([ingest.clips, asset, check], selection=[asset.key], partition_key=shard,
                                instance=instance, resources={"settings": settings})
    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.check_name == "clip_length_quality"
    table = pq.read_table(settings.layout.table("clip_length", shard))
    assert table.num_rows == 4 and all(0 < s <= 10.0 for s in table["seconds"].to_pylist())


def test_registry_names_every_expert_once():
    names = [spec.name for spec in EXPERTS]
    assert names == ["acoustics", "tags", "routing", "speech", "music", "sound_events", "metadata", "lalm_description"]
    assert set(EVIDENCE_EXPERTS) <= set(names)
    assert expert("music").model == "speech_models" and expert("tags").pool == "gpu"
    for spec in EXPERTS:
        assert spec.schema.names[:2] == ["key", "shard"] and spec.schema.names[-2:] == ["status", "error"]
        assert set(spec.ranges) <= set(spec.schema.names) | set(spec.derived)
