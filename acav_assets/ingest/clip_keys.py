"""The ACAVCaps clip-key codec: ``{source_id}_{start}_{end}`` with every ``.`` turned into ``_``.

Published keys look like ``wo8sFEF7sWM_166_48_176_48`` (seconds 166.48-176.48) or
``sxIdgHIUKhI_0_0_10`` (0.0-10). Because the decimal point and the separator are the same
character, a key is ambiguous on its own; the parser resolves it with the expected clip
length, which is how the published data were cut (10 s).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

YOUTUBE_ID_LENGTH = 11
_NUMBER_TOKEN = re.compile(r"^\d+$")
_UNSAFE_SOURCE_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class ClipKey:
    source_id: str
    start: float
    end: float


class ClipKeyError(ValueError):
    """A key that cannot be read as ``{source_id}_{start}_{end}``."""


def format_seconds(seconds: float) -> str:
    """Seconds with millisecond precision and no trailing zeros: 166.48 -> '166.48', 10.0 -> '10'."""
    if seconds < 0:
        raise ValueError(f"negative time {seconds}")
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def sanitize_source_id(raw: str) -> str:
    """A source id safe inside a key and a tar member name (no '.', '/', spaces or non-ASCII)."""
    cleaned = _UNSAFE_SOURCE_CHARS.sub("-", raw.strip()).strip("-")
    if not cleaned:
        raise ClipKeyError(f"source id {raw!r} has no usable characters")
    return cleaned


def make_clip_key(source_id: str, start: float, end: float) -> str:
    """Encode a clip as ``{source_id}_{start}_{end}`` with '.' replaced by '_'."""
    if end <= start:
        raise ClipKeyError(f"clip end {end} is not after start {start}")
    body = f"{source_id}_{format_seconds(start)}_{format_seconds(end)}"
    return body.replace(".", "_")


def _time_readings(tokens: list[str]) -> list[tuple[float, float]]:
    """Every way the trailing number tokens can be read as (start, end)."""
    readings = []
    # start uses 1 or 2 tokens (integer part, fraction), end uses the rest (1 or 2).
    for start_len in (1, 2):
        end_len = len(tokens) - start_len
        if end_len not in (1, 2):
            continue
        start = float(".".join(tokens[:start_len]))
        end = float(".".join(tokens[start_len:]))
        readings.append((start, end))
    return readings


def parse_clip_key(
    key: str, source_id_length: int | None = YOUTUBE_ID_LENGTH, clip_seconds: float = 10.0
) -> ClipKey:
    """Decode a key. With ``source_id_length`` (11 for YouTube IDs, which may contain '_') the id
    is cut by length; with ``None`` it is everything before the trailing 2-4 number tokens.
    Of the possible readings, the one whose duration is closest to ``clip_seconds`` wins."""
    candidates: list[ClipKey] = []
    if source_id_length is not None:
        source_id, rest = key[:source_id_length], key[source_id_length:]
        if len(source_id) < source_id_length or not rest.startswith("_"):
            raise ClipKeyError(f"key {key!r} is too short for a {source_id_length}-character id")
        tokens = rest[1:].split("_")
        if all(_NUMBER_TOKEN.match(t) for t in tokens):
            candidates = [ClipKey(source_id, s, e) for s, e in _time_readings(tokens)]
    else:
        parts = key.split("_")
        for n_time_tokens in (2, 3, 4):
            if len(parts) <= n_time_tokens:
                break
            tokens = parts[-n_time_tokens:]
            if not all(_NUMBER_TOKEN.match(t) for t in tokens):
                break
            source_id = "_".join(parts[:-n_time_tokens])
            candidates += [ClipKey(source_id, s, e) for s, e in _time_readings(tokens)]
    valid = [c for c in candidates if c.end > c.start]
    if not valid:
        raise ClipKeyError(f"key {key!r} does not end in '_<start>_<end>' seconds")
    return min(valid, key=lambda c: (abs((c.end - c.start) - clip_seconds), -len(c.source_id)))
