"""The local OpenAI-compatible endpoint (fake_openai) for caption tests and benchmarks: it answers caption prompts
with schema-valid JSON for the domain stated in the prompt, with its reasoning in a separate
``reasoning_content`` field, after an optional artificial latency. Prompts containing one of
``garbage_markers`` always get invalid JSON. It counts requests and tokens (about 4 characters
a token)."""

from __future__ import annotations

import json
import re
import time

from acav_assets.captions.schema import FACETS, QA_CATEGORIES, QA_DIFFICULTIES
from acav_assets_tests.fake_openai import FakeOpenAI, Reply

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


class OpenAIStub(FakeOpenAI):
    """The shared fake endpoint answering caption prompts after ``latency_s``; ``answered``
    counts replies (a request still waiting is not counted) and token totals add up."""

    def __init__(self, latency_s: float = 0.0, garbage_markers: tuple[str, ...] = ()):
        self.latency_s, self.garbage_markers = latency_s, garbage_markers
        self.answered = self.prompt_tokens = self.completion_tokens = 0
        super().__init__(model="stub", respond=self._answer)

    def _answer(self, body: dict) -> Reply:
        time.sleep(self.latency_s)
        prompt = "\n".join(m["content"] for m in body["messages"] if isinstance(m.get("content"), str))
        match = DOMAIN.search(prompt)
        if any(marker in prompt for marker in self.garbage_markers) or not match:
            content = '{"facets": {"long": ["unterminated'
        else:
            content = json.dumps(caption_answer(match.group(1)))
        usage = {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(content) // 4}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        with self._lock:
            self.answered += 1
            self.prompt_tokens += usage["prompt_tokens"]
            self.completion_tokens += usage["completion_tokens"]
        return Reply(content=content, reasoning_content="The experts agree; no contradictions.", usage=usage)
