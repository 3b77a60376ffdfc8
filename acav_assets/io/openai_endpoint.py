"""An OpenAI-compatible chat endpoint and how patiently to ask it, with the client built from it.

The caption LLM settings (``captions.llm_client.LlmSettings``) and the LALM baseline's config
(``experts.lalm_description.LalmConfig``) extend :class:`OpenAIEndpoint` with their own request
fields, so where to send, the key, the timeout and the retry budget are declared and checked
once. The key never shows in a repr. Retries are counted, logged and bounded by the callers
(with ``io.request_retries``), so the client's own are switched off.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["OpenAIEndpoint"]


@dataclass(frozen=True)
class OpenAIEndpoint:
    """Where to send requests and how long to keep trying; only ``base_url`` and ``model`` are
    positional. ``max_retries`` counts transport retries after a request's first try; a
    subclass redeclares a field to change its default."""

    base_url: str
    model: str
    _: KW_ONLY
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_base_s: float = 1.0  # first retry waits about this long, doubling each time
    backoff_max_s: float = 30.0  # cap on any wait, Retry-After included

    def __post_init__(self) -> None:
        name = type(self).__name__
        if not self.base_url or not self.model:
            raise ValueError(f"{name} needs a base_url and a model")
        if self.max_retries < 0 or not self.timeout_s > 0:
            raise ValueError(f"{name}: max_retries >= 0 and timeout_s > 0 are required")
        if self.backoff_base_s < 0 or self.backoff_max_s < 0:
            raise ValueError(f"{name}: backoff delays must not be negative")

    @property
    def host(self) -> str:
        """``host[:port]`` of ``base_url``, never any credentials it may hold: safe for messages."""
        try:
            parts = urlsplit(self.base_url)
            port = f":{parts.port}" if parts.port else ""
            return f"{parts.hostname}{port}" if parts.hostname else "(no host)"
        except ValueError:
            return "(unparsable base_url)"

    def openai_client(self) -> Any:
        """The official ``openai`` client for this endpoint, its own retries switched off."""
        import openai

        return openai.OpenAI(
            base_url=self.base_url,
            api_key=self.api_key or "EMPTY",
            timeout=self.timeout_s,
            max_retries=0,  # retries are the caller's: counted, logged and bounded there
        )
