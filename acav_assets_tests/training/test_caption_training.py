"""Training core: schedule, batching, regimes, checkpoints and resume, the known-answer proof, and
captions from a release WebDataset scored with DATE."""

import csv
import random

import numpy as np
import pytest
import torch

from acav_assets.captions.schema import FACETS
from acav_assets.training.checkpoints import latest_checkpoint
from acav_assets.training.config import FACET_PROMPTS, TrainingConfig, load_run_file
from acav_assets.training.examples import Example, caption_targets, length_aware_batches
from acav_assets.training.generation import (
    generate_texts,
    predict_captions,
    write_prediction_csvs,
)
from acav_assets.training.loop import make_optimizer, train, warmup_cosine
from acav_assets.training.model_assembly import build_model, load_trained_model
from acav_assets_tests.fixtures import shuffled, tone_examples
from acav_assets_tests.tiny_audio_models import (
    release_captions,
    save_tiny_models,
    tone,
    write_release_shard,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[str, str]:
    return save_tiny_models(tmp_path_factory.mktemp("tiny"))


def tiny_config(tiny, **changes) -> TrainingConfig:
    encoder, decoder = tiny
    values = dict(encoder=encoder, decoder=decoder, tokenizer="qwen3-packaged", batch_size=4, max_steps=4,
                  warmup_steps=2, save_every=2, log_every=1, max_audio_seconds=1.0, learning_rate=1e-3)
    return TrainingConfig(**{**values, **changes})


def test_warmup_then_cosine_down_to_ten_percent():
    factor = warmup_cosine(warmup_steps=10, max_steps=110, min_ratio=0.1)
    assert factor(0) == pytest.approx(0.1)
    assert factor(9) == pytest.approx(1.0)
    assert factor(60) == pytest.approx(0.55)
    assert factor(110) == pytest.approx(0.1)
    assert all(factor(s) >= factor(s + 1) for s in range(10, 110))


def test_length_aware_batches_keep_every_example_once_and_group_similar_lengths():
    rng = np.random.default_rng(0)
    examples = [Example(str(i), np.zeros(int(n)), "p", "t") for i, n in enumerate(rng.integers(1_000, 160_000, 50))]
    batches = list(length_aware_batches(examples, batch_size=4, buffer_batches=4, rng=random.Random(0)))
    assert sorted(e.key for b in batches for e in b) == sorted(e.key for e in examples)
    spread = np.mean([max(len(e.audio) for e in b) - min(len(e.audio) for e in b) for b in batches])
    random_spread = np.mean([np.ptp([len(e.audio) for e in examples[i:i + 4]]) for i in range(0, 48, 4)])
    assert spread < random_spread / 2


def test_caption_targets_use_a_descriptive_variant_per_facet():
    meta = release_captions("0M0", "high")
    pairs = dict(caption_targets(meta, FACETS, random.Random(0)))
    assert set(pairs) == set(FACETS)
    assert pairs["speech"] in meta["speech"][1:]
    assert set(FACET_PROMPTS) == set(FACETS) and len(set(FACET_PROMPTS.values())) == 6


def test_config_rejects_unknown_keys_and_bad_values(tmp_path):
    with pytest.raises(ValueError, match="unknown training config keys"):
        TrainingConfig.from_dict({"regime": "alignment", "learnig_rate": 1})
    with pytest.raises(ValueError, match="regime"):
        TrainingConfig(regime="finetune")
    path = tmp_path / "run.json"
    path.write_text('{"max_steps": 5, "predictions": {"limit": 3}, "downstream": {"bogus": 1}}')
    with pytest.raises(ValueError, match="unknown downstream keys"):
        load_run_file(path)
    path.write_text('{"max_steps": 5, "predictions": {"limit": 3}}')
    config, sections = load_run_file(path)
    assert config.max_steps == 5 and sections["predictions"]["limit"] == 3
    assert sections["downstream"]["max_steps"] == 2000


def test_adamw8bit_runs_on_cpu_with_the_paper_defaults():
    optimizer, name = make_optimizer([torch.nn.Parameter(torch.randn(64, 128))], TrainingConfig())
    assert name == "adamw8bit" and type(optimizer).__name__ == "AdamW8bit"
    assert optimizer.defaults["lr"] == 1e-4 and optimizer.defaults["weight_decay"] == 0.01


def test_regimes_train_the_right_parts(tiny):
    alignment = build_model(tiny_config(tiny))
    assert all(p.requires_grad for p in alignment.encoder.parameters())
    lora = {n for n, p in alignment.decoder.named_parameters() if p.requires_grad}
    assert lora and all("lora_" in n for n in lora)
    assert any("q_proj.lora_A" in n for n in lora) and any("v_proj.lora_A" in n for n in lora)
    probe = build_model(tiny_config(tiny, regime="probe"))
    trainable = {n for n, p in probe.named_parameters() if p.requires_grad}
    assert trainable == {f"adapter.{n}" for n, _ in probe.adapter.named_parameters()}


def test_unpinned_hub_models_are_pinned_to_the_commit_loaded(tiny):
    from acav_assets.training.model_assembly import pin_revisions

    model = build_model(tiny_config(tiny))
    assert pin_revisions(tiny_config(tiny), model) == tiny_config(tiny)  # local folders: nothing to pin
    model.encoder.model.config._commit_hash = "a" * 40  # what transformers records for a hub download
    model.decoder.get_base_model().config._commit_hash = "b" * 40
    pinned = pin_revisions(tiny_config(tiny), model)
    assert (pinned.encoder_revision, pinned.decoder_revision) == ("a" * 40, "b" * 40)
    chosen = tiny_config(tiny, encoder_revision="v1.0")
    assert pin_revisions(chosen, model).encoder_revision == "v1.0"  # an explicit choice is kept


def test_checkpoints_resume_where_the_run_stopped(tiny, tmp_path):
    examples = tone_examples(3, 16)
    first = train(tiny_config(tiny, max_steps=4), tmp_path, shuffled(examples))
    assert first.steps == 4 and first.resumed_from == 0 and first.checkpoint.name == "step-00000004"
    assert {p.name for p in first.checkpoint.iterdir()} >= {
        "adapter.safetensors", "lora", "encoder", "tokenizer", "run_config.json", "curve.csv", "training_state.pt",
        "training_state.pt.sha256"}
    second = train(tiny_config(tiny, max_steps=6), tmp_path, shuffled(examples))
    assert second.resumed_from == 4 and second.steps == 6
    assert [p["step"] for p in second.curve] == [1, 2, 3, 4, 5, 6]
    assert second.curve[:4] == first.curve
    assert latest_checkpoint(tmp_path).name == "step-00000006"
    assert len(list((tmp_path / "checkpoints").glob("step-*"))) == 2  # keep_checkpoints


def test_known_answer_tones_loss_falls_and_accuracy_beats_chance(tiny, tmp_path):
    """Four pitch classes of generated notes (chance: 25 %). The alignment regime trains the tiny
    encoder, the adapter and the decoder's LoRA for 200 steps of 8 clips; on 48 unseen notes the
    generated answer must be right at least 75 % of the time and the loss must fall by 80 %."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is as fast and does not stall on a busy CPU
    try:
        config = tiny_config(tiny, batch_size=8, max_steps=200, warmup_steps=20, save_every=200, log_every=50)
        result = train(config, tmp_path, shuffled(tone_examples(1, 192)))
    finally:
        torch.set_num_threads(threads)
    first = np.mean([p["loss"] for p in result.curve[:10]])
    last = np.mean([p["loss"] for p in result.curve[-10:]])
    test = tone_examples(2, 48)
    texts = generate_texts(load_trained_model(result.checkpoint, "cpu"), test, batch_size=16, max_new_tokens=4,
                           max_audio_seconds=1.0)
    accuracy = np.mean([texts[e.key].strip().lower() == e.target for e in test])
    print(f"tones: loss {first:.3f} -> {last:.3f}, accuracy {accuracy:.3f} (chance 0.25)")
    assert last < 0.2 * first
    assert accuracy >= 0.75


def test_alignment_on_a_release_shard_writes_six_caption_csvs_scored_by_date(tiny, tmp_path):
    from acav_assets.evaluation.date_metric import packaged_encoder
    from acav_assets.evaluation.mecat_scoring import load_predictions, score_groups

    rng = np.random.default_rng(5)
    clips = {f"clip{i:02d}": {"audio": tone(p, rng), **release_captions("0M0", p)}
             for i, p in enumerate(["bass", "alto", "soprano", "tenor"])}
    write_release_shard(tmp_path / "release" / "train-000000.tar", clips)
    config = tiny_config(tiny, train_data=str(tmp_path / "release"), max_steps=3, save_every=3)
    result = train(config, tmp_path / "run")
    assert result.steps == 3 and all(np.isfinite(p["loss"]) for p in result.curve)
    predictions, failed = predict_captions(load_trained_model(result.checkpoint, "cpu"), str(tmp_path / "release"),
                                           batch_size=4, max_new_tokens=5, max_audio_seconds=1.0, chunk_clips=3)
    assert failed == [] and set(predictions) == set(FACETS)
    paths = write_prediction_csvs(predictions, tmp_path / "predictions")
    with open(paths[0], newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert [r[0] for r in rows] == sorted(clips)  # the official format: no header
    references = {k: {"domain": c["domain"], **{f: c[f] for f in FACETS}} for k, c in clips.items()}
    scores = score_groups(references, load_predictions(paths), packaged_encoder())
    assert scores["pure_music"] is not None and 0 <= scores["pure_music"] <= 100


def test_training_without_data_or_from_an_incomplete_checkpoint_fails_clearly(tiny, tmp_path):
    with pytest.raises(ValueError, match="train_data is empty"):
        train(tiny_config(tiny), tmp_path)
    with pytest.raises(ValueError, match="no examples"):
        train(tiny_config(tiny), tmp_path, lambda seed, part, parts: [])
    (tmp_path / "half").mkdir()
    with pytest.raises(FileNotFoundError, match="not a complete checkpoint"):
        build_model(tiny_config(tiny, init_from=str(tmp_path / "half")))
