"""A local OpenAI-compatible chat server for tests and benchmarks: it answers caption prompts
with schema-valid JSON for the domain stated in the prompt, with its reasoning in a separate
``reasoning_content`` field, after an optional artificial latency. Prompts containing one of
``garbage_markers`` always get invalid JSON. It counts requests and tokens (about 4 characters
a token)."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from acav_assets.caption_schema import FACETS, QA_CATEGORIES, QA_DIFFICULTIES

DOMAIN = re.compile(r"Domain of this clip: ([0S][0M][0A])")


def caption_answer(domain: str) -> dict:
    present = {"speech": domain[0] == "S", "music": domain[1] == "M", "sound": domain[2] == "A"}
    facets = {}
    for facet in FACETS:
        if facet in present and not present[facet]:
            facets[facet] = ["None", f"No {facet} can be heard", f"The clip has no {facet}"]
        else:
            facets[facet] = [f"A {facet} description", f"Another {facet} wording", f"A third {facet} phrasing"]
    return {
        "facets": facets,
        "confidences": {facet: [0.9, 0.8, 0.7] for facet in FACETS},
        "qa": [
            {"category": QA_CATEGORIES[i], "difficulty": QA_DIFFICULTIES[i % 4], "question": f"Question {i}?",
             "answer": f"Answer {i}.", "confidence": 0.8}
            for i in range(5)
        ],
    }


class OpenAIStub:
    def __init__(self, latency_s: float = 0.0, garbage_markers: tuple[str, ...] = ()):
        self.latency_s, self.garbage_markers = latency_s, garbage_markers
        self.requests = self.prompt_tokens = self.completion_tokens = 0
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = "\n".join(m["content"] for m in body["messages"] if isinstance(m.get("content"), str))
                time.sleep(stub.latency_s)
                match = DOMAIN.search(prompt)
                if any(marker in prompt for marker in stub.garbage_markers) or not match:
                    content = '{"facets": {"long": ["unterminated'
                else:
                    content = json.dumps(caption_answer(match.group(1)))
                usage = {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(content) // 4}
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                with stub._lock:
                    stub.requests += 1
                    stub.prompt_tokens += usage["prompt_tokens"]
                    stub.completion_tokens += usage["completion_tokens"]
                reply = {
                    "id": "stub", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                        "role": "assistant", "content": content,
                        "reasoning_content": "The experts agree; no contradictions."}}],
                    "usage": usage,
                }
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OpenAIStub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
