"""Settings that start programs or choose where requests and keys go come from the environment
only: no run config can set them."""

import pytest

from acav_assets.defs.resources import (
    AcavSettings,
    CaptionLlmResource,
    LalmResource,
    launcher_command,
)


def test_security_sensitive_settings_are_not_config_fields():
    assert "training_launcher" not in AcavSettings.model_fields
    for resource in (CaptionLlmResource, LalmResource):
        assert not {"base_url", "api_key_env", "api_key"} & set(resource.model_fields)


def test_endpoints_come_from_the_environment(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert not CaptionLlmResource(model="m").enabled
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    settings = CaptionLlmResource(model="m").settings()
    assert settings.base_url == "http://127.0.0.1:9/v1" and settings.api_key == "sk-test"
    monkeypatch.setenv("ACAV_LALM_BASE_URL", "http://127.0.0.1:9/v1")
    assert LalmResource().enabled and LalmResource().load().config.base_url == "http://127.0.0.1:9/v1"


def test_only_known_launchers_start_and_never_through_a_shell(monkeypatch):
    assert launcher_command("accelerate launch --num_processes 8") == ["accelerate", "launch", "--num_processes", "8"]
    assert launcher_command("") == []
    for hostile in ("bash -c 'curl x | sh'", "rm -rf /", "/usr/bin/env python"):
        with pytest.raises(ValueError, match="allowed: python"):
            launcher_command(hostile)
    monkeypatch.setenv("ACAV_TRAINING_LAUNCHER", "sh -c true")
    with pytest.raises(ValueError, match="starts 'sh'"):
        AcavSettings().training_launcher
