"""The LALM baseline against a real local HTTP server speaking the chat-completions protocol."""

from __future__ import annotations

import base64
import functools
import io
import json
import logging
import socket
import time
import wave
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pytest

pytest.importorskip("openai")

from acav_assets.experts.lalm_description import (  # noqa: E402
    LALM_FIELDS,
    LalmConfig,
    LalmDescriber,
    encode_wav,
    strip_reasoning,
)
from acav_assets_tests import fake_openai  # noqa: E402

KEY = "sk-test-5e3c7a1b9d-do-not-leak"
MODEL = "Qwen/Qwen2-Audio-7B-Instruct"
RATE = 16_000


# The shared fake endpoint; a reply here is a plain-text description unless a test says otherwise.
Reply = functools.partial(fake_openai.Reply, content="A dog barks twice while rain falls on a roof.",
                          usage={"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20})


class FakeServer(fake_openai.FakeOpenAI):
    """The shared fake endpoint with this module's default reply and LALM settings."""

    def __init__(self) -> None:
        super().__init__(model=MODEL, script=[Reply()])

    def config(self, **overrides: object) -> LalmConfig:
        settings: dict = dict(
            base_url=self.base_url, model=MODEL, api_key=KEY, timeout_s=2.0, max_retries=3,
            backoff_base_s=0.001, backoff_max_s=0.05,
        )
        settings.update(overrides)
        return LalmConfig(**settings)



@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


def clip(seconds: float = 1.25) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_request_carries_model_audio_prompt_and_key(server: FakeServer) -> None:
    audio = clip(1.25)
    row = LalmDescriber(server.config(prompt="What do you hear?", max_tokens=64)).describe(audio, RATE)
    assert row == {
        "lalm_description": "A dog barks twice while rain falls on a roof.",
        "lalm_model": MODEL,
        "lalm_status": "ok",
        "lalm_error": None,
        "lalm_attempts": 1,
    }
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    body = request["json"]
    assert body["model"] == MODEL and body["max_tokens"] == 64 and body["temperature"] == 0.0
    (message,) = body["messages"]
    assert message["role"] == "user"
    audio_part, text_part = message["content"]
    assert text_part == {"type": "text", "text": "What do you hear?"}
    assert audio_part["type"] == "input_audio" and audio_part["input_audio"]["format"] == "wav"
    with wave.open(io.BytesIO(base64.b64decode(audio_part["input_audio"]["data"]))) as wav:
        assert wav.getframerate() == RATE
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
        assert wav.getnframes() == len(audio)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    np.testing.assert_allclose(pcm / 32767.0, audio, atol=1e-4)


def test_missing_key_sends_placeholder(server: FakeServer) -> None:
    row = LalmDescriber(server.config(api_key=None)).describe(clip(0.1))
    assert row["lalm_status"] == "ok"
    assert server.requests[0]["headers"]["authorization"] == "Bearer EMPTY"


def test_server_error_then_success_is_retried(server: FakeServer) -> None:
    server.script = [Reply(status=500), Reply()]
    row = LalmDescriber(server.config()).describe(clip(0.1))
    assert row["lalm_status"] == "ok" and row["lalm_attempts"] == 2 and row["lalm_error"] is None
    assert len(server.requests) == 2


def test_rate_limit_honours_retry_after(server: FakeServer) -> None:
    server.script = [Reply(status=429, headers={"Retry-After": "0.3"}), Reply()]
    started = time.monotonic()
    row = LalmDescriber(server.config(backoff_max_s=5.0)).describe(clip(0.1))
    assert row["lalm_status"] == "ok" and row["lalm_attempts"] == 2
    assert time.monotonic() - started >= 0.3  # the server's wait, not the 1 ms backoff


def test_retry_after_is_capped(server: FakeServer) -> None:
    server.script = [Reply(status=429, headers={"Retry-After": "3600"}), Reply()]
    started = time.monotonic()
    row = LalmDescriber(server.config(backoff_max_s=0.05)).describe(clip(0.1))
    assert row["lalm_status"] == "ok" and time.monotonic() - started < 2.0


def test_persistent_server_error_gives_up_after_max_retries(server: FakeServer) -> None:
    server.script = [Reply(status=503)]
    row = LalmDescriber(server.config(max_retries=2)).describe(clip(0.1))
    assert row["lalm_status"] == "error" and row["lalm_description"] is None
    assert row["lalm_attempts"] == 3 and len(server.requests) == 3
    assert "HTTP 503" in row["lalm_error"] and "after 3 attempts" in row["lalm_error"]


def test_client_error_is_not_retried(server: FakeServer) -> None:
    server.script = [Reply(status=400)]
    row = LalmDescriber(server.config()).describe(clip(0.1))
    assert row["lalm_status"] == "error" and row["lalm_attempts"] == 1 and len(server.requests) == 1
    assert row["lalm_error"].startswith("HTTP 400")


def test_slow_reply_times_out(server: FakeServer) -> None:
    server.script = [Reply(delay_s=1.0)]
    started = time.monotonic()
    row = LalmDescriber(server.config(timeout_s=0.2, max_retries=1)).describe(clip(0.1))
    assert row["lalm_status"] == "error" and row["lalm_attempts"] == 2
    assert "timeout" in row["lalm_error"]
    assert time.monotonic() - started < 1.5


def test_connection_refused_is_an_error_not_an_exception() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = LalmConfig(base_url=f"http://127.0.0.1:{port}/v1", model=MODEL, timeout_s=1.0,
                        max_retries=1, backoff_base_s=0.001)
    row = LalmDescriber(config).describe(clip(0.1))
    assert row["lalm_status"] == "error" and row["lalm_attempts"] == 2
    assert "connection error" in row["lalm_error"]


def test_empty_content_is_an_error(server: FakeServer) -> None:
    for content in ("", "   ", None, "<think>only reasoning, cut off by max_tok"):
        server.script = [Reply(content=content)]
        server.requests.clear()
        row = LalmDescriber(server.config()).describe(clip(0.1))
        assert row["lalm_status"] == "error" and "empty reply" in row["lalm_error"], content
        assert row["lalm_attempts"] == 1 and row["lalm_description"] is None


def test_malformed_reply_is_an_error(server: FakeServer) -> None:
    server.script = [Reply(body={"object": "chat.completion", "choices": []})]
    row = LalmDescriber(server.config()).describe(clip(0.1))
    assert row["lalm_status"] == "error" and "malformed" in row["lalm_error"]


def test_think_block_stripped(server: FakeServer) -> None:
    server.script = [Reply(content="<think>\nIt sounds like rain... maybe a dog.\n</think>\n\nRain and a barking dog.")]
    row = LalmDescriber(server.config()).describe(clip(0.1))
    assert row["lalm_description"] == "Rain and a barking dog."
    assert strip_reasoning("reasoning opened by the template</think> Birdsong.") == "Birdsong."
    assert strip_reasoning("Plain answer.") == "Plain answer."
    assert strip_reasoning("<THINK>x</THINK>A <think>y</think>B") == "A B"


def test_bad_audio_is_an_error_without_a_request(server: FakeServer) -> None:
    describer = LalmDescriber(server.config())
    assert describer.describe(np.zeros(0, dtype=np.float32))["lalm_error"] == "cannot encode audio: empty audio"
    assert describer.describe(np.zeros((2, 2, 2)))["lalm_status"] == "error"
    assert server.requests == []


def test_encode_wav_clips_and_cleans() -> None:
    data = encode_wav(np.array([0.0, 2.0, -2.0, np.nan, np.inf]), 8000)
    with wave.open(io.BytesIO(data)) as wav:
        assert wav.getframerate() == 8000
        assert np.frombuffer(wav.readframes(5), dtype="<i2").tolist() == [0, 32767, -32767, 0, 32767]
    with pytest.raises(ValueError):
        encode_wav(np.zeros(4), 0)


def test_api_key_never_leaks(server: FakeServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # a server that echoes the caller's headers back in its error message
    echo = {"error": {"message": f"bad request from Authorization: Bearer {KEY}", "type": "invalid_request_error"}}
    server.script = [Reply(status=500), Reply(status=400, body=echo)]
    config = server.config()
    describer = LalmDescriber(config)
    row = describer.describe(clip(0.1))
    assert row["lalm_status"] == "error" and row["lalm_attempts"] == 2
    assert "***" in row["lalm_error"]
    assert server.requests[0]["headers"]["authorization"] == f"Bearer {KEY}"  # it was sent
    for text in (repr(config), str(config), repr(describer), repr(row), json.dumps(row), caplog.text):
        assert KEY not in text
    assert "retrying" in caplog.text  # the retry was logged, without the key


def test_config_validation_and_fields() -> None:
    with pytest.raises(ValueError):
        LalmConfig(base_url="", model=MODEL)
    with pytest.raises(ValueError):
        LalmConfig(base_url="http://x/v1", model=MODEL, max_retries=-1)
    assert [f.name for f in LALM_FIELDS] == [
        "lalm_description", "lalm_model", "lalm_status", "lalm_error", "lalm_attempts",
    ]
    row = {"lalm_description": None, "lalm_model": MODEL, "lalm_status": "error", "lalm_error": "x",
           "lalm_attempts": 1}
    assert pa.Table.from_pylist([row], schema=pa.schema(LALM_FIELDS)).num_rows == 1
