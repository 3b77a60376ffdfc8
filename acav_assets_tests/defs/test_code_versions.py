"""Code versions: every asset has one, and a new threshold, model or prompt changes exactly the
assets it affects."""

import dagster as dg

from acav_assets.defs import code_versions
from acav_assets.defs.code_versions import code_version, source_digest
from acav_assets.defs.resources import (
    AcavSettings,
    CaptionLlmResource,
    LalmResource,
    SpeechModelsResource,
    TaggerResource,
)


def _resources(**changes):
    resources = {"settings": AcavSettings(), "tagger": TaggerResource(), "speech_models": SpeechModelsResource(),
                 "lalm": LalmResource(), "caption_llm": CaptionLlmResource()}
    resources.update(changes)
    return resources


def _versions(resources):
    return {name: code_version(name, resources) for name in code_versions.CODE}


def test_every_asset_has_a_code_version():
    from acav_assets.definitions import ASSETS

    missing = [key.to_user_string() for asset in ASSETS for key in asset.keys
               if not asset.code_versions_by_key.get(key)]
    assert missing == []


def test_a_setting_changes_only_the_assets_it_affects():
    before = _versions(_resources())
    assert before == _versions(_resources())  # deterministic
    changed = {
        "routing": _versions(_resources(settings=AcavSettings(music_threshold=0.4))),
        "tags": _versions(_resources(tagger=TaggerResource(model="org/other-tagger"))),
        "speech": _versions(_resources(speech_models=SpeechModelsResource(asr_model="large-v3"))),
    }
    assert {n for n in before if changed["routing"][n] != before[n]} == {"routing"}
    assert {n for n in before if changed["tags"][n] != before[n]} == {"tags"}
    assert {n for n in before if changed["speech"][n] != before[n]} == {"speech", "music"}


def test_a_new_prompt_version_changes_the_captions(monkeypatch):
    before = _versions(_resources())
    monkeypatch.setattr("acav_assets.captions.prompt.PROMPT_VERSION", "caption-v2")
    after = _versions(_resources())
    assert {n for n in before if after[n] != before[n]} == {"captions"}


def test_source_digest_follows_the_code(tmp_path, monkeypatch):
    package = tmp_path / "versioned_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "core.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = source_digest("versioned_pkg")
    (package / "core.py").write_text("X = 2\n")
    assert source_digest("versioned_pkg") != first


def test_versions_reach_the_definitions():
    from acav_assets.definitions import ASSETS

    asset = next(a for a in ASSETS if dg.AssetKey("routing") in a.keys)
    assert asset.code_versions_by_key[dg.AssetKey("routing")] == code_version("routing", _resources(
        settings=AcavSettings.from_env(), tagger=TaggerResource.from_env(),
        speech_models=SpeechModelsResource.from_env(), lalm=LalmResource.from_env(),
        caption_llm=CaptionLlmResource.from_env()))
