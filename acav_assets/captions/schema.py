"""The caption record: six facets x three variants, five QA pairs, confidences, domain.

Matches the published ACAVCaps / MECAT formats (the ACAVCaps and MECAT dataset cards): facets ``long,
short, speech, music, sound, environment`` with three stylistically different variants each;
an absent content facet is ``["None", <paraphrase of absence>, <paraphrase of absence>]``;
QA pairs carry a MECAT category and difficulty.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from acav_assets.contracts.domains import DOMAIN_LETTERS

FACETS = ("long", "short", "speech", "music", "sound", "environment")
CONTENT_FACETS = {"speech": 0, "music": 1, "sound": 2}  # facet -> position of its letter in the domain
VARIANTS = 3
QA_PER_CLIP = 5
QA_CATEGORIES = (
    "direct_perception", "sound_characteristics", "quality_assessment",
    "environment_reasoning", "inference_judgement", "application_context",
)
QA_DIFFICULTIES = ("basic", "intermediate", "advanced", "complex")
ABSENT = "None"


@dataclass
class QaPair:
    category: str
    difficulty: str
    question: str
    answer: str
    confidence: float


@dataclass
class CaptionRecord:
    """One clip's captions. ``facets[f]`` and ``confidences[f]`` hold three entries each."""

    domain: str
    facets: dict[str, list[str]]
    confidences: dict[str, list[float]]
    qa: list[QaPair] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# The answer format the caption LLM must use, and parsing / validation of its replies.
# --------------------------------------------------------------------------------------------

DOMAIN_RE = re.compile(r"^[S0][M0][A0]$")
ALWAYS_PRESENT_FACETS = tuple(f for f in FACETS if f not in CONTENT_FACETS)
_MAX_PROBLEMS = 40  # keep the repair prompt bounded


def _string_list_schema() -> dict:
    return {"type": "array", "items": {"type": "string"}, "minItems": VARIANTS, "maxItems": VARIANTS}


def _confidence_list_schema() -> dict:
    return {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1},
            "minItems": VARIANTS, "maxItems": VARIANTS}


def _object_schema(properties: dict) -> dict:
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


CAPTION_JSON_SCHEMA: dict = _object_schema({
    "facets": _object_schema({f: _string_list_schema() for f in FACETS}),
    "confidences": _object_schema({f: _confidence_list_schema() for f in FACETS}),
    "qa": {
        "type": "array",
        "minItems": QA_PER_CLIP,
        "maxItems": QA_PER_CLIP,
        "items": _object_schema({
            "category": {"type": "string", "enum": list(QA_CATEGORIES)},
            "difficulty": {"type": "string", "enum": list(QA_DIFFICULTIES)},
            "question": {"type": "string"},
            "answer": {"type": "string"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        }),
    },
})
"""JSON Schema of a caption reply (strict-mode compatible: every property required, no extras)."""

CAPTION_RESPONSE_FORMAT: dict = {
    "type": "json_schema",
    "json_schema": {"name": "acav_caption", "strict": True, "schema": CAPTION_JSON_SCHEMA},
}
"""Ready-made OpenAI ``response_format`` for endpoints that support structured outputs."""


class CaptionValidationError(ValueError):
    """A reply that does not satisfy the caption schema; the message lists every problem found
    as plain sentences (it is shown to the model in a repair prompt)."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        shown = self.problems[:_MAX_PROBLEMS]
        lines = [f"- {p}" for p in shown]
        if len(self.problems) > len(shown):
            lines.append(f"- ... and {len(self.problems) - len(shown)} more problems.")
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"The reply does not follow the required JSON format ({len(self.problems)} {noun}):\n"
                         + "\n".join(lines))


# ---- reasoning vs answer ---------------------------------------------------------------------

_THINK_OPEN_RE = re.compile(r"<think\s*>", re.IGNORECASE)
_THINK_CLOSE_RE = re.compile(r"</think\s*>", re.IGNORECASE)
_THINK_BLOCK_RE = re.compile(r"<think\s*>(.*?)</think\s*>", re.IGNORECASE | re.DOTALL)


def split_reasoning(content: str | None, reasoning_content: str | None = None) -> tuple[str, str | None]:
    """Split a chat reply into ``(answer, reasoning)``.

    Reasoning comes from a separate ``reasoning_content`` field and/or from ``<think>…</think>``
    blocks in ``content``; a lone ``</think>`` makes everything before it reasoning (the chat
    template opened the block), and an unterminated ``<think>`` makes everything after it
    reasoning (cut off by the token limit). The answer never contains reasoning; ``reasoning``
    is None when there was none.
    """
    parts: list[str] = []
    if reasoning_content and reasoning_content.strip():
        parts.append(reasoning_content.strip())
    text = content or ""

    def take(match: re.Match[str]) -> str:
        parts.append(match.group(1).strip())
        return ""

    text = _THINK_BLOCK_RE.sub(take, text)
    closes = list(_THINK_CLOSE_RE.finditer(text))
    if closes:  # a lone closing tag: everything before the last one is reasoning
        last = closes[-1]
        parts.append(_THINK_CLOSE_RE.sub("", text[: last.start()]).strip())
        text = text[last.end():]
    opened = _THINK_OPEN_RE.search(text)
    if opened:  # unterminated: the reasoning was cut off, and anything after it is reasoning
        parts.append(text[opened.end():].strip())
        text = text[: opened.start()]
    reasoning = "\n\n".join(p for p in parts if p)
    return text.strip(), (reasoning or None)


# ---- JSON extraction ---------------------------------------------------------------------------

_FENCE_RE = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_MAX_OBJECT_STARTS = 50


def _decode_error_problem(error: json.JSONDecodeError, text: str) -> str:
    if error.pos >= len(text.rstrip()) - 1 or "Unterminated string" in error.msg:
        return ("The JSON object is truncated: the reply ends before the object is complete "
                f"({error.msg} at character {error.pos}). Write the whole object, and keep the "
                "strings shorter if needed.")
    return (f"The reply is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}. "
            "Use double quotes, no trailing commas and no comments.")


def extract_json_object(text: str) -> dict:
    """The JSON object in a reply: the plain text, the body of a ```json fence, or the first
    decodable object amid leading/trailing prose (one with a ``facets`` key preferred).
    Raises :class:`CaptionValidationError` when there is none."""
    stripped = (text or "").strip()
    if not stripped:
        raise CaptionValidationError("The reply is empty: it contains no JSON object. Answer with the JSON object.")
    candidates = [m.group(2).strip() for m in _FENCE_RE.finditer(stripped) if m.group(2).strip().startswith("{")]
    candidates.append(stripped)
    decoder = json.JSONDecoder()
    best_error: tuple[int, json.JSONDecodeError, str] | None = None  # (progress, error, text)
    found: list[tuple[int, dict]] = []  # (encoded length, object)
    for candidate in candidates:
        resume = 0  # starts inside an object already decoded (or failed) are skipped
        for match in list(re.finditer(r"\{", candidate))[:_MAX_OBJECT_STARTS]:
            start = match.start()
            if start < resume:
                continue
            try:
                value, end = decoder.raw_decode(candidate, start)
            except json.JSONDecodeError as error:
                progress = error.pos - start
                if best_error is None or progress > best_error[0]:
                    best_error = (progress, error, candidate)
                resume = max(error.pos, start + 1)
                continue
            resume = end
            if isinstance(value, dict):
                if "facets" in value:
                    return value
                found.append((end - start, value))
    largest = max(found, key=lambda item: item[0]) if found else None
    if best_error is not None and (largest is None or best_error[0] > largest[0]):
        raise CaptionValidationError(_decode_error_problem(best_error[1], best_error[2]))
    if largest is not None:
        return largest[1]
    raise CaptionValidationError("The reply contains no JSON object. Answer with the JSON object only.")


# ---- validation ------------------------------------------------------------------------------

def _is_absent_text(text: str) -> bool:
    return text.strip().rstrip(".").strip().lower() == "none"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_domain(domain: str) -> str:
    if not isinstance(domain, str) or not DOMAIN_RE.match(domain):
        raise ValueError(f"domain must be three letters like 'S0A' ([S0][M0][A0]), got {domain!r}")
    return domain


def facet_present(domain: str, facet: str) -> bool:
    """Whether ``facet`` describes content in a clip of ``domain`` (long/short/environment: always)."""
    position = CONTENT_FACETS.get(facet)
    return position is None or _check_domain(domain)[position] != "0"


def _validate_facets(raw: Any, domain: str, problems: list[str]) -> dict[str, list[str]]:
    facets: dict[str, list[str]] = {}
    if not isinstance(raw, dict):
        problems.append('"facets" is missing or is not an object; it must map each of '
                        f"{', '.join(FACETS)} to a list of {VARIANTS} strings.")
        return facets
    for name in FACETS:
        values = raw.get(name)
        if values is None:
            problems.append(f'Facet "{name}" is missing from "facets".')
            continue
        if not isinstance(values, list) or len(values) != VARIANTS:
            count = f"has {len(values)} entries" if isinstance(values, list) else "is not a list"
            problems.append(f'Facet "{name}" must be a list of exactly {VARIANTS} non-empty strings, but it {count}.')
            continue
        cleaned: list[str] = []
        ok = True
        for i, value in enumerate(values):
            if not isinstance(value, str) or not value.strip():
                problems.append(f'Facet "{name}" variant {i + 1} must be a non-empty string.')
                ok = False
                continue
            text = " ".join(value.split())
            cleaned.append(ABSENT if _is_absent_text(text) else text)
        if not ok:
            continue
        facets[name] = cleaned
        if len({v.lower() for v in cleaned}) < VARIANTS:
            problems.append(f'Facet "{name}" repeats a variant; its {VARIANTS} variants must be worded differently.')
        present = facet_present(domain, name)
        if name in CONTENT_FACETS and not present:
            letter = DOMAIN_LETTERS[CONTENT_FACETS[name]]
            if cleaned[0] != ABSENT:
                problems.append(f'Facet "{name}" must be absent because the clip\'s domain is {domain} '
                                f'(no "{letter}"): its first variant must be exactly "None", not {cleaned[0]!r}.')
            if any(v == ABSENT for v in cleaned[1:]):
                problems.append(f'Facet "{name}" is absent: variants 2 and 3 must be short paraphrases of '
                                'absence (e.g. "No discernible ... content"), not "None".')
        elif any(v == ABSENT for v in cleaned):
            if name in CONTENT_FACETS:
                why = f"the clip's domain {domain} says this content is present"
            else:
                why = "this facet is never absent"
            problems.append(f'Facet "{name}" must not be "None": {why}; describe it in all {VARIANTS} variants.')
    return facets


def _validate_confidences(raw: Any, problems: list[str]) -> dict[str, list[float]]:
    confidences: dict[str, list[float]] = {}
    if not isinstance(raw, dict):
        problems.append('"confidences" is missing or is not an object; it must map each facet to a list '
                        f"of {VARIANTS} numbers between 0 and 1 (one per variant).")
        return confidences
    for name in FACETS:
        values = raw.get(name)
        if values is None:
            problems.append(f'Confidences for facet "{name}" are missing.')
            continue
        if not isinstance(values, list) or len(values) != VARIANTS:
            count = f"has {len(values)} entries" if isinstance(values, list) else "is not a list"
            problems.append(f'Confidences for facet "{name}" must be a list of exactly {VARIANTS} numbers '
                            f"(one per variant), but it {count}.")
            continue
        if not all(_is_number(v) for v in values):
            problems.append(f'Confidences for facet "{name}" must all be numbers, not strings or null.')
            continue
        if not all(0.0 <= v <= 1.0 for v in values):
            problems.append(f'Confidences for facet "{name}" must lie between 0 and 1; got {values}.')
            continue
        confidences[name] = [float(v) for v in values]
    return confidences


def _normalise_label(value: Any) -> Any:
    if isinstance(value, str):
        return re.sub(r"[\s-]+", "_", value.strip().lower())
    return value


def _validate_qa(raw: Any, problems: list[str]) -> list[QaPair]:
    if not isinstance(raw, list):
        problems.append(f'"qa" is missing or is not a list; it must hold exactly {QA_PER_CLIP} question-answer objects.')
        return []
    if len(raw) != QA_PER_CLIP:
        problems.append(f'"qa" must hold exactly {QA_PER_CLIP} question-answer pairs, but it has {len(raw)}.')
    pairs: list[QaPair] = []
    for i, item in enumerate(raw, start=1):
        where = f"QA pair {i}"
        if not isinstance(item, dict):
            problems.append(f"{where} must be an object with category, difficulty, question, answer and confidence.")
            continue
        n_before = len(problems)
        category = _normalise_label(item.get("category"))
        difficulty = _normalise_label(item.get("difficulty"))
        if category not in QA_CATEGORIES:
            problems.append(f"{where} has category {item.get('category')!r}; use one of {', '.join(QA_CATEGORIES)}.")
        if difficulty not in QA_DIFFICULTIES:
            problems.append(f"{where} has difficulty {item.get('difficulty')!r}; use one of {', '.join(QA_DIFFICULTIES)}.")
        texts = {}
        for part in ("question", "answer"):
            value = item.get(part)
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{where} has an empty or missing {part}.")
            else:
                texts[part] = " ".join(value.split())
        confidence = item.get("confidence")
        if not _is_number(confidence):
            problems.append(f"{where} needs a numeric confidence between 0 and 1.")
        elif not 0.0 <= confidence <= 1.0:
            problems.append(f"{where} has confidence {confidence}; it must lie between 0 and 1.")
        if len(problems) == n_before:
            pairs.append(QaPair(category, difficulty, texts["question"], texts["answer"], float(confidence)))
    return pairs


def validate_payload(payload: Any, domain: str) -> CaptionRecord:
    """Validate and normalise a decoded reply (or stored record) for a clip of ``domain``.

    Raises :class:`CaptionValidationError` listing every problem; ``ValueError`` for a malformed
    ``domain`` (a caller error, not the model's).
    """
    _check_domain(domain)
    if not isinstance(payload, dict):
        raise CaptionValidationError("The reply must be a JSON object with the keys facets, confidences and qa.")
    problems: list[str] = []
    facets = _validate_facets(payload.get("facets"), domain, problems)
    confidences = _validate_confidences(payload.get("confidences"), problems)
    qa = _validate_qa(payload.get("qa"), problems)
    problems += [f"{where} contains a lone surrogate ({code}), which is not valid Unicode text; write the "
                 "character itself" for where, code in _lone_surrogates(payload)][:5]
    if problems:
        raise CaptionValidationError(problems)
    return CaptionRecord(domain=domain, facets=facets, confidences=confidences, qa=qa)


def _lone_surrogates(value: Any, where: str = "the reply") -> list[tuple[str, str]]:
    """Every string in ``value`` holding a UTF-16 surrogate code point (JSON's "\\ud800" escapes
    decode to these; no file format can store them), with where it is."""
    if isinstance(value, str):
        bad = [c for c in value if 0xD800 <= ord(c) <= 0xDFFF]
        return [(where, f"U+{ord(bad[0]):04X}")] if bad else []
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in _lone_surrogates(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in _lone_surrogates(v, f"{where}[{i}]")]
    return []


def parse_reply(text: str, domain: str) -> CaptionRecord:
    """Parse a model's answer for a clip of ``domain`` into a validated :class:`CaptionRecord`.

    Any reasoning (``<think>`` blocks) in ``text`` is removed first and never parsed. The JSON may
    be plain, fenced (```json) or wrapped in prose. Raises :class:`CaptionValidationError`.
    """
    answer, _ = split_reasoning(text)
    return validate_payload(extract_json_object(answer), domain)


def record_to_json(record: CaptionRecord) -> dict:
    """A JSON-serialisable dict of ``record`` (inverse of :func:`record_from_json`)."""
    return {
        "domain": record.domain,
        "facets": {f: list(v) for f, v in record.facets.items()},
        "confidences": {f: [float(c) for c in v] for f, v in record.confidences.items()},
        "qa": [asdict(pair) for pair in record.qa],
    }


def record_from_json(d: dict) -> CaptionRecord:
    """Rebuild (and re-validate) a record stored with :func:`record_to_json`."""
    if not isinstance(d, dict) or "domain" not in d:
        raise CaptionValidationError("A stored caption record must be an object with a domain.")
    return validate_payload(d, d["domain"])
