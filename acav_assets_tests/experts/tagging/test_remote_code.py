"""trust_remote_code only at allowlisted (model, commit) pairs: the core rule and the CED tagger."""

from __future__ import annotations

import json
import os
import time

import pytest

from acav_assets.contracts import trusted_models
from acav_assets.contracts.trusted_models import (
    TRUSTED_REMOTE_CODE_ENV,
    UntrustedRemoteCode,
    remote_code_options,
)
from acav_assets.experts.tagging import hub_tagger
from acav_assets.experts.tagging.hub_tagger import TAGGER_MODEL_ENV, HubAudioTagger

COMMIT, OTHER = "1" * 40, "2" * 40
AUTO_MAP = {"AutoConfig": "configuration_ced.CedConfig", "AutoModelForAudioClassification": "modeling_ced.CedModel"}


@pytest.fixture(autouse=True)
def no_operator_pairs(monkeypatch):
    monkeypatch.delenv(TRUSTED_REMOTE_CODE_ENV, raising=False)


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An offline hub cache holding CED-Base's config (with custom code) at ``main`` = COMMIT."""
    from huggingface_hub import constants

    repo = tmp_path / "hub" / "models--mispeech--ced-base"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    (repo / "snapshots" / COMMIT).mkdir(parents=True)
    (repo / "snapshots" / COMMIT / "config.json").write_text(json.dumps({"model_type": "ced", "auto_map": AUTO_MAP}))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.delenv(TAGGER_MODEL_ENV, raising=False)


def test_ced_by_default_needs_the_operator_to_pin_a_commit(hub_cache, monkeypatch):
    with pytest.raises(UntrustedRemoteCode, match=f"{TRUSTED_REMOTE_CODE_ENV}='mispeech/ced-base@<40-hex commit>'"):
        HubAudioTagger.for_paper(device="cpu")
    monkeypatch.setenv(TRUSTED_REMOTE_CODE_ENV, f"mispeech/ced-base@{COMMIT}, other/model@{OTHER}")
    assert remote_code_options(hub_tagger.CED_BASE_MODEL_ID, hub_tagger.CED_BASE_REVISION) == (COMMIT, True)
    assert remote_code_options("mispeech/ced-base", COMMIT) == (COMMIT, True)
    with pytest.raises(UntrustedRemoteCode, match="allowed for it"):
        remote_code_options("mispeech/ced-base", OTHER)  # a commit nobody audited
    assert remote_code_options("mispeech/ced-base", "main", requested=False) == ("main", False)


def test_malformed_pairs_name_the_variable(monkeypatch):
    monkeypatch.setenv(TRUSTED_REMOTE_CODE_ENV, "mispeech/ced-base@main")
    with pytest.raises(ValueError, match=TRUSTED_REMOTE_CODE_ENV):
        trusted_models.trusted_pairs()


def custom_code_folder(folder, auto_map=AUTO_MAP):
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "ced", "auto_map": auto_map}))
    (folder / "modeling_ced.py").write_text("raise SystemExit('never imported by these tests')\n")
    return folder


def record_download(folder, commit):
    """What ``hf download --local-dir`` writes beside each file."""
    for name in ("config.json", "modeling_ced.py"):
        record = folder / ".cache" / "huggingface" / "download" / f"{name}.metadata"
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(f"{commit}\netag\n{time.time() + 5}\n")


def test_local_folders_need_a_recorded_allowlisted_commit(tmp_path, monkeypatch):
    folder = custom_code_folder(tmp_path / "ced")
    with pytest.raises(UntrustedRemoteCode, match="no allowlisted commit"):
        remote_code_options(str(folder))
    with pytest.raises(UntrustedRemoteCode):  # the tagger refuses before transformers runs anything
        HubAudioTagger.from_pretrained(folder, trust_remote_code=True)
    record_download(folder, COMMIT)
    assert trusted_models.recorded_commit(folder) == COMMIT
    with pytest.raises(UntrustedRemoteCode):
        remote_code_options(str(folder))
    monkeypatch.setenv(TRUSTED_REMOTE_CODE_ENV, f"mispeech/ced-base@{COMMIT}")
    assert remote_code_options(str(folder), "main") == ("main", True)
    later = time.time() + 60  # the code was edited after the download
    os.utime(folder / "modeling_ced.py", (later, later))
    assert trusted_models.recorded_commit(folder) is None
    with pytest.raises(UntrustedRemoteCode):
        remote_code_options(str(folder))
    # a saved checkpoint folder is vouched for by the (model, revision) its run config recorded
    assert remote_code_options(str(folder), recorded=("mispeech/ced-base", COMMIT)) == (None, True)
    with pytest.raises(UntrustedRemoteCode):
        remote_code_options(str(folder), recorded=("mispeech/ced-base", OTHER))


def test_code_from_another_repository_is_refused(tmp_path, monkeypatch):
    folder = custom_code_folder(tmp_path / "ced", {"AutoModel": "someone/else--modeling.Model"})
    record_download(folder, COMMIT)
    monkeypatch.setenv(TRUSTED_REMOTE_CODE_ENV, f"mispeech/ced-base@{COMMIT}")
    with pytest.raises(UntrustedRemoteCode, match="another repository"):
        remote_code_options(str(folder))


def test_models_without_their_own_code_load_without_remote_code(tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "audio-spectrogram-transformer"}))
    assert remote_code_options(str(folder), None, True) == (None, False)
    # a hub model neither reachable nor cached: loading (without remote code) says why
    assert remote_code_options("acav-assets-test/not-a-cached-model", "main", True) == ("main", False)
