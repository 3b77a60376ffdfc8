"""How a failed request to an OpenAI-compatible endpoint is classified, and the endpoint's host."""

from __future__ import annotations

import json

import pytest

from acav_assets.io.openai_endpoint import OpenAIEndpoint
from acav_assets.io.request_retries import classify_request_error

openai = pytest.importorskip("openai")


def status_error(status: int, headers: dict | None = None) -> Exception:
    """The ``openai`` client's error for an HTTP ``status`` reply."""
    try:
        import httpx2 as httpx  # the HTTP library of this openai release
    except ImportError:
        import httpx
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(status, request=request, headers=headers or {})
    return openai.APIStatusError(f"status {status}", response=response, body=None)


@pytest.mark.parametrize(("error", "retryable", "transport", "systemic"), [
    (TimeoutError(), True, True, False),
    (ConnectionResetError(), True, True, False),
    (json.JSONDecodeError("Expecting value", "<html>", 0), True, False, False),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), True, False, False),
    (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), False, False, False),
    (KeyError("bug"), False, False, False),
])
def test_plain_errors(error, retryable, transport, systemic):
    failure = classify_request_error(error, 5.0)
    assert (failure.retryable, failure.transport, failure.systemic) == (retryable, transport, systemic)
    assert failure.reason


@pytest.mark.parametrize(("status", "retryable", "transport", "systemic"), [
    (500, True, True, False), (502, True, True, False), (503, True, True, False), (429, True, True, False),
    (408, True, True, False), (400, False, False, False), (422, False, False, False),
    (401, False, False, True), (403, False, False, True), (404, False, False, True),
])
def test_status_errors(status, retryable, transport, systemic):
    failure = classify_request_error(status_error(status, {"Retry-After": "2"}), 5.0)
    assert (failure.retryable, failure.transport, failure.systemic) == (retryable, transport, systemic)
    assert failure.reason.startswith(f"HTTP {status}")
    assert failure.retry_after_s == (2.0 if retryable else None)


def test_endpoint_host_hides_credentials():
    assert OpenAIEndpoint("http://user:secret@llm.local:8000/v1", "m").host == "llm.local:8000"
    assert OpenAIEndpoint("https://api.example.org/v1", "m").host == "api.example.org"
    assert OpenAIEndpoint("not a url", "m").host == "(no host)"
