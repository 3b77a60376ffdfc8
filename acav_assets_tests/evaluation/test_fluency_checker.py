import hashlib
import os

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertModel

from acav_assets.contracts.trusted_models import UNVERIFIED_CHECKPOINTS_ENV, UnverifiedCheckpoint
from acav_assets.curation.filters import packaged_model_dir
from acav_assets.evaluation.fluency_checker import (
    FluencyChecker,
    FluencyCheckerUnavailable,
)

os.environ["HF_HUB_OFFLINE"] = "1"
FLUENT, BROKEN = "a dog barks while cars pass by", "a a a dog dog the the barks barks and and"


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    """A tiny random BERT with the packaged (bert-base-uncased) WordPiece tokenizer."""
    folder = tmp_path_factory.mktemp("tiny_bert")
    tokenizer = AutoTokenizer.from_pretrained(packaged_model_dir())
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    encoder = BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                                   num_attention_heads=2, intermediate_size=64, max_position_embeddings=64),
                        add_pooling_layer=False)
    encoder.save_pretrained(folder)
    return folder, encoder, tokenizer


@pytest.fixture(autouse=True)
def unverified_test_checkpoints(monkeypatch):
    """These checkpoints are made here, so no published sum: opt them out by name."""
    monkeypatch.setenv(UNVERIFIED_CHECKPOINTS_ENV, "echecker.ckpt,c.ckpt,other.ckpt,hostile.ckpt")


def _checkpoint(path, encoder, weight, bias):
    """A checkpoint in FENSE's format: model_type, num_classes, state_dict (encoder.*, clf.*)."""
    state = {f"encoder.{k}": v for k, v in encoder.state_dict().items()}
    state.update({"clf.weight": weight, "clf.bias": bias})
    torch.save({"model_type": "bert-base-uncased", "num_classes": weight.shape[0], "state_dict": state}, path)
    return path


def _cls(encoder, tokenizer, text):
    batch = tokenizer([text], truncation=True, padding="max_length", max_length=64, return_tensors="pt")
    with torch.no_grad():
        return encoder.eval()(**batch).last_hidden_state[0, 0]


def test_penalises_exactly_the_captions_the_classifier_flags(backbone, tmp_path):
    folder, encoder, tokenizer = backbone
    # A last logit of +20 on the broken caption's [CLS] direction and -20 on the fluent one's.
    fluent, broken = _cls(encoder, tokenizer, FLUENT), _cls(encoder, tokenizer, BROKEN)
    direction = broken - fluent
    scale = 40 / float(direction @ direction)
    weight = torch.zeros(5, 32)
    weight[-1] = direction * scale
    bias = torch.zeros(5)
    bias[-1] = -float(weight[-1] @ (broken + fluent) / 2)
    checker = FluencyChecker(_checkpoint(tmp_path / "echecker.ckpt", encoder, weight, bias), backbone=folder,
                             device="cpu", batch_size=1)
    probabilities = checker.error_probabilities([FLUENT, BROKEN, FLUENT])
    assert probabilities[0] < 0.01 and probabilities[1] > 0.99
    np.testing.assert_allclose(checker.penalties([FLUENT, BROKEN, FLUENT]), [1.0, 0.1, 1.0])
    checker.batch_size = 3  # padding to 64 tokens: the batch does not change a caption's answer
    np.testing.assert_allclose(checker.error_probabilities([FLUENT, BROKEN, FLUENT]), probabilities, atol=1e-5)


def test_threshold_is_strictly_above_point_nine(backbone, tmp_path):
    folder, encoder, _ = backbone
    bias = torch.tensor([0.0, np.log(0.9 / 0.1) - 1e-3])  # sigmoid just under 0.9 for every caption
    checker = FluencyChecker(_checkpoint(tmp_path / "c.ckpt", encoder, torch.zeros(2, 32), bias), backbone=folder)
    assert checker.penalties([FLUENT, BROKEN]).tolist() == [1.0, 1.0]


def test_missing_wrong_and_tampered_checkpoints(backbone, tmp_path):
    folder, encoder, _ = backbone
    with pytest.raises(FluencyCheckerUnavailable, match="echecker_clotho_audiocaps_base: https://github.com/"):
        FluencyChecker(tmp_path / "absent.ckpt", backbone=folder)
    torch.save({"weights": 1}, tmp_path / "other.ckpt")
    with pytest.raises(ValueError, match="not a FENSE error-checker checkpoint"):
        FluencyChecker(tmp_path / "other.ckpt", backbone=folder)
    fake = _checkpoint(tmp_path / "echecker_clotho_audiocaps_base.ckpt", encoder, torch.zeros(2, 32), torch.zeros(2))
    assert hashlib.sha256(fake.read_bytes()).hexdigest() != "1a719f09"
    with pytest.raises(UnverifiedCheckpoint, match="sha256 [0-9a-f]{64} does not match any published checkpoint"):
        FluencyChecker(fake, backbone=folder)


def test_a_checkpoint_without_a_known_sum_loads_only_when_named(backbone, tmp_path, monkeypatch):
    folder, encoder, _ = backbone
    path = _checkpoint(tmp_path / "my_checker.ckpt", encoder, torch.zeros(2, 32), torch.zeros(2))
    (tmp_path / "my_checker.ckpt.sha256").write_text(hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(UnverifiedCheckpoint, match=f"{UNVERIFIED_CHECKPOINTS_ENV}=my_checker.ckpt"):
        FluencyChecker(path, backbone=folder)  # a sidecar anyone could write is no published sum
    monkeypatch.setenv(UNVERIFIED_CHECKPOINTS_ENV, str(path))
    assert FluencyChecker(path, backbone=folder).penalties([FLUENT]).tolist() == [1.0]


class _RunsCode:
    """An object whose unpickling would call a function: what a hostile checkpoint carries."""

    def __reduce__(self):
        return (print, ("this ran while loading",))


def test_a_checkpoint_that_would_run_code_is_refused(backbone, tmp_path, capsys):
    folder, _, _ = backbone
    path = tmp_path / "hostile.ckpt"
    torch.save({"model_type": "bert", "num_classes": 2, "state_dict": {}, "payload": _RunsCode()}, path)
    with pytest.raises(ValueError, match="refusing to unpickle"):
        FluencyChecker(path, backbone=folder)
    assert "this ran while loading" not in capsys.readouterr().out
