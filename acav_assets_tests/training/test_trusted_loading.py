"""Training loads only verified checkpoints and runs remote code only at allowlisted commits."""

from __future__ import annotations

import pytest
import torch

from acav_assets.contracts.trusted_models import (
    TRUSTED_REMOTE_CODE_ENV,
    UNVERIFIED_CHECKPOINTS_ENV,
    UntrustedRemoteCode,
    UnverifiedCheckpoint,
    write_sidecar,
)
from acav_assets.training.checkpoints import TRAINING_STATE, load_training_state
from acav_assets.training.config import TrainingConfig
from acav_assets.training.model_assembly import build_model
from acav_assets_tests.training.test_caption_training import tiny, tiny_config  # noqa: F401 (fixture)


@pytest.fixture(autouse=True)
def no_operator_settings(monkeypatch):
    monkeypatch.delenv(TRUSTED_REMOTE_CODE_ENV, raising=False)
    monkeypatch.delenv(UNVERIFIED_CHECKPOINTS_ENV, raising=False)


def test_training_state_is_checked_against_its_sidecar(tmp_path, monkeypatch):
    path = tmp_path / TRAINING_STATE
    torch.save({"step": 3}, path)
    with pytest.raises(UnverifiedCheckpoint, match=f"no checksum.*{UNVERIFIED_CHECKPOINTS_ENV}={TRAINING_STATE}"):
        load_training_state(tmp_path)
    write_sidecar(path)
    assert load_training_state(tmp_path) == {"step": 3}
    torch.save({"step": 4}, path)  # replaced after the project saved it
    with pytest.raises(UnverifiedCheckpoint, match="does not match training_state.pt.sha256"):
        load_training_state(tmp_path)
    monkeypatch.setenv(UNVERIFIED_CHECKPOINTS_ENV, f"other.pt, {path}")
    assert load_training_state(tmp_path) == {"step": 4}


def test_dasheng_needs_an_allowlisted_commit_before_anything_is_fetched():
    with pytest.raises(UntrustedRemoteCode, match=f"mispeech/dasheng-base at revision main.*{TRUSTED_REMOTE_CODE_ENV}"):
        build_model(TrainingConfig())


def test_models_without_their_own_code_ignore_trust_remote_code(tiny):  # noqa: F811
    model = build_model(tiny_config(tiny, trust_remote_code=True, regime="probe"))
    assert model.adapter is not None
