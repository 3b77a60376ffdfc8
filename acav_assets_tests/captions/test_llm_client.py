"""The LLM request layer against a real local HTTP server speaking the chat-completions protocol."""

from __future__ import annotations

import functools
import json
import logging
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import fsspec
import pytest

pytest.importorskip("openai")

from acav_assets.captions.llm_client import (  # noqa: E402
    CONTENT_FILTERED,
    EMPTY_CHOICES,
    LlmOutcome,
    LlmSettings,
    ReplyCache,
    request_hash,
    run_requests,
    totals,
)
from acav_assets.contracts.failures import EndpointUnreachable  # noqa: E402
from acav_assets_tests import fake_openai  # noqa: E402

KEY = "sk-test-7f41c2e9aa-do-not-leak"
MODEL = "Qwen/Qwen3-8B"
GOOD = '{"caption": "A dog barks twice while rain falls on a roof."}'


# The shared fake endpoint; a reply here is a JSON caption unless a test says otherwise.
Reply = functools.partial(fake_openai.Reply, content=GOOD)


class FakeServer(fake_openai.FakeOpenAI):
    """The shared fake endpoint with this module's default reply and client settings."""

    def __init__(self) -> None:
        super().__init__(model=MODEL, script=[Reply()])

    def settings(self, **overrides: object) -> LlmSettings:
        values: dict = dict(
            base_url=self.base_url, model=MODEL, api_key=KEY, timeout_s=2.0, max_retries=2, max_repairs=2,
            concurrency=4, backoff_base_s=0.001, backoff_max_s=0.05, temperature=0.6, max_tokens=256,
        )
        values.update(overrides)
        return LlmSettings(**values)



@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


# --- the caller's callbacks, as simple fakes -------------------------------------------------------

def parse(answer: str) -> dict:
    """Strict: a JSON object with a non-empty string caption (json.JSONDecodeError is a ValueError)."""
    value = json.loads(answer)
    if not isinstance(value, dict) or not isinstance(value.get("caption"), str) or not value["caption"]:
        raise ValueError("expected an object with a non-empty 'caption'")
    return value


def repair(messages: list[dict], answer: str, error: str) -> list[dict]:
    return [*messages, {"role": "assistant", "content": answer},
            {"role": "user", "content": f"Your reply was invalid: {error}. Reply with the JSON object only."}]


_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL)


def split_reasoning(content: str | None, reasoning: str | None) -> tuple[str, str | None]:
    content = content or ""
    found = _THINK.search(content)
    if found:
        return _THINK.sub("", content).strip(), found.group(1).strip()
    return content.strip(), reasoning


def messages(text: str = "Describe clip 1.") -> list[dict]:
    return [{"role": "system", "content": "You write audio captions as JSON."}, {"role": "user", "content": text}]


def run(server: FakeServer, items: list[tuple[str, list[dict]]] | None = None, settings: LlmSettings | None = None,
        prompt_version: str = "v1", **kwargs: object) -> list[LlmOutcome]:
    items = items if items is not None else [("clip-1", messages())]
    return run_requests(items, settings or server.settings(), prompt_version, parse, repair, split_reasoning,
                        **kwargs)


# --- replies and repairs ----------------------------------------------------------------------------

def test_good_reply(server: FakeServer) -> None:
    settings = server.settings(extra_params={"response_format": {"type": "json_object"}, "top_p": 0.9})
    (out,) = run(server, settings=settings)
    assert out == LlmOutcome(
        key="clip-1", status="ok", value=json.loads(GOOD), error=None, raw_reply=GOOD, reasoning=None,
        prompt_tokens=11, completion_tokens=7, requests=1, cache_hit=False,
    )
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    body = request["json"]
    assert body["model"] == MODEL and body["messages"] == messages()
    assert body["temperature"] == 0.6 and body["max_tokens"] == 256
    assert body["response_format"] == {"type": "json_object"} and body["top_p"] == 0.9


def test_missing_key_sends_placeholder(server: FakeServer) -> None:
    (out,) = run(server, settings=server.settings(api_key=None))
    assert out.status == "ok"
    assert server.requests[0]["headers"]["authorization"] == "Bearer EMPTY"


def test_think_block_is_split_from_the_answer(server: FakeServer) -> None:
    server.script = [Reply(content=f"<think>\nRain, and a dog... JSON it is.\n</think>\n\n{GOOD}")]
    (out,) = run(server)
    assert out.status == "ok" and out.value == json.loads(GOOD)
    assert out.raw_reply == GOOD and out.reasoning == "Rain, and a dog... JSON it is."


def test_reasoning_content_field_is_passed_on(server: FakeServer) -> None:
    server.script = [Reply(content=GOOD, reasoning_content="The clip has rain and barking.")]
    (out,) = run(server)
    assert out.status == "ok" and out.value == json.loads(GOOD)
    assert out.reasoning == "The clip has rain and barking."


def test_invalid_then_repaired(server: FakeServer) -> None:
    server.script = [Reply(content='{"caption": "A dog barks'), Reply()]
    (out,) = run(server)
    assert out.status == "ok" and out.value == json.loads(GOOD) and out.error is None
    assert out.requests == 2 and len(server.requests) == 2
    assert (out.prompt_tokens, out.completion_tokens) == (22, 14)  # both requests counted
    repair_messages = server.requests[1]["json"]["messages"]
    assert repair_messages[:2] == messages()  # the original conversation, then the repair
    assert repair_messages[2] == {"role": "assistant", "content": '{"caption": "A dog barks'}
    assert "Unterminated string" in repair_messages[3]["content"]  # the parse error's text


def test_always_invalid_gives_up_after_max_repairs(server: FakeServer) -> None:
    server.script = [Reply(content='{"caption": ""}')]
    (out,) = run(server, settings=server.settings(max_repairs=2))
    assert out.status == "error" and out.value is None
    assert out.requests == 3 and len(server.requests) == 3
    assert out.error == "invalid reply (after 3 answers): expected an object with a non-empty 'caption'"
    assert out.raw_reply == '{"caption": ""}'
    assert len(server.requests[2]["json"]["messages"]) == 6  # repairs chain on the conversation


def test_no_repairs_means_one_request(server: FakeServer) -> None:
    server.script = [Reply(content="not json")]
    (out,) = run(server, settings=server.settings(max_repairs=0))
    assert out.status == "error" and out.requests == 1 and out.error.startswith("invalid reply: ")


def test_truncated_reply_is_invalid(server: FakeServer) -> None:
    server.script = [Reply(content='{"caption": "A dog', finish_reason="length")]
    (out,) = run(server, settings=server.settings(max_repairs=0))
    assert out.status == "error" and out.requests == 1
    assert "truncated" in out.error and "max_tokens=256" in out.error
    assert out.raw_reply == '{"caption": "A dog'


def test_truncated_reply_even_if_it_parses_is_repaired(server: FakeServer) -> None:
    server.script = [Reply(finish_reason="length"), Reply()]
    (out,) = run(server)
    assert out.status == "ok" and out.requests == 2
    assert "truncated" in server.requests[1]["json"]["messages"][-1]["content"]


def test_empty_answer_after_reasoning_is_invalid(server: FakeServer) -> None:
    server.script = [Reply(content="<think>only reasoning</think>")]
    (out,) = run(server, settings=server.settings(max_repairs=0))
    assert out.status == "error" and "empty reply" in out.error and out.reasoning == "only reasoning"


def test_empty_choices_are_retried_then_an_error(server: FakeServer) -> None:
    server.script = [Reply(body={"object": "chat.completion", "choices": []})]
    (out,) = run(server, settings=server.settings(max_retries=2))
    assert out.status == "error" and out.error.startswith(EMPTY_CHOICES) and out.requests == 3
    server.script = [Reply(body={"object": "chat.completion", "choices": []}), Reply()]
    (out,) = run(server)
    assert out.status == "ok" and out.requests == 2


def test_missing_choices_are_retried_then_an_error(server: FakeServer) -> None:
    server.script = [Reply(body={"object": "chat.completion"})]
    (out,) = run(server, settings=server.settings(max_retries=1))
    assert out.status == "error" and "malformed" in out.error and out.requests == 2


def test_content_filter_is_its_own_reason_and_not_retried(server: FakeServer) -> None:
    server.script = [Reply(content="", finish_reason="content_filter")]
    (out,) = run(server)
    assert out.status == "error" and out.error == CONTENT_FILTERED and out.requests == 1


def test_callback_bugs_are_item_errors(server: FakeServer) -> None:
    def broken_parse(answer: str) -> None:
        raise KeyError("bug")

    (out,) = run_requests([("a", messages())], server.settings(), "v1", broken_parse, repair, split_reasoning)
    assert out.status == "error" and out.requests == 1 and "KeyError" in out.error  # no repair for a bug
    assert out.raw_reply == GOOD

    def broken_repair(messages: list[dict], answer: str, error: str) -> list[dict]:
        raise RuntimeError("no repair")

    server.script = [Reply(content="nope")]
    (out,) = run_requests([("a", messages())], server.settings(), "v1", parse, broken_repair, split_reasoning)
    assert out.status == "error" and "RuntimeError: no repair" in out.error and out.raw_reply == "nope"


# --- transport ----------------------------------------------------------------------------------------

def test_rate_limit_honours_retry_after(server: FakeServer) -> None:
    server.script = [Reply(status=429, headers={"Retry-After": "0.3"}), Reply()]
    started = time.monotonic()
    (out,) = run(server, settings=server.settings(backoff_max_s=5.0))
    assert out.status == "ok" and out.requests == 2
    assert time.monotonic() - started >= 0.3  # the server's wait, not the 1 ms backoff


def test_retry_after_is_capped(server: FakeServer) -> None:
    server.script = [Reply(status=429, headers={"Retry-After": "3600"}), Reply()]
    started = time.monotonic()
    (out,) = run(server, settings=server.settings(backoff_max_s=0.05))
    assert out.status == "ok" and time.monotonic() - started < 2.0


def test_server_errors_then_success(server: FakeServer) -> None:
    server.script = [Reply(status=500), Reply(status=500), Reply()]
    (out,) = run(server, settings=server.settings(max_retries=2))
    assert out.status == "ok" and out.requests == 3 and len(server.requests) == 3
    assert (out.prompt_tokens, out.completion_tokens) == (11, 7)  # failed requests report no usage


def test_persistent_server_error_on_one_clip_gives_up(server: FakeServer) -> None:
    server.respond = lambda body: Reply(status=500) if "poison" in body["messages"][1]["content"] else Reply()
    items = [("poison", messages("poison")), ("a", messages("a")), ("b", messages("b"))]
    out = run(server, items, settings=server.settings(max_retries=2))
    assert [o.status for o in out] == ["error", "ok", "ok"]  # one clip's failure is not an outage
    assert out[0].value is None and out[0].raw_reply is None and out[0].requests == 3
    assert "HTTP 500" in out[0].error and "after 3 attempts" in out[0].error


def test_persistent_server_error_everywhere_is_systemic(server: FakeServer, tmp_path: Path) -> None:
    server.script = [Reply(status=503)]
    items = [(f"c{i}", messages(f"c{i}")) for i in range(10)]
    with pytest.raises(EndpointUnreachable) as raised:
        run(server, items, settings=server.settings(max_retries=1, concurrency=2), cache=ReplyCache(str(tmp_path)))
    text = str(raised.value)
    assert "127.0.0.1" in text and "HTTP 503" in text and "requests failed" in text and KEY not in text
    assert len(server.requests) <= 4 * 2  # the breaker stopped it: 3 items lost, one more in flight


def test_retries_are_per_request_and_keep_the_last_reply(server: FakeServer) -> None:
    server.script = [Reply(content="bad"), Reply(status=503)]
    (out,) = run(server, settings=server.settings(max_retries=1, max_repairs=1))
    assert out.status == "error" and "HTTP 503" in out.error
    assert out.requests == 3 and out.raw_reply == "bad"  # 1 answer + (1 try + 1 retry) for the repair


def test_timeout(server: FakeServer) -> None:
    server.respond = lambda body: Reply(delay_s=1.0 if "slow" in body["messages"][1]["content"] else 0.0)
    started = time.monotonic()
    out = run(server, [("slow", messages("slow")), ("fast", messages("fast"))],
              settings=server.settings(timeout_s=0.2, max_retries=1))
    assert [o.status for o in out] == ["error", "ok"] and out[0].requests == 2
    assert "timeout" in out[0].error
    assert time.monotonic() - started < 1.5


def test_timeout_everywhere_is_systemic(server: FakeServer) -> None:
    server.script = [Reply(delay_s=1.0)]
    with pytest.raises(EndpointUnreachable, match="timeout after 0.2 s"):
        run(server, settings=server.settings(timeout_s=0.2, max_retries=1))


@pytest.mark.parametrize("status", [401, 403, 404])
def test_refused_configuration_is_systemic(server: FakeServer, status: int) -> None:
    server.script = [Reply(status=status)]
    items = [(f"c{i}", messages(f"c{i}")) for i in range(6)]
    with pytest.raises(EndpointUnreachable, match=f"refuses the configuration: HTTP {status}"):
        run(server, items, settings=server.settings(concurrency=1))
    assert len(server.requests) == 1  # not retried, and nothing more was sent


def test_clip_deadline_stops_repairs_and_retries(server: FakeServer) -> None:
    server.script = [Reply(content="never valid", delay_s=0.3)]
    started = time.monotonic()
    (out,) = run(server, settings=server.settings(max_repairs=20, clip_deadline_s=0.5))
    assert out.status == "error" and out.error.startswith("deadline") and 1 <= out.requests <= 2
    server.script = [Reply(delay_s=5.0)]  # a hang: the request's own timeout is cut to the deadline
    out = run(server, [("hang", messages("hang"))], settings=server.settings(timeout_s=5.0, clip_deadline_s=0.4))
    assert out[0].status == "error" and out[0].error.startswith("deadline") and out[0].requests == 1
    assert time.monotonic() - started < 2.5


def test_client_error_is_not_retried(server: FakeServer) -> None:
    server.script = [Reply(status=400)]
    (out,) = run(server)
    assert out.status == "error" and out.requests == 1 and len(server.requests) == 1
    assert out.error.startswith("HTTP 400")


def test_connection_refused_is_systemic(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = LlmSettings(base_url=f"http://user:pw@127.0.0.1:{port}/v1", model=MODEL, timeout_s=1.0,
                           max_retries=1, backoff_base_s=0.001, concurrency=1)
    items = [(f"c{i}", messages(f"c{i}")) for i in range(5)]
    with pytest.raises(EndpointUnreachable) as raised:
        run_requests(items, settings, "v1", parse, repair, split_reasoning, cache=ReplyCache(str(tmp_path)))
    text = str(raised.value)
    assert f"127.0.0.1:{port}" in text and "connection error" in text and "pw" not in text
    assert "6 requests failed, 3 items were lost to it and 2 not sent" in text  # the breaker tripped after 3


# --- the cache ------------------------------------------------------------------------------------------

def test_second_run_is_served_from_the_cache(server: FakeServer, tmp_path: Path) -> None:
    cache = ReplyCache(str(tmp_path / "replies"))
    server.script = [Reply(content=f"<think>hmm</think>{GOOD}")]
    items = [(f"clip-{i}", messages(f"Describe clip {i}.")) for i in range(3)]
    first = run(server, items, cache=cache)
    assert [o.cache_hit for o in first] == [False] * 3 and len(server.requests) == 3
    second = run(server, items, cache=cache)
    assert len(server.requests) == 3  # zero new requests
    assert [o.value for o in second] == [o.value for o in first]
    assert all(o.cache_hit and o.status == "ok" and o.requests == 0 and o.prompt_tokens == 0 for o in second)
    assert second[0].raw_reply == GOOD and second[0].reasoning == "hmm"
    assert totals(second)["cache_hits"] == 3 and totals(second)["requests"] == 0

    h = request_hash(MODEL, "v1", items[0][1], server.settings().cache_params())
    stored = {"reply": GOOD, "reasoning": "hmm", "prompt_tokens": 11, "completion_tokens": 7,
              "finish_reason": "stop", "model": MODEL}
    assert cache.get(h) == stored and ReplyCache(str(tmp_path / "replies")).get(h) == stored  # committed
    assert not list(tmp_path.rglob("*.json"))  # one store, not a file per reply


def test_cache_key_is_the_original_messages(server: FakeServer, tmp_path: Path) -> None:
    cache = ReplyCache(str(tmp_path))
    server.script = [Reply(content="oops"), Reply()]
    (first,) = run(server, cache=cache)
    assert first.status == "ok" and first.requests == 2
    (second,) = run(server, cache=cache)
    assert second.cache_hit and len(server.requests) == 2


def test_changed_settings_or_prompt_version_miss_the_cache(server: FakeServer, tmp_path: Path) -> None:
    cache = ReplyCache(str(tmp_path))
    base = server.settings()
    run(server, settings=base, cache=cache)
    assert len(server.requests) == 1
    for settings, version in [
        (replace(base, temperature=0.7), "v1"),
        (base, "v2"),
        (replace(base, max_tokens=512), "v1"),
        (replace(base, extra_params={"top_p": 0.5}), "v1"),
        (replace(base, model="other-model"), "v1"),
    ]:
        before = len(server.requests)
        (out,) = run(server, settings=settings, prompt_version=version, cache=cache)
        assert not out.cache_hit and len(server.requests) == before + 1, (settings, version)
    # things that do not change the reply do not change the key
    (out,) = run(server, settings=replace(base, max_retries=0, concurrency=1, timeout_s=5.0, api_key="x"), cache=cache)
    assert out.cache_hit


def test_cached_reply_that_no_longer_parses_is_requested_again(server: FakeServer, tmp_path: Path) -> None:
    cache = ReplyCache(str(tmp_path))
    h = request_hash(MODEL, "v1", messages(), server.settings().cache_params())
    cache.put(h, {"reply": "stale, not JSON", "reasoning": None})
    (out,) = run(server, cache=cache)
    assert out.status == "ok" and not out.cache_hit and len(server.requests) == 1
    assert cache.get(h)["reply"] == GOOD  # overwritten with the valid reply


def test_failures_are_not_cached(server: FakeServer, tmp_path: Path) -> None:
    cache = ReplyCache(str(tmp_path))
    server.script = [Reply(content="never valid")]
    (out,) = run(server, settings=server.settings(max_repairs=0), cache=cache)
    assert out.status == "error" and len(server.requests) == 1
    assert len(cache) == 0 and cache.get(request_hash(MODEL, "v1", messages(), server.settings().cache_params())) is None


def test_reply_cache_roundtrip_and_bad_entries(tmp_path: Path) -> None:
    h = request_hash(MODEL, "v1", messages(), {"temperature": 0.6})
    for root in (str(tmp_path / "c"), f"file://{tmp_path}/d", "memory://acav-llm-cache-test"):
        cache = ReplyCache(root + "/")
        assert cache.get(h) is None
        cache.put(h, {"reply": "é ü", "n": 1})
        assert cache.get(h) == {"reply": "é ü", "n": 1}
        with pytest.raises(ValueError):
            cache.get("../../etc/passwd")
        with pytest.raises(ValueError):
            cache.put("../../etc/passwd", {"reply": "x"})
    assert type(ReplyCache(str(tmp_path / "c")).backend).__name__ == "ReplyStore"
    assert (tmp_path / "d" / "replies.sqlite3").is_file()
    files = ReplyCache("memory://acav-llm-cache-test").backend  # an object store keeps a file per reply
    assert files.url(h) == f"memory://acav-llm-cache-test/{h[:2]}/{h}.json"
    fs, path = fsspec.core.url_to_fs(files.url(h))
    fs.pipe(path, b"{ truncated")
    assert files.get(h) is None


def test_request_hash_is_canonical() -> None:
    a = request_hash(MODEL, "v1", [{"role": "user", "content": "x"}], {"temperature": 0.6, "max_tokens": 5})
    b = request_hash(MODEL, "v1", [{"content": "x", "role": "user"}], {"max_tokens": 5, "temperature": 0.6})
    assert a == b and re.fullmatch(r"[0-9a-f]{64}", a)
    assert a != request_hash(MODEL, "v1", [{"role": "user", "content": "y"}], {"temperature": 0.6, "max_tokens": 5})
    assert a != request_hash(MODEL, "v2", [{"role": "user", "content": "x"}], {"temperature": 0.6, "max_tokens": 5})
    assert LlmSettings("http://x/v1", MODEL, temperature=1).cache_params() == \
        LlmSettings("http://x/v1", MODEL, temperature=1.0).cache_params()


# --- batches ----------------------------------------------------------------------------------------------

def test_concurrency_is_bounded_and_order_kept(server: FakeServer) -> None:
    server.respond = lambda body: Reply(content=json.dumps({"caption": body["messages"][-1]["content"]}), delay_s=0.2)
    items = [(f"clip-{i:02d}", messages(f"clip {i}")) for i in range(16)]
    seen: list[tuple[int, int]] = []
    out = run(server, items, settings=server.settings(concurrency=8), progress=lambda d, t: seen.append((d, t)))
    assert [o.key for o in out] == [k for k, _ in items]
    assert [o.value["caption"] for o in out] == [f"clip {i}" for i in range(16)]
    assert 1 < server.max_in_flight <= 8
    assert seen == [(d, 16) for d in range(1, 17)]


def test_mixed_batch_keeps_every_item_in_order(server: FakeServer) -> None:
    def respond(body: dict) -> Reply:
        text = body["messages"][1]["content"]
        if "bad-request" in text:
            return Reply(status=400)
        if "garbage" in text:
            return Reply(content="no JSON here")
        return Reply()

    server.respond = respond
    kinds = ["ok", "garbage", "ok", "bad-request", "ok", "garbage"]
    items = [(f"k{i}", messages(f"{kind} {i}")) for i, kind in enumerate(kinds)]
    items.append(("k-broken", "not a list of messages"))  # type: ignore[arg-type]
    out = run(server, items, settings=server.settings(max_repairs=1))
    assert len(out) == len(items) and [o.key for o in out] == [k for k, _ in items]
    assert [o.status for o in out] == ["ok", "error", "ok", "error", "ok", "error", "error"]
    assert out[1].error.startswith("invalid reply") and out[1].requests == 2
    assert out[3].error.startswith("HTTP 400") and out[3].requests == 1
    assert out[6].error.startswith("malformed item") and out[6].requests == 0
    assert totals(out) == {"clips": 7, "requests": 3 + 4 + 1, "prompt_tokens": 11 * 7,
                           "completion_tokens": 7 * 7, "cache_hits": 0, "failures": 4}


def test_empty_batch() -> None:
    assert run_requests([], LlmSettings("http://127.0.0.1:9/v1", MODEL), "v1", parse, repair, split_reasoning) == []


def test_injected_client_with_dict_replies() -> None:
    class Completions:
        def create(self, **kwargs: object) -> dict:
            return {"model": "m", "usage": {"prompt_tokens": 3, "completion_tokens": 2},
                    "choices": [{"finish_reason": "stop",
                                 "message": {"content": GOOD, "reasoning_content": "field reasoning"}}]}

    class Client:
        chat = type("Chat", (), {"completions": Completions()})()

    (out,) = run_requests([("a", messages())], LlmSettings("http://unused/v1", MODEL), "v1", parse, repair,
                          split_reasoning, client=Client())
    assert out.status == "ok" and out.reasoning == "field reasoning" and out.prompt_tokens == 3


# --- secrets and settings ---------------------------------------------------------------------------------

def test_api_key_never_leaks(server: FakeServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"error": {"message": f"bad request from Authorization: Bearer {KEY}", "type": "invalid_request_error"}}
    server.respond = lambda body: (Reply(status=400, body=echo) if "echo" in body["messages"][1]["content"]
                                   else Reply(content=f"I saw the key {KEY}"))
    settings = server.settings(max_repairs=1)
    items = [("echo", messages("echo")), ("leaky", messages("leaky"))]
    out = run(server, items, settings=settings, cache=ReplyCache(str(tmp_path)))
    assert server.requests[0]["headers"]["authorization"] == f"Bearer {KEY}"  # it was sent
    assert [o.status for o in out] == ["error", "error"]
    assert "***" in out[0].error and "***" in out[1].raw_reply
    texts = [repr(settings), str(settings), repr(out), json.dumps(totals(out)), caplog.text]
    texts += [p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()]
    for text in texts:
        assert KEY not in text
    assert "repair" in caplog.text  # the repair was logged, without the key


def test_settings_validation() -> None:
    for bad in [dict(base_url=""), dict(max_retries=-1), dict(max_repairs=-1), dict(concurrency=0),
                dict(max_tokens=0), dict(timeout_s=0), dict(backoff_base_s=-1), dict(temperature=float("nan")),
                dict(extra_params={"temperature": 1.0}), dict(extra_params={"stream": True}),
                dict(extra_params={"x": object()})]:
        with pytest.raises(ValueError):
            LlmSettings(**{"base_url": "http://x/v1", "model": MODEL, **bad})
    params = {"top_p": 0.9}
    settings = LlmSettings("http://x/v1", MODEL, extra_params=params)
    params["top_p"] = 0.1
    assert settings.extra_params == {"top_p": 0.9}  # detached from the caller's dict
