"""How a request to an OpenAI-compatible endpoint failed, whether to try again, and how long to
wait first: shared by the caption LLM client and the LALM baseline."""

from __future__ import annotations

import email.utils
import json
import math
import random
from datetime import datetime, timezone
from typing import Any

from acav_assets.contracts.domains import error_text


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` / ``Retry-After`` (seconds or an HTTP date), if any."""
    if headers is None:
        return None
    try:
        value = headers.get("retry-after-ms")
        if value is not None:
            return max(float(value) / 1000.0, 0.0)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            seconds = float(value)
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            seconds = (when - datetime.now(timezone.utc)).total_seconds()
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


# Timeouts and rate limits are worth retrying, and so is any 5xx; other 4xx are not.
RETRYABLE_STATUS = frozenset({408, 429})
# A wrong key, a forbidden model or a model (or path) the endpoint does not have: the
# configuration is broken for every request, not for one.
SYSTEMIC_STATUS = frozenset({401, 403, 404})


class RequestFailure(Exception):
    """A failed request: a reason that is safe to show, whether to try again, whether the
    endpoint itself failed to answer (``transport``: no connection, a timeout, 408/429/5xx) and
    whether no request can succeed with this configuration (``systemic``: 401/403/404)."""

    def __init__(self, reason: str, retryable: bool, retry_after_s: float | None = None, *,
                 transport: bool = False, systemic: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.transport = transport
        self.systemic = systemic


def classify_request_error(error: Exception, timeout_s: float) -> RequestFailure:
    """Turn a client exception into a safe reason and a retry decision (works without the
    ``openai`` package for an injected client)."""
    try:
        import openai
    except ImportError:
        openai = None
    if isinstance(error, TimeoutError) or (openai is not None and isinstance(error, openai.APITimeoutError)):
        return RequestFailure(f"timeout after {timeout_s:g} s", retryable=True, transport=True)
    if isinstance(error, ConnectionError):
        return RequestFailure(f"connection error: {type(error).__name__}", retryable=True, transport=True)
    if openai is not None and isinstance(error, openai.APIConnectionError):
        cause = error.__cause__
        detail = f": {type(cause).__name__}" if cause is not None else ""
        return RequestFailure(f"connection error{detail}", retryable=True, transport=True)
    if openai is not None and isinstance(error, openai.APIStatusError):
        status = error.status_code
        message = error.message if isinstance(error.message, str) else ""
        retryable = status in RETRYABLE_STATUS or status >= 500
        retry_after = retry_after_seconds(getattr(error.response, "headers", None)) if retryable else None
        return RequestFailure(f"HTTP {status}: {message}", retryable=retryable, retry_after_s=retry_after,
                              transport=retryable, systemic=status in SYSTEMIC_STATUS)
    if isinstance(error, (json.JSONDecodeError, UnicodeDecodeError)) or (
            openai is not None and isinstance(error, openai.APIResponseValidationError)):
        # the endpoint answered, but with a body that is not a completion: try again, a few times
        return RequestFailure(f"malformed response body: {type(error).__name__}", retryable=True)
    return RequestFailure(error_text(error), retryable=False)


def retry_delay(retry: int, failure: RequestFailure, base_s: float, max_s: float) -> float:
    """Exponential backoff with up to 25 % jitter, or the server's Retry-After; capped at ``max_s``."""
    if failure.retry_after_s is not None:
        delay = failure.retry_after_s
    else:
        delay = base_s * (2.0 ** retry) * (1.0 + random.uniform(0.0, 0.25))
    return min(delay, max_s)
