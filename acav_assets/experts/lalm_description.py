"""Optional baseline: a free-text description of a clip from a large audio-language model (LALM).

The clip is sent to an OpenAI-compatible chat-completions endpoint that accepts audio input
(for example Qwen2-Audio served by vLLM) as a 16-bit WAV in an ``input_audio`` content part,
next to a text part with the prompt. The reply is a baseline to compare the multi-expert
captions with, not evidence the captioner relies on.

Robustness rules:

* one clip's failure never raises: ``describe`` returns ``lalm_status = "error"`` with a reason;
* timeouts, connection errors, 408, 429 and 5xx are retried with exponential backoff and
  jitter (``Retry-After`` honoured, capped); other 4xx are not retried; the client's own
  retries are switched off so that the attempt count here is the whole truth;
* an empty reply (or one that is only ``<think>`` reasoning) is an error;
* the API key is never put in a repr, a log line, an error message or the returned row.

``openai`` (the official client) is imported only when a describer is built without a client.
"""

from __future__ import annotations

import base64
import io
import logging
import re
import time
import wave
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from acav_assets.contracts.domains import STATUS_ERROR, STATUS_OK, error_text
from acav_assets.experts.shard_runner import analyse_shard
from acav_assets.experts.spec import DECODED, ExpertOutput, ExpertSpec, ShardInputs
from acav_assets.io.openai_endpoint import OpenAIEndpoint
from acav_assets.io.request_retries import RequestFailure as _Failure
from acav_assets.io.request_retries import classify_request_error, retry_delay
from acav_assets.io.table_fields import described_field

__all__ = ["DEFAULT_PROMPT", "LALM_FIELDS", "LalmConfig", "LalmDescriber", "encode_wav", "strip_reasoning"]

logger = logging.getLogger(__name__)

DEFAULT_PROMPT = (
    "Describe this audio clip in one or two sentences: the sound sources and events, any speech "
    "or music, and the recording environment. Only mention what can be heard."
)
_MAX_ERROR_CHARS = 500
_THINK_BLOCK_RE = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_CLOSE = "</think>"
_THINK_OPEN = "<think>"


@dataclass(frozen=True, kw_only=True)
class LalmConfig(OpenAIEndpoint):
    """The endpoint (:class:`OpenAIEndpoint`, its defaults suit one short reply) and what to ask it."""

    prompt: str = DEFAULT_PROMPT
    max_tokens: int = 200
    temperature: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_tokens < 1:
            raise ValueError("LalmConfig: max_tokens >= 1 is required")


def encode_wav(audio: np.ndarray, sample_rate: int) -> bytes:
    """Mono 16-bit PCM WAV of float audio in [-1, 1] (clipped; NaN and inf read as 0)."""
    if int(sample_rate) <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    samples = np.asarray(audio, dtype=np.float64)
    if samples.ndim == 2:  # (samples, channels) -> mono
        samples = samples.mean(axis=1)
    if samples.ndim != 1:
        raise ValueError(f"audio must be 1-D (or samples x channels), got shape {samples.shape}")
    samples = np.clip(np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    pcm = np.round(samples * 32767.0).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(int(sample_rate))
        wav.writeframes(pcm.tobytes())
    return buffer.getvalue()


def strip_reasoning(text: str) -> str:
    """Drop ``<think>…</think>`` reasoning; text before a lone ``</think>`` is reasoning too, and
    an unclosed ``<think>`` (cut off by max_tokens) leaves nothing."""
    text = _THINK_BLOCK_RE.sub("", text)
    lowered = text.lower()
    if _THINK_CLOSE in lowered:  # template opened the block in the prompt
        text = text[lowered.rindex(_THINK_CLOSE) + len(_THINK_CLOSE):]
        lowered = text.lower()
    if _THINK_OPEN in lowered:
        text = text[: lowered.index(_THINK_OPEN)]
    return text.strip()


class LalmDescriber:
    """Describes clips with one LALM endpoint; safe to share between threads."""

    def __init__(self, config: LalmConfig, client: Any = None) -> None:
        self.config = config
        self._client = client if client is not None else config.openai_client()
        self._sleep = time.sleep

    def __repr__(self) -> str:
        return f"LalmDescriber({self.config!r})"

    def _redact(self, text: str) -> str:
        """Cap an error text and blank the key out of it (a server may echo headers back)."""
        key = self.config.api_key
        if key:
            text = text.replace(key, "***")
        return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 1] + "…"

    def _classify(self, error: Exception) -> _Failure:
        return classify_request_error(error, self.config.timeout_s)

    def _attempt(self, messages: list[dict]) -> str:
        """One request; returns the description or raises ``_Failure``."""
        try:
            completion = self._client.chat.completions.create(
                model=self.config.model,
                messages=messages,
                max_tokens=self.config.max_tokens,
                temperature=self.config.temperature,
            )
        except Exception as error:  # any client error becomes a per-clip failure
            raise self._classify(error) from None
        try:
            choice = completion.choices[0]
            content = choice.message.content
        except (AttributeError, IndexError, TypeError):
            raise _Failure("malformed reply: no choices[0].message", retryable=False) from None
        if isinstance(content, list):  # content parts
            content = "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
        text = strip_reasoning(content or "")
        if not text:
            reason = getattr(choice, "finish_reason", None)
            suffix = f" (finish_reason={reason})" if reason else ""
            raise _Failure(f"empty reply{suffix}", retryable=False)
        return text

    def _delay(self, retry: int, failure: _Failure) -> float:
        return retry_delay(retry, failure, self.config.backoff_base_s, self.config.backoff_max_s)

    def describe(self, audio: np.ndarray, sample_rate: int = 16000) -> dict:
        """One row (keys as ``LALM_FIELDS``) for one clip; never raises for a failure of this clip."""
        row: dict = {
            "lalm_description": None,
            "lalm_model": self.config.model,
            "lalm_status": STATUS_ERROR,
            "lalm_error": None,
            "lalm_attempts": 0,
        }
        try:
            if np.size(audio) == 0:
                raise ValueError("empty audio")
            wav = encode_wav(audio, sample_rate)
        except Exception as error:
            row["lalm_error"] = self._redact(f"cannot encode audio: {error}")
            return row
        messages = [
            {
                "role": "user",
                "content": [
                    {
                        "type": "input_audio",
                        "input_audio": {"data": base64.b64encode(wav).decode("ascii"), "format": "wav"},
                    },
                    {"type": "text", "text": self.config.prompt},
                ],
            }
        ]
        attempts = self.config.max_retries + 1
        for attempt in range(attempts):
            row["lalm_attempts"] = attempt + 1
            try:
                row["lalm_description"] = self._attempt(messages)
            except _Failure as failure:
                reason = self._redact(failure.reason)
                if not failure.retryable or attempt + 1 == attempts:
                    suffix = f" (after {attempt + 1} attempts)" if failure.retryable and attempt else ""
                    row["lalm_error"] = reason + suffix
                    return row
                delay = self._delay(attempt, failure)
                logger.warning(
                    "LALM %s attempt %d of %d failed (%s); retrying in %.2f s",
                    self.config.model, attempt + 1, attempts, reason, delay,
                )
                self._sleep(delay)
            except Exception as error:  # a bug here must not fail the shard either
                row["lalm_error"] = self._redact(error_text(error))
                return row
            else:
                row["lalm_status"] = STATUS_OK
                return row
        return row  # not reached: the loop always returns


def _field(name: str, dtype: pa.DataType, description: str, unit: str = "", nullable: bool = True) -> pa.Field:
    return described_field(name, dtype, unit, description, nullable)


LALM_FIELDS: list[pa.Field] = [
    _field("lalm_description", pa.string(),
           "Free-text description from the audio-language model (a baseline, not evidence); null on error."),
    _field("lalm_model", pa.string(), "Model name sent to the endpoint."),
    _field("lalm_status", pa.string(), "ok | error", nullable=False),
    _field("lalm_error", pa.string(), "Why the description failed (key redacted); null when ok."),
    _field("lalm_attempts", pa.int32(), "Requests made for this clip, retries included.", unit="requests",
           nullable=False),
]


def _describer(describer: LalmDescriber):
    def describe(audio: np.ndarray, sample_rate: int) -> dict:
        return describer.describe(audio, sample_rate)

    return describe


def lalm_of_shard(inputs: ShardInputs) -> ExpertOutput:
    """Every decoded clip described by the endpoint (``inputs.model``, a :class:`LalmDescriber`),
    or an empty table when no endpoint is configured."""
    describer = inputs.model
    if describer is None:
        inputs.log.info("LALM baseline not configured (ACAV_LALM_BASE_URL unset): writing an empty table")
        return ExpertOutput(pa.Table.from_pylist([], schema=SPEC.schema), {"enabled": False})
    table = analyse_shard(inputs.audio, inputs.shard, LALM_FIELDS, _describer(describer), workers=inputs.workers,
                          name="lalm", log=inputs.log)
    # The describer reports its own per-clip status; lift it into the table's status column.
    rows = table.to_pylist()
    for row in rows:
        if row["status"] == STATUS_OK and row["lalm_status"] != STATUS_OK:
            row.update(status=STATUS_ERROR, error=row["lalm_error"])
    return ExpertOutput(pa.Table.from_pylist(rows, schema=SPEC.schema), {"enabled": True, "model": describer.config.model})


SPEC = ExpertSpec(
    name="lalm_description",
    description="Optional free-text description of each clip from an audio-language model behind an "
    "OpenAI-compatible endpoint (ACAV_LALM_BASE_URL, ACAV_LALM_MODEL, ACAV_LALM_API_KEY). Off unless configured: "
    "then the table is empty.",
    fields=tuple(LALM_FIELDS), analyse=lalm_of_shard, reads=("clips",), coverage=DECODED,
    model="lalm", pool="llm_api", optional=True,
    check="Disabled: no rows. Enabled: one row per decoded clip, failures under the error rate.",
)
