"""The training assets on a tiny run: checkpoints, captions registered as a system, a downstream
probe score and Table 3, with their checks, through Dagster."""

import csv
import json

import dagster as dg
import numpy as np
import pytest

from acav_assets.captions.schema import FACETS
from acav_assets.defs import training as training_defs
from acav_assets.defs.partitions import system_partitions, training_run_partitions
from acav_assets.defs.resources import AcavSettings
from acav_assets_tests.tiny_audio_models import (
    release_captions,
    save_tiny_models,
    tone,
    write_release_shard,
)


@pytest.fixture()
def data_root(tmp_path, monkeypatch):
    encoder, decoder = save_tiny_models(tmp_path / "tiny")
    rng = np.random.default_rng(3)
    clips = {f"clip{i}": {"audio": tone(p, rng), **release_captions("0M0", p)}
             for i, p in enumerate(["bass", "soprano", "alto"])}
    write_release_shard(tmp_path / "data" / "release" / "webdataset" / "train-000000.tar", clips)
    run = {"encoder": encoder, "decoder": decoder, "tokenizer": "qwen3-packaged", "batch_size": 3, "max_steps": 3,
           "warmup_steps": 1, "save_every": 3, "max_audio_seconds": 1.0, "learning_rate": 1e-3,
           "max_target_tokens": 6, "predictions": {"max_new_tokens": 4},
           "downstream": {"max_steps": 2}}
    (tmp_path / "data" / "training_runs").mkdir(parents=True)
    (tmp_path / "data" / "training_runs" / "tiny.json").write_text(json.dumps(run))
    task = tmp_path / "downstream" / "vggsound"
    task.mkdir(parents=True)
    for split in ("train", "test"):
        rows = [f"{split}{i}.wav,{label}" for i, label in enumerate(["dog barking", "rain"])]
        for i in range(2):
            import soundfile as sf
            sf.write(task / f"{split}{i}.wav", tone("tenor", rng, 0.5), 16_000)
        (task / f"{split}.csv").write_text("audio,label\n" + "\n".join(rows) + "\n")
    monkeypatch.setenv("ACAV_DOWNSTREAM_ROOT", str(tmp_path / "downstream"))
    return tmp_path / "data"


def test_train_caption_probe_and_table(data_root):
    with dg.instance_for_test() as instance:
        _train_caption_probe_and_table(data_root, instance)


def _train_caption_probe_and_table(data_root, instance):
    instance.add_dynamic_partitions(training_run_partitions.name, ["tiny"])
    resources = {"settings": AcavSettings(data_root=str(data_root))}
    result = dg.materialize(
        [training_defs.caption_model, training_defs.caption_predictions, training_defs.caption_model_loss_falls,
         training_defs.predictions_cover_every_clip],
        partition_key="tiny", instance=instance, resources=resources, raise_on_error=True)
    assert result.success
    model_meta = result.asset_materializations_for_node("caption_model")[0].metadata
    assert model_meta["steps"].value == 3 and model_meta["optimizer"].value == "adamw8bit"
    assert "data:image/png;base64," in model_meta["loss_curve"].value
    checks = {e.asset_check_key.name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["predictions_cover_every_clip"] is True
    assert "caption_model_loss_falls" in checks  # three steps need not fall; the check ran on the curve

    folder = data_root / "predictions" / "tiny"
    for facet in FACETS:
        with open(folder / f"{facet}.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert [r[0] for r in rows] == ["clip0", "clip1", "clip2"]  # the official format: no header
    assert "tiny" in instance.get_dynamic_partitions(system_partitions.name)

    key = dg.MultiPartitionKey({"run": "tiny", "task": "vggsound"})
    scored = dg.materialize([training_defs.downstream_scores], partition_key=key, instance=instance,
                            resources=resources, selection=[training_defs.downstream_scores])
    assert scored.success
    entry = json.loads((data_root / "downstream_scores" / "tiny" / "vggsound.json").read_text())
    assert entry["metric"] == "accuracy" and entry["test_clips"] == 2 and entry["steps"] == 2

    table = dg.materialize([training_defs.downstream_table], instance=instance, resources=resources)
    markdown = table.asset_materializations_for_node("downstream_table")[0].metadata["table3"].value
    assert markdown.splitlines()[-1].startswith("| tiny | – | – | – | – | – | – | ")


def test_a_run_without_a_run_file_fails_with_the_command_to_add_it(tmp_path):
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(training_run_partitions.name, ["nope"])
        with pytest.raises(Exception, match="add-run"):
            dg.materialize([training_defs.caption_model], partition_key="nope", instance=instance,
                           resources={"settings": AcavSettings(data_root=str(tmp_path))})


def test_training_out_of_process_through_dagster_pipes(data_root, monkeypatch):
    """ACAV_TRAINING_LAUNCHER runs `-m acav_assets.defs.training_pipes_entry` as a separate process (here
    plain `python`; `accelerate launch ...` on a GPU machine): its log lines reach the Dagster
    run, its reported metadata comes back, and the checkpoint is the same kind as in process."""
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(training_run_partitions.name, ["tiny"])
        monkeypatch.setenv("ACAV_TRAINING_LAUNCHER", "python")
        settings = AcavSettings(data_root=str(data_root))
        result = dg.materialize([training_defs.caption_model], partition_key="tiny", instance=instance,
                                resources={"settings": settings})
        assert result.success
        metadata = result.asset_materializations_for_node("caption_model")[0].metadata
        assert metadata["launched"].value == "out of process (Dagster Pipes)"
        assert metadata["launcher"].value == "python" and metadata["steps"].value == 3
        assert "data:image/png;base64," in metadata["loss_curve"].value
        logs = [e.message for e in instance.all_logs(result.run_id) if e.message]
        assert any("trainable parameters" in m for m in logs)  # the child's progress, streamed back
    assert (data_root / "training" / "tiny").is_dir()
