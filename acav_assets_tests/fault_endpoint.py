"""A hostile OpenAI-compatible chat-completions endpoint for robustness tests and hostile runs.

Each clip (named by an ``fxclip-KEY`` marker in its first user message, else by a hash of that
message) has a schedule of faults, one per request, the last repeating; every request is logged
with its clip, fault and times, and counted per clip. :func:`hostile_run` runs the caption step
twice against a schedule and :meth:`HostileRun.counts` says what went wrong: crashes, clips
without a reason, requests repeated for clips already answered. ``python -m
acav_assets_tests.fault_endpoint`` runs every fault on the demo evidence and prints the counts.
"""

from __future__ import annotations

import collections
import copy
import hashlib
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from acav_assets_tests.openai_stub import DOMAIN, caption_answer

MARKER = re.compile(r"fxclip-([A-Za-z0-9_.-]+)")

# Every fault kind and what the endpoint does; "valid" ones deliver a usable answer.
FAULTS = {
    "good": "a valid answer",
    "markdown": "a valid answer wrapped in a ```json fence",
    "think": "a valid answer after a <think> block in the content",
    "trickle": "a valid answer sent in small pieces, slowly",
    "duplicate_keys": "a body with 'choices' twice: first empty, then valid (JSON keeps the last)",
    "slow": "a valid answer after slow_s seconds",
    "bom": "a valid body prefixed with a UTF-8 byte order mark",
    "reset": "the connection reset without a reply",
    "hang": "no reply for hang_s seconds (past the client's timeout), then a reset",
    "close_early": "headers promise more bytes than are sent, then the connection closes",
    "http_500": "HTTP 500", "http_502": "HTTP 502", "http_503": "HTTP 503",
    "http_429": "HTTP 429 with Retry-After",
    "http_400": "HTTP 400 (context too long)", "http_401": "HTTP 401", "http_403": "HTTP 403",
    "http_404_model": "HTTP 404, model not found",
    "not_json": "HTTP 200, a JSON content type and an HTML body",
    "html_page": "HTTP 200 with a text/html page",
    "truncated_json": "a completion body cut in half",
    "no_choices": "a completion without 'choices'",
    "empty_choices": "choices = []",
    "no_content": "a message without 'content'",
    "null_content": "content null",
    "length": "finish_reason length, the answer cut in half",
    "content_filter": "finish_reason content_filter, no answer",
    "not_json_answer": "an answer in prose, not JSON",
    "missing_fields": "an answer without confidences and qa",
    "wrong_types": "an answer whose fields have the wrong types",
    "wrong_domain": "a valid answer for another domain",
    "bad_utf8": "malformed UTF-8 bytes inside the body",
    "surrogate_escape": "a lone surrogate escape (\\ud800) inside the answer",
    "nul_bytes": "NUL characters inside the answer's strings",
    "huge": "an answer of several megabytes",
    "reasoning_only": "reasoning, and an empty answer",
}
VALID = frozenset({"good", "markdown", "think", "trickle", "duplicate_keys", "slow"})
_ABSENT = object()  # a message field left out, not null


@dataclass
class Request:
    """One request the endpoint received."""

    clip: str
    number: int  # 0-based, per clip
    fault: str
    started: float
    ended: float = 0.0


class FaultEndpoint:
    """Start with ``with FaultEndpoint(schedule) as server``; ``schedule`` maps a clip to its
    faults (the last repeats), ``default`` serves clips not in it. Both may change between runs."""

    def __init__(self, schedule: dict[str, Sequence[str]] | None = None, default: Sequence[str] = ("good",),
                 hang_s: float = 3.0, slow_s: float = 0.5, model: str = "fault-model") -> None:
        self.schedule = dict(schedule or {})
        self.default = list(default)
        unknown = {f for faults in [*self.schedule.values(), self.default] for f in faults} - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}")
        self.hang_s, self.slow_s, self.model = hang_s, slow_s, model
        self.log: list[Request] = []
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):  # HTTP/1.0: one request per connection
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                request = endpoint._register(body)
                try:
                    endpoint._serve(self, request.fault, body)
                except OSError:  # the client gave up first
                    self.close_connection = True
                finally:
                    request.ended = time.monotonic()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FaultEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def requests_for(self, clips: set[str] | None = None) -> int:
        """Requests received so far (for ``clips`` only when given)."""
        with self._lock:
            return sum(n for clip, n in self.counts.items() if clips is None or clip in clips)

    # ---- one request ------------------------------------------------------------------------

    def _register(self, body: dict) -> Request:
        users = [m.get("content") for m in body.get("messages", []) if m.get("role") == "user"]
        first = users[0] if users and isinstance(users[0], str) else json.dumps(body.get("messages"))
        found = MARKER.search(first)
        clip = found.group(1) if found else hashlib.sha256(first.encode("utf-8", "replace")).hexdigest()[:12]
        with self._lock:
            number = self.counts[clip]
            self.counts[clip] += 1
            faults = self.schedule.get(clip) or self.default
            request = Request(clip, number, faults[min(number, len(faults) - 1)], time.monotonic())
            self.log.append(request)
        return request

    def _answer(self, body: dict, domain_override: str | None = None) -> str:
        prompt = "\n".join(m["content"] for m in body.get("messages", []) if isinstance(m.get("content"), str))
        found = DOMAIN.search(prompt)
        return json.dumps(caption_answer(domain_override or (found.group(1) if found else "SMA")), ensure_ascii=False)

    def _completion(self, content: object, finish_reason: str = "stop", **message: object) -> dict:
        if content is not _ABSENT:
            message["content"] = content
        return {"id": "chatcmpl-fault", "object": "chat.completion", "created": 1_700_000_000, "model": self.model,
                "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish_reason}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}}

    def _serve(self, handler: BaseHTTPRequestHandler, fault: str, body: dict) -> None:
        answer = self._answer(body)
        send = _sender(handler)
        if fault in ("good", "slow"):
            if fault == "slow":
                self._stopping.wait(self.slow_s)
            send(200, self._completion(answer))
        elif fault == "markdown":
            send(200, self._completion(f"Here you are:\n```json\n{answer}\n```"))
        elif fault == "think":
            send(200, self._completion(f"<think>The experts agree.</think>\n{answer}"))
        elif fault == "trickle":
            data = json.dumps(self._completion(answer)).encode()
            send(200, data, pieces=12, gap_s=0.02)
        elif fault == "duplicate_keys":
            good = json.dumps(self._completion(answer))
            send(200, good.replace('"choices":', '"choices": [], "choices":', 1).encode())
        elif fault == "bom":
            send(200, b"\xef\xbb\xbf" + json.dumps(self._completion(answer)).encode())
        elif fault == "reset":
            _reset(handler)
        elif fault == "hang":
            self._stopping.wait(self.hang_s)
            _reset(handler)
        elif fault == "close_early":
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", "5000")
            handler.end_headers()
            handler.wfile.write(json.dumps(self._completion(answer)).encode()[:40])
            handler.wfile.flush()
            _reset(handler)
        elif fault.startswith("http_"):
            status = int(fault.split("_")[1])
            message = {404: f"The model `{self.model}` does not exist", 400: "maximum context length exceeded"}
            error = {"error": {"message": message.get(status, f"injected fault {status}"), "type": "fault",
                               "code": "model_not_found" if status == 404 else None}}
            send(status, error, headers={"Retry-After": "0.05"} if status == 429 else {})
        elif fault == "not_json":
            send(200, b"<html><body>502 Bad Gateway</body></html>")
        elif fault == "html_page":
            send(200, b"<html><body>Please log in</body></html>", content_type="text/html")
        elif fault == "truncated_json":
            data = json.dumps(self._completion(answer)).encode()
            send(200, data[: len(data) // 2])
        elif fault == "no_choices":
            completion = self._completion(answer)
            del completion["choices"]
            send(200, completion)
        elif fault == "empty_choices":
            send(200, {**self._completion(answer), "choices": []})
        elif fault == "no_content":
            send(200, self._completion(_ABSENT))
        elif fault == "null_content":
            send(200, self._completion(None))
        elif fault == "length":
            send(200, self._completion(answer[: len(answer) // 2], finish_reason="length"))
        elif fault == "content_filter":
            send(200, self._completion("", finish_reason="content_filter"))
        elif fault == "not_json_answer":
            send(200, self._completion("Sure! The clip has speech, music and some other sounds."))
        elif fault == "missing_fields":
            send(200, self._completion(json.dumps({"facets": json.loads(answer)["facets"]})))
        elif fault == "wrong_types":
            send(200, self._completion(json.dumps({"facets": "speech", "confidences": "high", "qa": {"q": 1}})))
        elif fault == "wrong_domain":
            send(200, self._completion(self._answer(body, domain_override="000")))
        elif fault == "bad_utf8":
            data = json.dumps(self._completion("@@BAD@@")).encode()
            send(200, data.replace(b"@@BAD@@", b"\xff\xfe\xc3\x28"))
        elif fault == "surrogate_escape":
            send(200, self._completion(answer.replace("description", "descr\ud800iption", 1)))
        elif fault == "nul_bytes":
            send(200, self._completion(answer.replace("description", "descr\x00\x00iption")))
        elif fault == "huge":
            send(200, self._completion("A" * 4_000_000))
        elif fault == "reasoning_only":
            send(200, self._completion("", reasoning_content="The experts agree; I will write the JSON now."))
        else:  # pragma: no cover - FAULTS and this dispatch are kept in step by a test
            raise ValueError(f"unknown fault {fault!r}")


def _sender(handler: BaseHTTPRequestHandler):
    """A sender for ``handler``: a status, a dict (JSON-encoded) or bytes, optionally in pieces."""

    def send(status: int, payload: dict | bytes, content_type: str = "application/json",
             headers: dict[str, str] | None = None, pieces: int = 1, gap_s: float = 0.0) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        size = max(len(data) // pieces, 1)
        for start in range(0, len(data), size):
            handler.wfile.write(data[start:start + size])
            handler.wfile.flush()
            if gap_s:
                time.sleep(gap_s)

    return send


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Abort the connection with a TCP reset (SO_LINGER 0)."""
    handler.close_connection = True
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()


# ---- clips and hostile runs ----------------------------------------------------------------------

def fault_clips(evidence_rows: Sequence[dict], count: int) -> list[dict]:
    """``count`` clips from ``evidence_rows`` (cycled), each keyed ``fx-NN`` with its marker in
    the title, ready for the caption step."""
    clips = []
    for index in range(count):
        clip = copy.deepcopy(evidence_rows[index % len(evidence_rows)])
        clip["key"] = f"fx-{index:02d}"
        title = f"fxclip-{clip['key']} {clip.get('title') or ''}".strip()
        clip["title"] = title
        if isinstance(clip.get("metadata"), dict):
            clip["metadata"] = {**clip["metadata"], "title": title, "status": "ok"}
        clips.append(clip)
    return clips


@dataclass
class HostileRun:
    """Two runs of the caption step against one endpoint: their rows (None when the run raised),
    the exception each raised, and the requests per clip in each."""

    clips: list[dict]
    rows: list[list[dict] | None] = field(default_factory=list)
    raised: list[BaseException | None] = field(default_factory=list)
    requests: list[collections.Counter] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Crashes (exceptions other than a systemic failure), clips without a reason (no row,
        or an error row with an empty reason) and requests repeated for clips answered before."""
        from acav_assets.contracts.failures import SystemicFailure

        keys = [clip["key"] for clip in self.clips]
        crashes = sum(1 for e in self.raised if e is not None and not isinstance(e, SystemicFailure))
        without = 0
        answered: set[str] = set()
        repeated = 0
        for rows, requests in zip(self.rows, self.requests):
            if rows is not None:
                by_key = {r["key"]: r for r in rows}
                without += sum(1 for k in keys if k not in by_key or not (
                    by_key[k]["status"] == "ok" or (by_key[k]["status"] == "error" and (by_key[k].get("error") or "").strip())))
            repeated += sum(requests[k] for k in answered)
            if rows is not None:
                answered |= {r["key"] for r in rows if r["status"] == "ok"}
        return {"crashes": crashes, "systemic": sum(1 for e in self.raised if e is not None) - crashes,
                "clips_without_reason": without, "repeated_requests": repeated}


def hostile_run(clips: list[dict], endpoint: FaultEndpoint, cache_root: str, runs: int = 2,
                **settings: object) -> HostileRun:
    """Run the caption step ``runs`` times over ``clips`` against ``endpoint`` (started), with
    ``LlmSettings`` overrides; never raises what the step raises, records it."""
    from acav_assets.captions.llm_client import LlmSettings
    from acav_assets.captions.shard_captions import llm_caption_rows

    llm = LlmSettings(**{"base_url": endpoint.base_url, "model": endpoint.model, **settings})
    result = HostileRun(clips=clips)
    for _ in range(runs):
        before = collections.Counter(endpoint.counts)
        try:
            rows, raised = llm_caption_rows("fault-shard", clips, llm, cache_root), None
        except Exception as error:  # recorded: the caller decides whether it was expected
            rows, raised = None, error
        result.rows.append(rows)
        result.raised.append(raised)
        result.requests.append(collections.Counter(endpoint.counts) - before)
    return result


QUICK_SETTINGS = {"timeout_s": 2.0, "max_retries": 2, "backoff_base_s": 0.01, "backoff_max_s": 0.1,
                  "max_repairs": 2, "concurrency": 8, "clip_deadline_s": 20.0, "max_tokens": 4096}


def every_fault_schedule(clips: list[dict]) -> dict[str, list[str]]:
    """One fault kind per clip: transient faults and repairable replies once then a good
    answer; refused configurations (401/403/404) left out, they stop the run as a whole."""
    kinds = [f for f in FAULTS if f not in ("http_401", "http_403", "http_404_model")]
    return {clip["key"]: [kinds[i % len(kinds)], "good"] for i, clip in enumerate(clips)}


if __name__ == "__main__":  # a hostile run on the demo evidence
    import tempfile

    from acav_assets_tests.reference_data import DEMO_EVIDENCE_ROWS

    demo = fault_clips(json.loads(DEMO_EVIDENCE_ROWS.read_text()), len(FAULTS))
    with FaultEndpoint(every_fault_schedule(demo)) as server, tempfile.TemporaryDirectory() as cache:
        print(hostile_run(demo, server, cache, **QUICK_SETTINGS).counts())
