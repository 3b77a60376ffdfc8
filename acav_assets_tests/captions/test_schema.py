"""The caption reply schema: parsing, validation, reasoning separation, storage round trip."""

from __future__ import annotations

import copy
import json

import pytest

from acav_assets.captions.schema import (
    ABSENT,
    CAPTION_JSON_SCHEMA,
    CAPTION_RESPONSE_FORMAT,
    FACETS,
    QA_CATEGORIES,
    QA_DIFFICULTIES,
    CaptionRecord,
    CaptionValidationError,
    QaPair,
    extract_json_object,
    parse_reply,
    record_from_json,
    record_to_json,
    split_reasoning,
)
from acav_assets_tests.reference_data import MECAT_CAPTIONS

# One line of the MECAT caption train split (Apache-2.0), domain S0A.
MECAT_LINE = json.loads(r"""{"rr46abQGT24_61_1066665_71_1067": {"short": ["Female voice explaining a process with intermittent keyboard typing.", "Woman speaking while computer keyboard sounds occur periodically.", "Instructional narration accompanied by occasional typing noises."], "long": ["A female speaker delivers explanatory dialogue with sporadic keyboard clicks, accompanied by subtle background interference.", "Clear female narration interspersed with typing sounds and faint electronic noise.", "Computer keyboard taps punctuate a woman's detailed verbal explanation."], "speech": ["Instructional monologue in American English with neutral vocal delivery.", "Technical explanation spoken in calm, measured tones.", "Informative speech with professional pacing and articulation."], "music": ["None", "No musical elements detected", "Absence of melodic or rhythmic content"], "sound": ["Precise keyboard typing sounds occurring in distinct bursts.", "Sharp computer keyboard clicks at irregular intervals.", "Mechanical keystroke sounds with crisp attack characteristics."], "environment": ["Indoor office environment with close-mic vocal recording.", "Dry acoustic space suggesting workstation setting.", "Controlled recording environment with minimal room reflections."], "domain": "S0A"}}""")
REFERENCE_DIR = MECAT_CAPTIONS
DOMAIN = "S0A"

QA = [
    {"category": "direct_perception", "difficulty": "basic", "question": "Who is talking?",
     "answer": "A woman", "confidence": 0.9},
    {"category": "sound_characteristics", "difficulty": "intermediate", "question": "What do the clicks sound like?",
     "answer": "Short, crisp keyboard taps", "confidence": 0.8},
    {"category": "environment_reasoning", "difficulty": "intermediate", "question": "Where was this likely recorded?",
     "answer": "At a desk in a quiet office", "confidence": 0.7},
    {"category": "quality_assessment", "difficulty": "advanced", "question": "Is there background noise?",
     "answer": "Faint electronic interference", "confidence": 0.6},
    {"category": "inference_judgement", "difficulty": "complex", "question": "Why is she typing while talking?",
     "answer": "She is probably demonstrating software", "confidence": 0.5},
]


def payload() -> dict:
    """A valid reply: the real MECAT facets, invented confidences and QA."""
    facets = {f: list(v) for f, v in MECAT_LINE["rr46abQGT24_61_1066665_71_1067"].items() if f in FACETS}
    return {"facets": facets, "confidences": {f: [0.9, 0.8, 0.7] for f in FACETS}, "qa": copy.deepcopy(QA)}


def reply(data: dict | None = None) -> str:
    return json.dumps(payload() if data is None else data, ensure_ascii=False)


def problems_of(text: str, domain: str = DOMAIN) -> str:
    with pytest.raises(CaptionValidationError) as caught:
        parse_reply(text, domain)
    return str(caught.value)


# ---- valid replies --------------------------------------------------------------------------

def test_valid_reply_parses():
    record = parse_reply(reply(), DOMAIN)
    assert isinstance(record, CaptionRecord)
    assert record.domain == DOMAIN
    assert list(record.facets) == list(FACETS)
    assert record.facets["music"][0] == ABSENT
    assert record.facets["speech"][1] == "Technical explanation spoken in calm, measured tones."
    assert record.confidences["long"] == [0.9, 0.8, 0.7]
    assert len(record.qa) == 5 and isinstance(record.qa[0], QaPair)
    assert record.qa[4] == QaPair("inference_judgement", "complex", "Why is she typing while talking?",
                                  "She is probably demonstrating software", 0.5)


@pytest.mark.parametrize("wrap", [
    "```json\n{}\n```",
    "```\n{}\n```",
    "Here are the captions you asked for:\n\n```json\n{}\n```\nLet me know if you need more.",
    "Sure! {} I hope this helps.",
    "Analysis {{draft}} done. Final answer:\n{}\n\nThat is all.",
    "\n\n   {}   \n",
])
def test_fenced_and_prose_wrapped_json_parses(wrap):
    record = parse_reply(wrap.replace("{}", reply()), DOMAIN)
    assert record.facets["sound"][0].startswith("Precise keyboard")


def test_normalisation():
    data = payload()
    data["facets"]["music"][0] = "  none. "
    data["facets"]["long"][0] = "  A female   speaker\n delivers a talk. "
    data["qa"][0]["category"] = "Direct Perception"
    data["qa"][0]["difficulty"] = " BASIC "
    data["confidences"]["short"] = [1, 0, 0.5]
    record = parse_reply(reply(data), DOMAIN)
    assert record.facets["music"][0] == "None"
    assert record.facets["long"][0] == "A female speaker delivers a talk."
    assert (record.qa[0].category, record.qa[0].difficulty) == ("direct_perception", "basic")
    assert record.confidences["short"] == [1.0, 0.0, 0.5]
    assert all(isinstance(c, float) for c in record.confidences["short"])


# ---- invalid replies ---------------------------------------------------------------------------

def test_invalid_json_is_reported():
    message = problems_of('{"facets": {"long": ["a", "b", "c",]}}')
    assert "not valid JSON" in message


def test_truncated_json_is_reported():
    text = reply()
    message = problems_of(text[: len(text) // 2])
    assert "truncated" in message


def test_truncated_json_inside_fence_is_reported():
    text = reply()
    assert "truncated" in problems_of("```json\n" + text[:-40])


def test_empty_and_jsonless_replies():
    assert "empty" in problems_of("")
    assert "no JSON object" in problems_of("I cannot caption this clip.")


def test_missing_facet():
    data = payload()
    del data["facets"]["environment"]
    assert 'Facet "environment" is missing' in problems_of(reply(data))


@pytest.mark.parametrize("values, expected", [
    (["one", "two"], "exactly 3"),
    (["one", "two", "three", "four"], "has 4 entries"),
    ("one two three", "is not a list"),
    (["one", "", "three"], "variant 2 must be a non-empty string"),
    (["one", 5, "three"], "variant 2 must be a non-empty string"),
    (["Same words", "same words", "other"], "repeats a variant"),
])
def test_facet_variants(values, expected):
    data = payload()
    data["facets"]["long"] = values
    message = problems_of(reply(data))
    assert '"long"' in message and expected in message


@pytest.mark.parametrize("values, expected", [
    (None, 'Confidences for facet "short" are missing'),
    ([0.9, 0.8], "exactly 3 numbers"),
    ([0.9, "high", 0.7], "must all be numbers"),
    ([0.9, None, 0.7], "must all be numbers"),
    ([0.9, True, 0.7], "must all be numbers"),
    ([0.9, 1.2, 0.7], "between 0 and 1"),
    ([-0.1, 0.5, 0.7], "between 0 and 1"),
])
def test_confidences(values, expected):
    data = payload()
    if values is None:
        del data["confidences"]["short"]
    else:
        data["confidences"]["short"] = values
    assert expected in problems_of(reply(data))


def test_confidences_object_missing():
    data = payload()
    del data["confidences"]
    assert '"confidences" is missing' in problems_of(reply(data))


@pytest.mark.parametrize("count", [0, 4, 6])
def test_qa_count(count):
    data = payload()
    data["qa"] = (QA * 2)[:count]
    assert f"exactly 5 question-answer pairs, but it has {count}" in problems_of(reply(data))


@pytest.mark.parametrize("field, value, expected", [
    ("category", "trivia", "category 'trivia'"),
    ("difficulty", "easy", "difficulty 'easy'"),
    ("question", "  ", "empty or missing question"),
    ("answer", "", "empty or missing answer"),
    ("confidence", "0.8", "numeric confidence"),
    ("confidence", 7, "confidence 7"),
])
def test_qa_fields(field, value, expected):
    data = payload()
    data["qa"][2][field] = value
    message = problems_of(reply(data))
    assert "QA pair 3" in message and expected in message


def test_every_problem_is_listed():
    data = payload()
    del data["facets"]["short"]
    data["confidences"]["sound"] = [2, 2, 2]
    data["qa"][0]["category"] = "nonsense"
    data["qa"] = data["qa"][:4]
    with pytest.raises(CaptionValidationError) as caught:
        parse_reply(reply(data), DOMAIN)
    error = caught.value
    assert len(error.problems) == 4
    message = str(error)
    for part in ('"short"', '"sound"', "nonsense", "exactly 5"):
        assert part in message
    assert isinstance(error, ValueError)
    assert message.startswith("The reply does not follow the required JSON format (4 problems)")


def test_error_message_names_allowed_values():
    data = payload()
    data["qa"][1]["difficulty"] = "hard"
    message = problems_of(reply(data))
    for difficulty in QA_DIFFICULTIES:
        assert difficulty in message


def test_malformed_domain_is_a_caller_error():
    with pytest.raises(ValueError, match="three letters") as caught:
        parse_reply(reply(), "SXA")
    assert not isinstance(caught.value, CaptionValidationError)


# ---- domain consistency -------------------------------------------------------------------------

def test_absent_facet_must_be_none():
    """S00: music and sound are absent, but the reply describes sound."""
    message = problems_of(reply(), "S00")
    assert 'Facet "sound" must be absent' in message and "S00" in message
    assert 'Facet "music"' not in message


def test_present_facet_must_not_be_none():
    """SMA: music is present, but the reply says "None"."""
    message = problems_of(reply(), "SMA")
    assert 'Facet "music" must not be "None"' in message


def test_absent_facet_paraphrases_must_not_be_none():
    data = payload()
    data["facets"]["music"] = ["None", "None", "No music"]
    assert "paraphrases of absence" in problems_of(reply(data))


def test_always_present_facets_are_never_none():
    data = payload()
    data["facets"]["environment"] = ["None", "No environment information", "Unknown setting"]
    assert 'Facet "environment" must not be "None"' in problems_of(reply(data))
    data = payload()
    data["facets"]["short"][2] = "none"
    assert 'Facet "short" must not be "None"' in problems_of(reply(data))


def test_silent_domain_all_content_absent():
    data = payload()
    for facet in ("speech", "sound"):
        data["facets"][facet] = ["None", f"No {facet} present", f"Absence of any {facet}"]
    assert parse_reply(reply(data), "000").facets["speech"][0] == "None"
    with pytest.raises(CaptionValidationError):
        parse_reply(reply(data), DOMAIN)  # speech and sound are present in S0A


def test_reference_captions_pass_domain_consistency():
    """Every MECAT reference line is consistent with its own domain (when the data is here)."""
    files = sorted(REFERENCE_DIR.glob("*.jsonl"))
    if not files:
        pytest.skip("MECAT reference data not available")
    checked = 0
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines()[:200]:
            (value,) = json.loads(line).values()
            data = payload()
            data["facets"] = {f: value[f] for f in FACETS}
            parse_reply(reply(data), value["domain"])
            checked += 1
    assert checked > 500


# ---- reasoning ---------------------------------------------------------------------------------

DECOY = json.dumps({"facets": {"long": ["draft"]}, "qa": []})


def test_think_block_is_separated_and_never_parsed():
    text = f"<think>The tagger says rain. Draft: {DECOY}</think>\n\n{reply()}"
    answer, reasoning = split_reasoning(text)
    assert answer == reply()
    assert "Draft" in reasoning and DECOY in reasoning
    assert parse_reply(text, DOMAIN).facets["long"][0].startswith("A female speaker")


def test_lone_closing_tag_makes_the_prefix_reasoning():
    text = f"The template opened the block. {DECOY}\n</think>\n{reply()}"
    answer, reasoning = split_reasoning(text)
    assert answer == reply() and DECOY in reasoning
    assert parse_reply(text, DOMAIN).domain == DOMAIN


def test_unterminated_think_is_truncated_reasoning():
    text = f"<think>Still reasoning about {DECOY} when the token limit hit"
    answer, reasoning = split_reasoning(text)
    assert answer == ""
    assert reasoning.startswith("Still reasoning")
    message = problems_of(text)
    assert "empty" in message and "draft" not in message


def test_reasoning_content_field_is_kept_separately():
    answer, reasoning = split_reasoning(reply(), f"Weighing evidence {DECOY}")
    assert answer == reply()
    assert reasoning == f"Weighing evidence {DECOY}"


def test_reasoning_content_and_think_block_combined():
    answer, reasoning = split_reasoning("<think>inner</think>{\"a\": 1}", "outer")
    assert answer == '{"a": 1}'
    assert reasoning == "outer\n\ninner"


def test_no_reasoning():
    assert split_reasoning(reply()) == (reply(), None)
    assert split_reasoning(None) == ("", None)
    assert split_reasoning("  <THINK>  </Think> answer") == ("answer", None)


def test_extract_json_object_prefers_the_caption_object():
    text = 'Scores: {"speech": 0.9}\n' + reply()
    assert "facets" in extract_json_object(text)


# ---- JSON schema and storage -------------------------------------------------------------------

def test_json_schema_accepts_valid_and_rejects_invalid():
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(payload(), CAPTION_JSON_SCHEMA)
    bad = payload()
    bad["qa"][0]["category"] = "trivia"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, CAPTION_JSON_SCHEMA)
    bad = payload()
    bad["facets"]["long"] = ["a", "b"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, CAPTION_JSON_SCHEMA)


def test_json_schema_is_strict_mode_shaped():
    assert CAPTION_RESPONSE_FORMAT["type"] == "json_schema"
    assert CAPTION_RESPONSE_FORMAT["json_schema"]["schema"] is CAPTION_JSON_SCHEMA

    def walk(node):
        if node.get("type") == "object":
            assert node["additionalProperties"] is False
            assert sorted(node["required"]) == sorted(node["properties"])
            for child in node["properties"].values():
                walk(child)
        if node.get("type") == "array":
            walk(node["items"])

    walk(CAPTION_JSON_SCHEMA)
    assert set(CAPTION_JSON_SCHEMA["properties"]["facets"]["properties"]) == set(FACETS)
    qa_item = CAPTION_JSON_SCHEMA["properties"]["qa"]["items"]["properties"]
    assert qa_item["category"]["enum"] == list(QA_CATEGORIES)


def test_record_json_round_trip():
    record = parse_reply(reply(), DOMAIN)
    stored = json.loads(json.dumps(record_to_json(record)))
    assert stored["domain"] == DOMAIN and stored["qa"][0]["category"] == "direct_perception"
    assert record_from_json(stored) == record


def test_record_from_json_revalidates():
    stored = record_to_json(parse_reply(reply(), DOMAIN))
    stored["domain"] = "S00"
    with pytest.raises(CaptionValidationError):
        record_from_json(stored)


def test_a_lone_surrogate_is_a_problem_to_repair_not_a_crash():
    """JSON may escape a lone UTF-16 surrogate ("\\ud800"); such text cannot be written to Parquet,
    so the reply is refused (and repaired), and a raw reply kept for diagnosis is made storable."""
    from acav_assets.captions.table import caption_row, caption_table

    data = payload()
    data["facets"]["long"][0] = "A dog barks \ud800 loudly"
    assert "long[0] contains a lone surrogate (U+D800)" in problems_of(json.dumps(data))
    raw = json.loads(json.dumps("a reply with \udc00 in it"))
    table = caption_table([caption_row("k", "s", None, status="error", error="invalid", raw_reply=raw)])
    assert table["raw_reply"].to_pylist() == ["a reply with ? in it"]
