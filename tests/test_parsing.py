import json

import pytest

from drafting.errors import ReplyParseError
from drafting.parsing import (
    describe_bounds,
    extract_json_text,
    parse_reply,
    repair_messages,
    salvage_reply,
)
from drafting.schema import DiagnosisOutput, FindingsOutput, RehabilitationOutput

VALID = {
    FindingsOutput: '{"findings": ["Soft tissue calcifications around both hips."]}',
    DiagnosisOutput: (
        '{"primary": "Dermatomyositis", "reasoning": "Calcinosis of soft tissue.", "differentials": '
        '[{"name": "Scleroderma", "reasoning": "Similar calcification."}], '
        '"final_diagnosis": "Dermatomyositis"}'
    ),
    RehabilitationOutput: (
        '{"goals": ["Restore strength"], "exercises": [{"type": "brisk walking", "frequency": "3 times/week",'
        ' "intensity": "light effort", "time": "20 min", "volume": "60 min/week", "progression": "+5 min"}],'
        ' "precautions": ["Avoid impact"], "monitoring": ["Muscle strength"]}'
    ),
}


@pytest.mark.parametrize("model", list(VALID))
def test_valid_replies_parse(model):
    out = parse_reply(VALID[model], model)
    assert isinstance(out, model)


def test_fenced_reply_with_prose_parses():
    raw = "Here you go:\n```json\n" + VALID[FindingsOutput] + "\n```"
    assert parse_reply(raw, FindingsOutput).findings[0].startswith("Soft tissue")
    assert extract_json_text("noise {\"a\": 1} trailing") == '{"a": 1}'


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", "empty"),
        ("OK", "not valid JSON"),
        ('{"findings": []}', "findings: must have at least 1 item"),
        ('{"findings": ["{{finding}}"]}', "findings.0: must be plain text of at least two words starting"),
        ('{"findings": ["Reference 2"]}', "findings.0: 'Reference 2' is a label or filler"),
        ('{"primary": "x"}', "reasoning: Field required"),
        ('{"findings": ["a"], "extra": 1}', "extra: Extra inputs are not permitted"),
    ],
)
def test_invalid_replies_raise_with_raw(raw, expected):
    model = DiagnosisOutput if "primary" in raw else FindingsOutput
    with pytest.raises(ReplyParseError) as info:
        parse_reply(raw, model, stage="findings")
    assert expected in str(info.value)
    assert info.value.raw_reply == raw
    assert info.value.stage == "findings"


def test_repair_messages_feed_back_the_error_without_mutating():
    messages = [("system", "s"), ("user", "u")]
    repaired = repair_messages(messages, "OK", "the reply is not valid JSON")
    assert messages == [("system", "s"), ("user", "u")]
    assert repaired[2] == ("assistant", "OK")
    assert repaired[3][0] == "user" and "not valid JSON" in repaired[3][1]


def test_repair_names_the_violation_and_the_budget():
    with pytest.raises(ReplyParseError) as info:
        parse_reply('{"findings": ["Case 1 / Reference 2"]}', FindingsOutput, stage="findings")
    budget = "the whole reply within 960 tokens; " + describe_bounds(FindingsOutput)
    repaired = repair_messages([("user", "u")], info.value.raw_reply, str(info.value), budget=budget)
    request = repaired[-1][1]
    assert "'Case 1' names a block of the prompt" in request
    assert "within 960 tokens" in request and "1 to 6 items of at most 150 characters" in request


def test_bounds_describe_every_list_and_string():
    text = describe_bounds(RehabilitationOutput)
    assert "goals: 1 to 3 items of at most 110 characters" in text
    assert "exercises: 1 to 2 items" in text and "exercises[].type: at most 60 characters" in text
    assert "diagnosis" not in text
    assert "differentials[].name: at most 90 characters" in describe_bounds(DiagnosisOutput)


# --- salvage: the last resort after repair ------------------------------------------------------


def test_salvage_drops_invalid_list_items_and_says_which():
    raw = json.dumps(
        {"findings": ["Calcified thigh soft tissue.", "Other patient", "No fracture is seen."]}
    )
    with pytest.raises(ReplyParseError):
        parse_reply(raw, FindingsOutput)
    out, dropped = salvage_reply(raw, FindingsOutput, stage="findings")
    assert out.findings == ["Calcified thigh soft tissue.", "No fracture is seen."]
    assert len(dropped) == 1 and dropped[0].startswith("findings.1: 'Other patient'")


def test_salvage_drops_the_whole_object_of_an_invalid_field():
    data = json.loads(VALID[RehabilitationOutput])
    good = data["exercises"][0]
    data["exercises"] = [{**good, "type": "Type 1"}, good]
    out, dropped = salvage_reply(json.dumps(data), RehabilitationOutput)
    assert [e.type for e in out.exercises] == ["brisk walking"]
    assert dropped and dropped[0].startswith("exercises.0.type")


@pytest.mark.parametrize(
    "change",
    [
        {"findings": ["Other patient"]},  # the list would fall below its minimum
        {"findings": ["Calcified thigh soft tissue."], "extra": 1},  # not inside a list
    ],
)
def test_salvage_refuses_when_dropping_items_cannot_make_it_valid(change):
    with pytest.raises(ReplyParseError, match="does not match FindingsOutput"):
        salvage_reply(json.dumps(change), FindingsOutput)


def test_salvage_fills_a_label_primary_from_the_model_own_first_differential():
    data = json.loads(VALID[DiagnosisOutput])
    data["primary"] = "Primary"
    data["final_diagnosis"] = "This patient's case is a similar one to the previous report"
    out, notes = salvage_reply(json.dumps(data), DiagnosisOutput)
    assert out.primary == out.final_diagnosis == "Scleroderma"
    assert [n.split(":")[0] for n in notes] == ["primary", "final_diagnosis"]
    assert "replaced by differentials.0.name" in notes[0]


def test_salvage_refuses_an_invalid_field_without_a_fallback():
    data = json.loads(VALID[DiagnosisOutput])
    data["reasoning"] = "{{reasoning}}"
    with pytest.raises(ReplyParseError, match="reasoning"):
        salvage_reply(json.dumps(data), DiagnosisOutput)
