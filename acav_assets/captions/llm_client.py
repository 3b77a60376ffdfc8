"""The LLM request layer for caption synthesis: many chat-completions requests, cached and checked.

Any OpenAI-compatible endpoint works (vLLM, SGLang, llama.cpp, the OpenAI API). ``run_requests``
sends one conversation per item through a thread pool and returns one ``LlmOutcome`` per item,
in input order. What the reply must look like is the caller's business: ``parse`` turns the
answer into a value or raises ``ValueError``; ``repair`` builds the follow-up conversation that
shows the model its invalid answer and the error; ``split_reasoning`` separates chain-of-thought
(``<think>`` blocks or a ``reasoning_content`` field) from the answer.

Robustness rules (the same as the LALM baseline's):

* one item's failure never raises: its outcome has ``status = "error"`` and a reason;
* timeouts, connection errors, 408, 429 and 5xx (*transport* failures), a body that is not a
  completion and a reply with no choices are retried with exponential backoff and jitter
  (``Retry-After`` honoured, capped at ``backoff_max_s``); other 4xx are not retried; the
  client's own retries are switched off so that the request count here is the whole truth;
* an outage is not a clip's defect: once ``breaker_failures`` items in a row are lost to
  transport failures (no answer in between), every item tried was, or the endpoint refuses
  the configuration (401, 403, 404), no new request is sent and ``run_requests`` raises
  ``EndpointUnreachable`` after the requests in flight end; valid replies are cached first;
* an answer that fails ``parse``, is empty, or was cut off (``finish_reason == "length"``) is
  invalid: up to ``max_repairs`` follow-up requests show the model the error; one the
  endpoint's content filter blocked is an error at once;
* no item spends more than ``clip_deadline_s`` on requests, retries and repairs together;
* valid replies are cached under a hash of (model, prompt version, the original messages,
  temperature, max_tokens, extra params) in a ``ReplyCache`` (see ``reply_cache``: one SQLite
  store on a local root); a cached reply is used only while it still parses;
* the API key is never put in a repr, a log line, an error message, an outcome or the cache.

``openai`` (the official client) is imported only when no client is passed in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from acav_assets.captions.reply_cache import ReplyCache
from acav_assets.contracts.domains import STATUS_ERROR, STATUS_OK, error_text
from acav_assets.contracts.failures import EndpointUnreachable
from acav_assets.io.openai_endpoint import OpenAIEndpoint
from acav_assets.io.request_retries import RequestFailure as _Failure
from acav_assets.io.request_retries import classify_request_error, retry_delay

__all__ = ["CONTENT_FILTERED", "DEADLINE", "EMPTY_CHOICES", "LlmOutcome", "LlmSettings", "ReplyCache", "request_hash",
           "run_requests", "totals"]

logger = logging.getLogger(__name__)

_MAX_ERROR_CHARS = 500
_RESERVED_PARAMS = frozenset({"model", "messages", "temperature", "max_tokens", "stream", "n"})
# Reasons of item errors that callers may match on (the text after the colon may grow).
CONTENT_FILTERED = "content_filter: the endpoint's content filter blocked the reply"
EMPTY_CHOICES = "empty_choices: the reply had no choices"
DEADLINE = "deadline"

Parse = Callable[[str], Any]
Repair = Callable[[list[dict], str, str], list[dict]]
SplitReasoning = Callable[[str | None, str | None], tuple[str, str | None]]


@dataclass(frozen=True, kw_only=True)
class LlmSettings(OpenAIEndpoint):
    """The endpoint (:class:`OpenAIEndpoint`, with longer waits: replies run to thousands of tokens)
    and how to ask it. ``max_repairs`` counts extra requests after an invalid answer."""

    timeout_s: float = 120.0
    max_retries: int = 5
    backoff_max_s: float = 60.0
    temperature: float = 0.6
    max_tokens: int = 4096
    max_repairs: int = 2
    concurrency: int = 8
    clip_deadline_s: float = 300.0  # one item's requests, retries and repairs together
    breaker_failures: int = 3  # items lost in a row to transport failures that mean the endpoint is down
    extra_params: dict = field(default_factory=dict)  # sent in the request body; part of the cache key

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_repairs < 0 or self.max_tokens < 1 or self.concurrency < 1:
            raise ValueError("LlmSettings: max_repairs >= 0, max_tokens >= 1 and concurrency >= 1 are required")
        if not self.clip_deadline_s > 0 or self.breaker_failures < 1:
            raise ValueError("LlmSettings: clip_deadline_s > 0 and breaker_failures >= 1 are required")
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise ValueError("LlmSettings: temperature must be a finite number >= 0")
        reserved = sorted(_RESERVED_PARAMS & set(self.extra_params))
        if reserved:
            raise ValueError(f"LlmSettings.extra_params must not set {reserved}; use the settings' own fields")
        try:
            json.dumps(self.extra_params, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"LlmSettings.extra_params must be JSON-serialisable: {error}") from None
        object.__setattr__(self, "extra_params", dict(self.extra_params))  # detach from the caller's dict

    def cache_params(self) -> dict:
        """The sampling parameters that are part of the cache key."""
        return {
            "temperature": float(self.temperature),
            "max_tokens": int(self.max_tokens),
            "extra_params": self.extra_params,
        }


@dataclass
class LlmOutcome:
    """What became of one item. ``raw_reply`` is the last answer text handed to ``parse`` (the
    reasoning split off); tokens and requests count what this run spent (0 on a cache hit)."""

    key: str
    status: str  # "ok" | "error"
    value: Any | None
    error: str | None
    raw_reply: str | None
    reasoning: str | None
    prompt_tokens: int
    completion_tokens: int
    requests: int
    cache_hit: bool


def request_hash(model: str, prompt_version: str, messages: list[dict], params: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of everything that determines a reply."""
    payload = {"model": model, "prompt_version": prompt_version, "messages": messages, "params": params}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def totals(outcomes: Sequence[LlmOutcome]) -> dict:
    """What a run spent and how it went, summed over its outcomes."""
    return {
        "clips": len(outcomes),
        "requests": sum(o.requests for o in outcomes),
        "prompt_tokens": sum(o.prompt_tokens for o in outcomes),
        "completion_tokens": sum(o.completion_tokens for o in outcomes),
        "cache_hits": sum(1 for o in outcomes if o.cache_hit),
        "failures": sum(1 for o in outcomes if o.status != STATUS_OK),
    }


@dataclass
class _Reply:
    answer: str
    reasoning: str | None
    finish_reason: str | None
    model: str | None


@dataclass
class _Spent:
    """What one item spent, its deadline, and whether its last request failed in transport."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    deadline: float = math.inf
    last_failure: str | None = None
    transport_failed: bool = False


class _NotSent(_Failure):
    """An item not requested because the breaker had tripped."""


class _Breaker:
    """Trips when ``limit`` items in a row are lost to transport failures with no answer in
    between, or at once when the endpoint refuses the configuration; stays tripped; thread-safe."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lock = threading.Lock()
        self.streak = self.answers = self.failed_requests = self.lost = self.skipped = 0
        self.tripped = False
        self.last_reason: str | None = None
        self.refused: str | None = None

    def answered(self) -> None:
        with self.lock:
            self.answers += 1
            self.streak = 0

    def failed(self, reason: str, systemic: bool) -> None:
        with self.lock:
            self.failed_requests += 1
            self.last_reason = reason
            if systemic:
                self.refused = self.refused or reason
                self.tripped = True

    def item_lost(self) -> None:
        with self.lock:
            self.lost += 1
            self.streak += 1
            self.tripped = self.tripped or self.streak >= self.limit

    def item_skipped(self) -> None:
        with self.lock:
            self.skipped += 1

    def verdict(self, settings: LlmSettings) -> str | None:
        """Why the run must fail as a whole, or None."""
        where = f"LLM endpoint {settings.host} (model {settings.model})"
        if self.refused is not None:
            return f"{where} refuses the configuration: {self.refused}; {self.skipped} items were not sent"
        if self.tripped or (self.lost and not self.answers):
            return (f"{where} is unreachable: {self.failed_requests} requests failed, {self.lost} items were lost "
                    f"to it and {self.skipped} not sent; last reason: {self.last_reason}. Answers received were "
                    "cached, so a re-run resumes there")
        return None


def _get(obj: Any, name: str) -> Any:
    """A field of a response object: a dict key, an attribute, or an extra (undeclared) field."""
    if isinstance(obj, dict):
        return obj.get(name)
    value = getattr(obj, name, None)
    if value is None:
        extra = getattr(obj, "model_extra", None)
        if isinstance(extra, dict):
            value = extra.get(name)
    return value


def _text(content: Any) -> str | None:
    """Message content as text (a list of content parts is joined)."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(_get(part, "text") or "") if not isinstance(part, str) else part for part in content)
    return str(content)


def _count(value: Any) -> int:
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0


class _Runner:
    """Runs one item at a time per thread; holds read-only state and a thread-safe breaker."""

    def __init__(self, settings: LlmSettings, prompt_version: str, repair: Repair,
                 split_reasoning: SplitReasoning, cache: ReplyCache | None, client: Any) -> None:
        self.settings = settings
        self.prompt_version = prompt_version
        self.repair = repair
        self.split_reasoning = split_reasoning
        self.cache = cache
        self.client = client
        self.sleep = time.sleep
        self.breaker = _Breaker(settings.breaker_failures)

    def redact(self, text: str | None, cap: bool = False) -> str | None:
        """Blank the key out of a text (a server may echo headers back); cap error texts."""
        if text is None:
            return None
        key = self.settings.api_key
        if key:
            text = text.replace(key, "***")
        if cap and len(text) > _MAX_ERROR_CHARS:
            text = text[: _MAX_ERROR_CHARS - 1] + "…"
        return text

    def delay(self, retry: int, failure: _Failure) -> float:
        return retry_delay(retry, failure, self.settings.backoff_base_s, self.settings.backoff_max_s)

    def read(self, completion: Any, spent: _Spent) -> _Reply:
        """Usage, answer, reasoning and finish reason of one completion."""
        usage = _get(completion, "usage")
        if usage is not None:
            spent.prompt_tokens += _count(_get(usage, "prompt_tokens"))
            spent.completion_tokens += _count(_get(usage, "completion_tokens"))
        choices = _get(completion, "choices")
        if isinstance(choices, list) and not choices:
            raise _Failure(EMPTY_CHOICES, retryable=True)
        try:
            choice = choices[0]
            message = _get(choice, "message")
            if message is None:
                raise TypeError
        except (IndexError, TypeError, KeyError):
            raise _Failure("malformed reply: no choices[0].message", retryable=True) from None
        reasoning = _text(_get(message, "reasoning_content") or _get(message, "reasoning"))
        answer, reasoning = self.split_reasoning(_text(_get(message, "content")), reasoning or None)
        model = _get(completion, "model")
        return _Reply(answer=answer or "", reasoning=reasoning or None,
                      finish_reason=_get(choice, "finish_reason"), model=model if isinstance(model, str) else None)

    def past_deadline(self, spent: _Spent) -> _Failure:
        """The failure of an item whose deadline has passed (lost in transport if its last try was)."""
        last = f"; last: {spent.last_failure}" if spent.last_failure else ""
        return _Failure(f"{DEADLINE}: the item's {self.settings.clip_deadline_s:g} s ran out after "
                        f"{spent.requests} requests{last}", retryable=False, transport=spent.transport_failed)

    def request(self, messages: list[dict], spent: _Spent) -> _Reply:
        """One request with retries, within the item's deadline and while the breaker holds;
        raises ``_Failure`` with a redacted reason."""
        s = self.settings
        kwargs: dict = {"model": s.model, "messages": messages, "temperature": s.temperature, "max_tokens": s.max_tokens}
        if s.extra_params:
            kwargs["extra_body"] = s.extra_params  # merged into the JSON body: works for any server
        attempts = s.max_retries + 1
        for attempt in range(attempts):
            if self.breaker.tripped:
                raise _NotSent(f"not sent: the endpoint is down ({self.breaker.last_reason})", retryable=False)
            remaining = spent.deadline - time.monotonic()
            if remaining <= 0:
                raise self.past_deadline(spent)
            timeout = min(s.timeout_s, remaining)
            spent.requests += 1
            try:
                reply = self.read(self.client.chat.completions.create(**kwargs, timeout=timeout), spent)
            except _Failure as malformed:  # the endpoint answered, with no usable completion
                failure = malformed
            except Exception as error:  # any client error becomes a failure of this item
                failure = classify_request_error(error, timeout)
                if failure.transport and timeout < s.timeout_s and time.monotonic() >= spent.deadline:
                    raise self.past_deadline(spent) from None  # cut short by the deadline, not the endpoint
            else:
                self.breaker.answered()
                spent.transport_failed = False
                return reply
            reason = self.redact(failure.reason, cap=True)
            spent.last_failure, spent.transport_failed = reason, failure.transport
            if failure.transport or failure.systemic:
                self.breaker.failed(reason, failure.systemic)
            else:
                self.breaker.answered()
            if not failure.retryable or attempt + 1 == attempts:
                suffix = f" (after {attempt + 1} attempts)" if failure.retryable and attempt else ""
                raise _Failure(reason + suffix, retryable=False, transport=failure.transport)
            delay = self.delay(attempt, failure)
            logger.warning("LLM %s request attempt %d of %d failed (%s); retrying in %.2f s",
                           s.model, attempt + 1, attempts, reason, delay)
            self.sleep(max(min(delay, spent.deadline - time.monotonic()), 0.0))
        raise AssertionError("not reached")  # pragma: no cover

    def validate(self, reply: _Reply, parse: Parse) -> Any:
        """The parsed value, or ``ValueError`` for an invalid answer."""
        if reply.finish_reason == "length":
            raise ValueError(
                f"reply truncated at max_tokens={self.settings.max_tokens} (finish_reason=length); "
                "the answer is incomplete, answer more concisely"
            )
        if not reply.answer.strip():
            raise ValueError("empty reply: no answer after the reasoning")
        return parse(reply.answer)

    def outcome(self, key: str, spent: _Spent, *, value: Any = None, error: str | None = None,
                reply: str | None = None, reasoning: str | None = None, cache_hit: bool = False) -> LlmOutcome:
        return LlmOutcome(
            key=key, status=STATUS_ERROR if error is not None else STATUS_OK, value=value,
            error=self.redact(error, cap=True), raw_reply=self.redact(reply), reasoning=self.redact(reasoning),
            prompt_tokens=spent.prompt_tokens, completion_tokens=spent.completion_tokens,
            requests=spent.requests, cache_hit=cache_hit,
        )

    def cached(self, h: str, parse: Parse) -> tuple[Any, dict] | None:
        """A stored reply that still parses, with its value; None otherwise."""
        if self.cache is None:
            return None
        try:
            stored = self.cache.get(h)
        except Exception as error:  # an unreachable cache is a miss, not a failure
            logger.warning("reply cache read failed (%s); requesting instead", self.redact(f"{type(error).__name__}: {error}", cap=True))
            return None
        if not stored or not isinstance(stored.get("reply"), str):
            return None
        try:
            return parse(stored["reply"]), stored
        except ValueError as error:
            logger.info("cached reply %s no longer parses (%s); requesting again", h[:12], self.redact(str(error), cap=True))
            return None

    def store(self, h: str, reply: _Reply, spent: _Spent) -> None:
        if self.cache is None:
            return
        entry = {
            "reply": reply.answer, "reasoning": reply.reasoning, "prompt_tokens": spent.prompt_tokens,
            "completion_tokens": spent.completion_tokens, "finish_reason": reply.finish_reason,
            "model": reply.model or self.settings.model,
        }
        try:
            self.cache.put(h, entry)
        except Exception as error:  # the reply is still good; only the cache missed it
            logger.warning("reply cache write failed (%s)", self.redact(f"{type(error).__name__}: {error}", cap=True))

    def run(self, key: str, messages: list[dict], parse: Parse) -> LlmOutcome:
        """One item from cache or endpoint; never raises."""
        spent = _Spent()
        last: _Reply | None = None
        try:
            h = request_hash(self.settings.model, self.prompt_version, messages, self.settings.cache_params())
            hit = self.cached(h, parse)
            if hit is not None:
                value, stored = hit
                reasoning = stored.get("reasoning")
                return self.outcome(key, spent, value=value, reply=stored["reply"],
                                    reasoning=reasoning if isinstance(reasoning, str) else None, cache_hit=True)
            spent.deadline = time.monotonic() + self.settings.clip_deadline_s
            conversation = list(messages)
            answers = self.settings.max_repairs + 1
            for answer_number in range(1, answers + 1):
                try:
                    last = self.request(conversation, spent)
                except _Failure as failure:
                    if failure.transport:
                        self.breaker.item_lost()
                    elif isinstance(failure, _NotSent):
                        self.breaker.item_skipped()
                    return self.outcome(key, spent, error=failure.reason, reply=last and last.answer,
                                        reasoning=last and last.reasoning)
                if last.finish_reason == "content_filter":
                    return self.outcome(key, spent, error=CONTENT_FILTERED, reply=last.answer, reasoning=last.reasoning)
                try:
                    value = self.validate(last, parse)
                except ValueError as error:
                    problem = str(error) or type(error).__name__
                    if answer_number == answers:
                        suffix = f" (after {answers} answers)" if answers > 1 else ""
                        return self.outcome(key, spent, error=f"invalid reply{suffix}: {problem}",
                                            reply=last.answer, reasoning=last.reasoning)
                    logger.warning("LLM %s answer %d of %d for %s is invalid (%s); asking for a repair",
                                   self.settings.model, answer_number, answers, key, self.redact(problem, cap=True))
                    conversation = self.repair(conversation, last.answer, problem)
                    continue
                self.store(h, last, spent)
                return self.outcome(key, spent, value=value, reply=last.answer, reasoning=last.reasoning)
        except Exception as error:  # a bug in a callback must not fail the batch
            return self.outcome(key, spent, error=error_text(error),
                                reply=last and last.answer, reasoning=last and last.reasoning)
        raise AssertionError("not reached")  # pragma: no cover


def run_requests(
    items: Sequence[tuple[str, list[dict]]],
    settings: LlmSettings,
    prompt_version: str,
    parse: Parse,
    repair: Repair,
    split_reasoning: SplitReasoning,
    cache: ReplyCache | None = None,
    client: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[LlmOutcome]:
    """One outcome per ``(key, messages[, parse])`` item, in input order; no item's failure
    raises, but an unreachable endpoint raises ``EndpointUnreachable`` (see the module doc).

    ``parse(answer)`` (an item's own, else this one) returns the value or raises ``ValueError``;
    after an invalid answer ``repair(messages_sent, answer, error)`` returns the next conversation
    to send (it gets the conversation that produced the answer, so repairs chain).
    ``split_reasoning(content, reasoning_field)`` returns ``(answer, reasoning)``.
    ``progress(done, total)`` is called from the calling thread after each item. ``client``
    replaces the ``openai.OpenAI`` client.
    """
    items = list(items)
    if not items:
        return []
    runner = _Runner(settings, prompt_version, repair, split_reasoning, cache,
                     client if client is not None else settings.openai_client())
    outcomes: list[LlmOutcome | None] = [None] * len(items)

    def work(index: int) -> LlmOutcome:
        try:
            key, messages, *own = items[index]
            item_parse = own[0] if own else parse
            if len(own) > 1 or not callable(item_parse):
                raise ValueError
        except (TypeError, ValueError):
            return runner.outcome(str(index), _Spent(), error="malformed item: expected (key, messages[, parse])")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            return runner.outcome(str(key), _Spent(), error="malformed item: messages must be a non-empty list of dicts")
        return runner.run(str(key), messages, item_parse)

    with ThreadPoolExecutor(max_workers=min(settings.concurrency, len(items)), thread_name_prefix="llm") as pool:
        futures = {pool.submit(work, index): index for index in range(len(items))}
        for done, future in enumerate(as_completed(futures), start=1):
            outcomes[futures[future]] = future.result()
            if progress is not None:
                try:
                    progress(done, len(items))
                except Exception as error:  # a broken progress bar must not lose the results
                    logger.warning("progress callback failed: %s: %s", type(error).__name__, error)
    verdict = runner.breaker.verdict(settings)
    if verdict is not None:
        raise EndpointUnreachable(runner.redact(verdict))
    failures = sum(1 for o in outcomes if o is not None and o.status != STATUS_OK)
    logger.info("LLM %s: %d items, %d failed", settings.model, len(items), failures)
    return [o for o in outcomes if o is not None]
