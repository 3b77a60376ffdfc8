"""One local OpenAI-compatible chat-completions server for every test and benchmark that needs an
LLM endpoint. It answers from a script (in order, the last reply repeats) or from a function of
the request body, records every request, and tracks the most requests it ever had in flight."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    """One answer of the fake server."""

    status: int = 200
    content: str | None = "ok"
    reasoning_content: str | None = None
    finish_reason: str = "stop"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    body: dict | None = None  # overrides the canned body
    usage: dict | None = None  # default: a fixed small count


def completion_body(reply: Reply, model: str) -> dict:
    message: dict = {"role": "assistant", "content": reply.content}
    if reply.reasoning_content is not None:
        message["reasoning_content"] = reply.reasoning_content
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 1_700_000_000, "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
        "usage": reply.usage or {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


class FakeOpenAI:
    """Start with ``with FakeOpenAI(...) as server`` (or :meth:`start` / :meth:`stop`); point a
    client at ``server.base_url``."""

    def __init__(self, model: str = "test-model", script: list[Reply] | None = None,
                 respond: Callable[[dict], Reply] | None = None) -> None:
        self.model = model
        self.script: list[Reply] = script or [Reply()]
        self.respond = respond
        self.requests: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep the test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "json": body})
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    reply = None if server.respond else (
                        server.script.pop(0) if len(server.script) > 1 else server.script[0])
                counted = True

                def done() -> None:  # before the reply goes out, so the client's next request cannot overlap
                    nonlocal counted
                    if counted:
                        with server._lock:
                            server.in_flight -= 1
                        counted = False

                try:
                    if reply is None:
                        reply = server.respond(body)
                    if reply.delay_s:
                        time.sleep(reply.delay_s)
                    if reply.body is not None:
                        payload = reply.body
                    elif reply.status == 200:
                        payload = completion_body(reply, server.model)
                    else:
                        payload = {"error": {"message": f"scripted failure {reply.status}", "type": "server_error"}}
                    data = json.dumps(payload).encode()
                    done()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out first
                    pass
                finally:
                    done()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
