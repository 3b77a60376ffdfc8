"""The metadata expert: clean a source's title, description and tags, and guess their language.

Titles, descriptions and tags come from a user's manifest (YouTube titles and the like). They
are UNTRUSTED text that a later stage puts into an LLM prompt, so this module only makes the
text clean and bounded:

* HTML entities are decoded (repeatedly, so ``&amp;amp;`` becomes ``&``) and HTML tags removed;
* URLs (``http://``, ``https://``, ``www.``) are removed: they carry no acoustic evidence and
  are a common vehicle for spam;
* emoji and other pictographic symbols are removed, letters of every script (CJK, accented
  Latin, Arabic, ...) are kept;
* control, zero-width, bidi-override, Unicode tag ("ASCII smuggling") and private-use
  characters are removed, so what a reviewer sees is what the model reads;
* the text is NFC-normalised, whitespace collapsed and the result truncated at a word
  boundary with an ellipsis.

It deliberately does NOT try to neutralise prompt injection by rewriting words such as
"ignore previous instructions": that cannot be done reliably and would corrupt honest text.
The text stays data; the prompt stage fences it, and every row carries ``trusted = False`` so
that downstream code has to treat it as untrusted on purpose.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import pyarrow as pa

from acav_assets.contracts.domains import STATUS_ERROR, STATUS_OK, error_text
from acav_assets.experts.spec import DECODED, ExpertOutput, ExpertSpec, ShardInputs
from acav_assets.ingest.clip_decoding import CLIPS_SCHEMA
from acav_assets.io.table_fields import described_field

__all__ = [
    "CHANGE_KINDS",
    "METADATA_FIELDS",
    "MIN_LANGUAGE_LETTERS",
    "analyse_metadata",
    "detect_language",
    "normalise_text",
]

#: Every name that can appear in ``text_changes``, in the order they are reported.
CHANGE_KINDS: tuple[str, ...] = (
    "html_entities",  # HTML entities decoded
    "html_tags",  # HTML tags (and script/style blocks) removed
    "urls_removed",
    "emoji_removed",  # emoji and pictographic symbols removed
    "control_chars",  # control, zero-width, bidi, tag and private-use characters removed
    "unicode_nfc",  # NFC normalisation changed the text
    "whitespace",  # the input had runs of whitespace, tabs, line breaks or outer spaces
    "truncated",
    "tags_deduplicated",  # tags equal but for case (after cleaning) merged
    "tags_limited",  # more than max_tags tags; the rest dropped
)

#: Fewer letters than this (after cleaning, all fields together) and ``language`` is None:
#: a word or two gives the identifier nothing to go on. Consumers that need a reliable
#: language should also threshold ``language_confidence``.
MIN_LANGUAGE_LETTERS = 3

ELLIPSIS = "\u2026"
_MAX_UNESCAPE_ROUNDS = 4
# Work is bounded on hostile inputs (multi-megabyte descriptions): only this many raw
# characters per output character are looked at.
_RAW_CHARS_PER_OUTPUT_CHAR = 20
_RAW_CHARS_MIN = 10_000

_SCRIPT_STYLE_RE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
# A real tag starts with a letter (or /letter), so "a < b and c > d" is left alone.
_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
_BLOCK_TAGS = frozenset("br p div li ul ol tr td th h1 h2 h3 h4 h5 h6 hr table blockquote pre".split())
_URL_RE = re.compile(r"(?<![\w@.])(?:https?://|www\.)\S+", re.IGNORECASE)

# Blocks that are (almost) all emoji or pictographs: removed whole, whatever the category.
_PICTOGRAPHIC_BLOCKS: tuple[tuple[int, int], ...] = (
    (0x1F000, 0x1FAFF),  # mahjong .. symbols & pictographs ext-A (emoticons, flags, skin tones)
    (0x1FB00, 0x1FBFF),  # symbols for legacy computing
    (0x2600, 0x27BF),  # miscellaneous symbols, dingbats
    (0xFE00, 0xFE0F),  # variation selectors (emoji / text presentation)
    (0x20DD, 0x20E4),  # combining enclosing marks (keycaps)
)
# Blocks of mixed content where only the "Symbol, other" characters are dropped:
# keeps arrows used as text and technical signs of category Sm, drops ⌚ ⏰ ▶ ⭐ ⬛.
_SYMBOL_BLOCKS: tuple[tuple[int, int], ...] = (
    (0x2300, 0x23FF),  # miscellaneous technical
    (0x25A0, 0x25FF),  # geometric shapes
    (0x2B00, 0x2BFF),  # miscellaneous symbols and arrows
    (0x3297, 0x3299),  # circled ideographs used as emoji (㊗ ㊙)
)
_EMOJI_PRESENTATION = "\ufe0f"
_ZWJ, _ZWNJ = "\u200d", "\u200c"


def _in(code: int, blocks: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in blocks)


def _is_pictographic(char: str) -> bool:
    code = ord(char)
    if _in(code, _PICTOGRAPHIC_BLOCKS):
        return True
    return _in(code, _SYMBOL_BLOCKS) and unicodedata.category(char) == "So"


def _is_invisible(char: str) -> bool:
    """Control (but not whitespace), format, surrogate, private-use or unassigned characters."""
    category = unicodedata.category(char)
    if category == "Cc":
        return not char.isspace()
    return category in ("Cf", "Cs", "Co", "Cn")


def _is_script_letter(char: str) -> bool:
    """A letter or mark outside ASCII: where ZWJ/ZWNJ can be part of the spelling (Persian, Indic)."""
    return ord(char) > 0x7F and unicodedata.category(char)[0] in "LM"


def _decode_html(text: str, changes: set[str]) -> str:
    for _ in range(_MAX_UNESCAPE_ROUNDS):
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        changes.add("html_entities")
        text = unescaped
    # Judged on the user's own text, not on the gaps that the removals leave behind.
    if " ".join(text.split()) != text:
        changes.add("whitespace")
    stripped = _SCRIPT_STYLE_RE.sub(" ", text)
    stripped = _COMMENT_RE.sub(" ", stripped)

    def replace_tag(match: re.Match[str]) -> str:
        name = re.match(r"</?([A-Za-z0-9]+)", match.group(0))
        return " " if name and name.group(1).lower() in _BLOCK_TAGS else ""

    stripped = _TAG_RE.sub(replace_tag, stripped)
    if stripped != text:
        changes.add("html_tags")
    return stripped


def _remove_symbols(text: str, changes: set[str]) -> str:
    """Drop pictographs (as a space) and invisible characters (as nothing)."""
    out: list[str] = []
    n = len(text)
    for i, char in enumerate(text):
        following = text[i + 1] if i + 1 < n else ""
        if _is_pictographic(char) or (
            # a text symbol (©, ↔, ™ ...) asked to render as emoji
            following == _EMOJI_PRESENTATION and unicodedata.category(char).startswith("S")
        ):
            changes.add("emoji_removed")
            out.append(" ")
        elif char in (_ZWJ, _ZWNJ):
            previous = text[i - 1] if i else ""
            if previous and following and _is_script_letter(previous) and _is_script_letter(following):
                out.append(char)  # joiner inside a word of a script that needs it
            elif _is_pictographic(previous) or _is_pictographic(following):
                changes.add("emoji_removed")  # glue of an emoji sequence
            else:
                changes.add("control_chars")
        elif _is_invisible(char):
            changes.add("control_chars")
        elif unicodedata.category(char) in ("Zl", "Zp"):
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def _truncate(text: str, max_chars: int) -> str:
    """At most ``max_chars`` characters, cut at a word boundary where there is one, plus '…'."""
    if len(text) <= max_chars:
        return text
    room = max_chars - len(ELLIPSIS)
    if room <= 0:
        return ELLIPSIS[:max_chars]
    head = text[:room]
    if not text[room].isspace():
        boundary = head.rfind(" ")
        # Without a space in the second half (CJK, one long word), cut mid-word.
        if boundary >= room // 2:
            head = head[:boundary]
    head = head.rstrip(" ,;:-\u2013\u2014")
    return head + ELLIPSIS


def normalise_text(text: str | None, max_chars: int) -> tuple[str | None, list[str]]:
    """Clean one untrusted text field; returns the text (None when nothing is left) and the changes.

    Changes are names from ``CHANGE_KINDS`` in that order. The result is never longer than
    ``max_chars``. No words are rewritten: what survives is the user's text, made plain.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    if text is None:
        return None, []
    text = str(text)
    changes: set[str] = set()
    limit = max(max_chars * _RAW_CHARS_PER_OUTPUT_CHAR, _RAW_CHARS_MIN)
    if len(text) > limit:
        text = text[:limit]
        changes.add("truncated")

    text = _decode_html(text, changes)
    without_urls = _URL_RE.sub(" ", text)
    if without_urls != text:
        changes.add("urls_removed")
    text = _remove_symbols(without_urls, changes)

    normalised = unicodedata.normalize("NFC", text)
    if normalised != text:
        changes.add("unicode_nfc")
    collapsed = " ".join(normalised.split())
    truncated = _truncate(collapsed, max_chars)
    if truncated != collapsed:
        changes.add("truncated")
    return (truncated or None), [kind for kind in CHANGE_KINDS if kind in changes]


@lru_cache(maxsize=1)
def _language_identifier():
    """py3langid's model with normalised probabilities, restricted to ISO 639-1 (two-letter) codes."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    # The model also knows ISO 639-3 languages and 'zxx' (no linguistic content); restricting
    # folds their probability mass into the closest two-letter languages (yue, wuu -> zh).
    identifier.set_languages([code for code in identifier.labels if len(code) == 2])
    return identifier


def detect_language(text: str | None) -> tuple[str | None, float | None]:
    """ISO 639-1 code and its normalised probability, or (None, None) when the text is too short."""
    if not text or sum(1 for char in text if char.isalpha()) < MIN_LANGUAGE_LETTERS:
        return None, None
    ranked = _language_identifier().rank(text)
    (language, confidence), (_, lowest) = ranked[0], ranked[-1]
    if confidence - lowest < 1e-9:
        return None, None  # no known n-gram at all: a uniform guess is no answer
    return language, round(float(confidence), 4)


def analyse_metadata(
    title: str | None,
    description: str | None,
    tags: Sequence[str] | None,
    max_title_chars: int = 200,
    max_description_chars: int = 1000,
    max_tags: int = 30,
    max_tag_chars: int = 50,
) -> dict:
    """One row of the metadata table (keys as ``METADATA_FIELDS``) for one source's metadata.

    ``tags`` is a sequence of strings; a single string is taken as one tag. Tags are cleaned
    like the text, empty ones dropped, duplicates (ignoring case) merged keeping the first
    spelling, and at most ``max_tags`` kept.
    """
    changes: set[str] = set()
    clean_title, title_changes = normalise_text(title, max_title_chars)
    clean_description, description_changes = normalise_text(description, max_description_chars)
    changes.update(title_changes, description_changes)

    if tags is None:
        raw_tags: list[object] = []
    elif isinstance(tags, str):
        raw_tags = [tags]
    else:
        raw_tags = list(tags)
    clean_tags: list[str] = []
    seen: set[str] = set()
    for raw in raw_tags:
        if raw is None:
            continue
        tag, tag_changes = normalise_text(str(raw), max_tag_chars)
        changes.update(tag_changes)
        if tag is None:
            continue
        folded = tag.casefold()
        if folded in seen:
            changes.add("tags_deduplicated")
            continue
        if len(clean_tags) >= max_tags:
            changes.add("tags_limited")
            continue
        seen.add(folded)
        clean_tags.append(tag)

    parts = [part for part in (clean_title, clean_description) if part]
    if clean_tags:
        parts.append(", ".join(clean_tags))
    language, confidence = detect_language(". ".join(parts))
    return {
        "title": clean_title,
        "description": clean_description,
        "tags": clean_tags,
        "language": language,
        "language_confidence": confidence,
        "text_changes": [kind for kind in CHANGE_KINDS if kind in changes],
        "trusted": False,
        "has_metadata": bool(parts),
    }


def _field(name: str, dtype: pa.DataType, description: str, unit: str = "", nullable: bool = True) -> pa.Field:
    return described_field(name, dtype, unit, description, nullable)


METADATA_FIELDS: list[pa.Field] = [
    _field("title", pa.string(), "Cleaned source title (UNTRUSTED user text); null when absent or empty."),
    _field("description", pa.string(), "Cleaned source description (UNTRUSTED user text); null when absent."),
    _field("tags", pa.list_(pa.string()),
           "Cleaned source tags (UNTRUSTED), de-duplicated ignoring case, empty ones dropped."),
    _field("language", pa.string(),
           "ISO 639-1 language of title, description and tags (py3langid); null when under "
           f"{MIN_LANGUAGE_LETTERS} letters or no n-gram is known."),
    _field("language_confidence", pa.float64(), "Normalised probability of the detected language.",
           unit="probability"),
    _field("text_changes", pa.list_(pa.string()),
           "What cleaning changed, any of: " + ", ".join(CHANGE_KINDS) + "."),
    _field("trusted", pa.bool_(),
           "Always false: the text is user-supplied data, to be fenced in prompts, never obeyed.",
           nullable=False),
    _field("has_metadata", pa.bool_(), "Whether any title, description or tag survived cleaning.",
           nullable=False),
]


def metadata_of_shard(inputs: ShardInputs) -> ExpertOutput:
    """Every decoded clip's source text cleaned; a clip whose text cannot be cleaned gets its reason."""
    rows = []
    for clip in inputs.read("clips", CLIPS_SCHEMA).to_pylist():
        if clip["status"] != STATUS_OK:
            continue
        row = {"key": clip["key"], "shard": inputs.shard}
        try:
            row.update(analyse_metadata(clip["title"], clip["description"], clip["tags"]), status=STATUS_OK)
        except Exception as error:  # recorded per clip
            row.update(status=STATUS_ERROR, error=error_text(error))
        rows.append(row)
    table = pa.Table.from_pylist(rows, schema=SPEC.schema)
    languages = Counter(row.get("language") for row in rows)
    return ExpertOutput(table, {"languages": {str(k): v for k, v in languages.items()}})


SPEC = ExpertSpec(
    name="metadata",
    description="Source titles, descriptions and tags normalised (entities, URLs, emoji, control characters, "
    "whitespace), length-limited, language-tagged and marked untrusted.",
    fields=tuple(METADATA_FIELDS), analyse=metadata_of_shard, reads=("clips",), coverage=DECODED,
    ranges={"language_confidence": (0.0, 1.0)}, value_sets={"trusted": [False]},
    check="One row per decoded clip, every row marked untrusted.",
)
