import pytest

from drafting.errors import ReplyParseError
from drafting.parsing import extract_json_text, parse_reply, repair_messages
from drafting.schema import DiagnosisOutput, FindingsOutput, RehabilitationOutput

VALID = {
    FindingsOutput: '{"findings": ["Soft tissue calcifications around both hips."]}',
    DiagnosisOutput: (
        '{"primary": "Dermatomyositis", "reasoning": "Calcinosis of soft tissue.", "differentials": '
        '[{"name": "Scleroderma", "reasoning": "Similar calcification."}], '
        '"final_diagnosis": "Dermatomyositis"}'
    ),
    RehabilitationOutput: (
        '{"goals": ["Restore strength"], "exercises": [{"type": "walking", "frequency": "3/week",'
        ' "intensity": "light", "time": "20 min", "volume": "60 min/week", "progression": "+5 min"}],'
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
        ('{"findings": []}', "findings: List should have at least 1 item"),
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
