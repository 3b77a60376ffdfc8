"""Downstream tasks: declarations, manifest layouts, metrics, the probe on a checkpoint, Table 3."""

import json

import numpy as np
import pytest
import soundfile as sf

from acav_assets.evaluation.downstream_tasks import (
    DownstreamTask,
    load_tasks,
    normalise,
    paper_rows,
    read_common_voice,
    read_kaldi,
    read_label_csv,
    read_librispeech,
    read_nsynth,
    run_probe,
    score,
    table3_markdown,
    task_examples,
)


def test_the_paper_tasks_are_declared_in_table3_order_with_its_rows():
    tasks = load_tasks()
    assert [t.column for t in tasks.values()] == [
        "AISHELL-2 Android", "AISHELL-2 iOS", "AISHELL-2 Mic", "LibriSpeech clean", "LibriSpeech other",
        "Common Voice French", "VGGSound", "VocalSound", "NSynth instrument", "IEMOCAP"]
    assert [t.metric for t in tasks.values()] == ["cer"] * 3 + ["wer"] * 3 + ["accuracy"] * 4
    rows = paper_rows()
    assert all(len(v) == len(tasks) for v in rows.values())
    assert rows["ACAVCaps"][0] == 58.3 and rows["ACAVCaps"][-1] == 28.9


def test_paths_expand_the_downstream_root(monkeypatch):
    task = load_tasks()["librispeech_clean"]
    monkeypatch.setenv("ACAV_DOWNSTREAM_ROOT", "/data/ds")
    assert task.path("test") == "/data/ds/LibriSpeech/test-clean"


def test_metrics_known_answers():
    assert score("wer", ["the cat sat on the mat"], ["The cat sat on a mat."]) == pytest.approx(100 / 6)
    assert score("cer", ["今天天气很好"], ["今天 天气很差"]) == pytest.approx(100 / 6)
    assert score("accuracy", ["Laughter", "cough", "sneeze", "sigh"], ["laughter.", "cough", "sniff", "Sigh"]) == 75.0
    assert normalise("  Hello,   WORLD! ") == "hello world"
    with pytest.raises(ValueError, match="as many predictions"):
        score("wer", ["a"], [])
    with pytest.raises(ValueError, match="metric"):
        score("bleu", ["a"], ["a"])


def _wav(path, seconds=0.2):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(int(16_000 * seconds), np.float32), 16_000)


def test_manifest_layouts(tmp_path):
    kaldi = tmp_path / "aishell"
    _wav(kaldi / "wav" / "u1.wav")
    (kaldi / "wav.scp").write_text("u1 wav/u1.wav\nu2 wav/u2.wav\n")
    (kaldi / "trans.txt").write_text("u1 今天天气很好\n")
    assert read_kaldi(str(kaldi)) == [(str(kaldi / "wav/u1.wav"), "今天天气很好")]

    chapter = tmp_path / "test-clean" / "61" / "70968"
    chapter.mkdir(parents=True)
    (chapter / "61-70968.trans.txt").write_text("61-70968-0000 HE BEGAN A CONFUSED COMPLAINT\n")
    assert read_librispeech(str(tmp_path / "test-clean")) == [
        (str(chapter / "61-70968-0000.flac"), "HE BEGAN A CONFUSED COMPLAINT")]

    (tmp_path / "cv").mkdir()
    (tmp_path / "cv" / "test.tsv").write_text('client_id\tpath\tsentence\nx\ta.mp3\t"Bonjour" à tous\n')
    assert read_common_voice(str(tmp_path / "cv" / "test.tsv")) == [(str(tmp_path / "cv/clips/a.mp3"), '"Bonjour" à tous')]

    (tmp_path / "nsynth").mkdir()
    (tmp_path / "nsynth" / "examples.json").write_text(json.dumps({"bass_x_000": {"instrument_family_str": "bass"}}))
    assert read_nsynth(str(tmp_path / "nsynth")) == [(str(tmp_path / "nsynth/audio/bass_x_000.wav"), "bass")]

    (tmp_path / "labels.csv").write_text("audio,label\nclips/a.wav,laughter\n")
    assert read_label_csv(str(tmp_path / "labels.csv")) == [(str(tmp_path / "clips/a.wav"), "laughter")]
    (tmp_path / "bad.csv").write_text("file,class\na.wav,x\n")
    with pytest.raises(ValueError, match="audio and label"):
        read_label_csv(str(tmp_path / "bad.csv"))
    with pytest.raises(FileNotFoundError, match="ACAV_DOWNSTREAM_ROOT"):
        read_kaldi(str(tmp_path / "missing"))


def test_table3_puts_scored_runs_beside_the_paper_rows():
    table = table3_markdown({"tiny-run": {"vggsound": 12.34, "librispeech_clean": 99.0}})
    lines = table.splitlines()
    assert lines[0].startswith("| Training data | AISHELL-2 Android (CER ↓)") and "VGGSound (acc ↑)" in lines[0]
    assert lines[-2].startswith("| ACAVCaps (paper) | 58.3 | 56.5")
    assert lines[-1] == "| tiny-run | – | – | – | 99.0 | – | – | 12.3 | – | – | – |"


def test_probe_on_a_checkpoint_trains_only_the_adapter_and_scores_the_test_split(tmp_path):
    from acav_assets.training.config import TrainingConfig
    from acav_assets.training.loop import train
    from acav_assets.training.model_assembly import load_trained_model
    from acav_assets_tests.fixtures import shuffled, tone_examples
    from acav_assets_tests.tiny_audio_models import save_tiny_models

    encoder, decoder = save_tiny_models(tmp_path / "tiny")
    config = TrainingConfig(encoder=encoder, decoder=decoder, tokenizer="qwen3-packaged", batch_size=4, max_steps=2,
                            warmup_steps=1, save_every=2, max_audio_seconds=1.0)
    caption = train(config, tmp_path / "caption", shuffled(tone_examples(7, 8))).checkpoint
    folder = tmp_path / "task"
    rows = []
    for i, label in enumerate(["bass", "alto", "bass", "alto"]):
        _wav(folder / f"c{i}.wav", 0.5)
        rows.append(json.dumps({"audio": f"c{i}.wav", "text": label}))
    (folder / "all.jsonl").write_text("\n".join(rows))
    task = DownstreamTask("pitch", "Pitch", "accuracy", "jsonl", "Which voice range?", str(folder / "all.jsonl"),
                          str(folder / "all.jsonl"))
    examples = task_examples(task, "train")
    assert len(examples) == 4 and examples[0].audio.shape == (8_000,)
    result = run_probe(caption, task, tmp_path / "probe", examples, examples, max_steps=2, progress=lambda m: None,
                       max_target_tokens=8)
    assert result["metric"] == "accuracy" and 0.0 <= result["value"] <= 100.0 and result["test_clips"] == 4
    probe = load_trained_model(result["checkpoint"], "cpu")
    before = load_trained_model(caption, "cpu")
    # the frozen parts are the caption checkpoint's; only the adapter moved
    for (name, a), b in zip(probe.encoder.state_dict().items(), before.encoder.state_dict().values()):
        assert np.allclose(a.numpy(), b.numpy()), name
    moved = [not np.allclose(a.numpy(), b.numpy()) for a, b in
             zip(probe.adapter.state_dict().values(), before.adapter.state_dict().values())]
    assert any(moved)
