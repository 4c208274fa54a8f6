"""Bounded stage-output schemas: every string and list bounded, every bound within max_tokens."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from drafting.outputs import (
    STAGE_OUTPUTS,
    TEXT_CHARS,
    DiagnosisOutput,
    ExerciseType,
    FindingsOutput,
    ModalityRehabilitationOutput,
    RehabilitationOutput,
    max_reply_chars,
    max_reply_tokens,
    text_pattern,
)
from drafting.prompts import STAGES, available_versions, load_prompt

REPO = Path(__file__).resolve().parent.parent


def _nodes(schema: dict) -> list[tuple[str, dict]]:
    """Every (path, node) of a pydantic JSON schema, $refs resolved."""
    defs = schema.get("$defs", {})
    out: list[tuple[str, dict]] = []

    def walk(node: dict, path: str) -> None:
        if "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        out.append((path, node))
        for key, sub in node.get("properties", {}).items():
            walk(sub, f"{path}.{key}")
        if "items" in node:
            walk(node["items"], f"{path}[]")

    walk(schema, "")
    return out


def _pattern_lengths(pattern: str) -> tuple[int, int]:
    """Shortest and longest string an anchored pattern of classes, {m,n} and literals matches."""
    body = pattern.removeprefix("^").removesuffix("$")
    shortest = longest = 0
    for _cls, low, high, literal in re.findall(r"(\[[^\]]*\])(?:\{(\d+),(\d+)\})?|(.)", body):
        if literal or not low:
            shortest, longest = shortest + 1, longest + 1
        else:
            shortest, longest = shortest + int(low), longest + int(high)
    return shortest, longest


def test_phrases_refuse_one_word_filler_in_the_pattern_itself():
    from drafting.outputs import phrase_pattern

    pattern = phrase_pattern(60)
    # Padded with trailing spaces, one word still satisfied a "space then anything" tail.
    for filler in ("None", "none", "exercise", "N/A", "Walking", "None   ", "Medium-low.  ", "x  y"):
        assert not re.match(pattern, filler), filler
    for good in ("Brisk walking", "3 sessions per week", "RPE 11-13", "Increase by 5 minutes each week"):
        assert re.match(pattern, good), good
    assert _pattern_lengths(pattern) == (3, 60)


@pytest.mark.parametrize("model", list(STAGE_OUTPUTS.values()), ids=list(STAGE_OUTPUTS))
def test_every_string_and_list_is_bounded_and_the_pattern_carries_the_length(model):
    for path, node in _nodes(model.model_json_schema()):
        if node.get("type") == "string" and "enum" in node:
            assert node["enum"] and all(isinstance(v, str) for v in node["enum"]), path
        elif node.get("type") == "string":
            assert "maxLength" in node and "pattern" in node, path
            # llama.cpp ignores maxLength next to a pattern: the pattern itself must bound length.
            shortest, longest = _pattern_lengths(node["pattern"])
            assert longest == node["maxLength"], path
            assert shortest <= node["minLength"], path
        if node.get("type") == "array":
            assert node.get("minItems", 0) >= 1 and "maxItems" in node, path
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, path
            assert set(node["required"]) == set(node["properties"]), path


def _all_prompt_versions():
    return [(stage, v) for stage in STAGES for v in available_versions(stage, prompts_dir=REPO / "prompts")]


@pytest.mark.parametrize(("stage", "version"), _all_prompt_versions())
def test_the_largest_admitted_reply_fits_in_max_tokens_for_every_prompt_version(stage, version):
    spec = load_prompt(stage, version, prompts_dir=REPO / "prompts")
    assert max_reply_tokens(spec.output_model) <= spec.parameters.max_tokens


def _longest_string(pattern: str, fill: str) -> str:
    """The longest string a pattern of classes, {m,n} and literals admits, filled with ``fill``."""
    body = pattern.removeprefix("^").removesuffix("$")
    out = []
    for cls, _low, high, literal in re.findall(r"(\[[^\]]*\])(?:\{(\d+),(\d+)\})?|(.)", body):
        if literal:
            out.append(literal)
        elif not high:
            out.append("A")  # the first character
        else:
            chars = fill if " " in cls else fill.replace(" ", "x")  # a one-word part has no space
            out.append((chars * int(high))[: int(high)])
    return "".join(out)


def _longest_reply(model, fill: str) -> str:
    """The longest JSON text the schema admits, strings filled by repeating ``fill``."""
    defs = model.model_json_schema().get("$defs", {})

    def build(node: dict):
        if "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        if node["type"] == "object":
            return {k: build(v) for k, v in node["properties"].items()}
        if node["type"] == "array":
            return [build(node["items"]) for _ in range(node["maxItems"])]
        if "enum" in node:
            return max(node["enum"], key=len)
        return _longest_string(node["pattern"], fill)

    data = build(model.model_json_schema())
    model.model_validate(data)  # it is admitted
    return json.dumps(data, separators=(", ", ": "))


@pytest.mark.parametrize("model", list(STAGE_OUTPUTS.values()), ids=list(STAGE_OUTPUTS))
def test_computed_bound_covers_the_longest_reply_in_characters(model):
    text = _longest_reply(model, "x")
    assert len(text) <= max_reply_chars(model.model_json_schema())


@pytest.fixture(scope="module")
def tokenizer():
    """SmolLM2's own tokenizer (vocab only; no weights in memory, no server)."""
    llama_cpp = pytest.importorskip("llama_cpp")
    from drafting.llm.local_server import find_gguf

    try:
        path = find_gguf()
    except Exception as exc:  # noqa: BLE001 - the local extra is optional
        pytest.skip(f"embedded model not installed: {exc}")
    llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    return lambda text: len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))


@pytest.mark.parametrize("model", list(STAGE_OUTPUTS.values()), ids=list(STAGE_OUTPUTS))
def test_the_longest_reply_measured_with_the_model_tokenizer_fits_the_bound(model, tokenizer):
    # Characters that rarely merge into multi-character tokens, the worst case for a BPE budget.
    for fill in ("x", "(;", " 9/", "q!z%", TEXT_CHARS.replace("A-Za-z0-9", "aZ0")):
        text = _longest_reply(model, fill)
        assert tokenizer(text) <= max_reply_tokens(model)
    # Every admitted character is one token at most: the tokens <= characters argument holds.
    for ch in sorted(set("abcXYZ019" + TEXT_CHARS.replace("A-Za-z0-9", ""))):
        assert tokenizer(ch) == 1, ch


# --- what the schemas refuse ----------------------------------------------------------------------

FINDING = "Sheet-like calcifications in the soft tissue of both thighs."


@pytest.mark.parametrize(
    "bad",
    [
        "   ",
        "{{id}}: {{{name}}}, {{description}},",
        "<finding>",
        "[insert finding]",
        "beneficial_exercise",
        'He said "stop"',
        "Reference 2",
        "Case 1 / Reference 2",
        "reference 1.",
        "N/A",
        "Other patient had a fracture",
        "x" * 151,
    ],
)
def test_findings_refuse_placeholders_labels_and_overlong_text(bad):
    with pytest.raises(ValidationError):
        FindingsOutput(findings=[bad])
    assert FindingsOutput(findings=[FINDING]).findings == [FINDING]


def test_a_diagnosis_that_describes_the_patient_is_refused():
    good = {
        "primary": "Dermatomyositis",
        "reasoning": "Soft tissue calcinosis and proximal weakness.",
        "differentials": [{"name": "Systemic sclerosis", "reasoning": "Calcinosis occurs too."}],
        "final_diagnosis": "Dermatomyositis",
    }
    DiagnosisOutput.model_validate(good)
    with pytest.raises(ValidationError, match="describes the patient"):
        DiagnosisOutput.model_validate({**good, "primary": "48-year-old unknown"})


def _plan(exercise_type: str) -> dict:
    """A valid plan with one exercise item of the given type."""
    return {
        "goals": ["Restore strength"],
        "exercises": [
            {"type": exercise_type, "frequency": "3 per week", "intensity": "Light effort",
             "time": "20 min", "volume": "60 min per week", "progression": "Add 5 min weekly"}
        ],
        "precautions": ["Avoid impact"],
        "monitoring": ["Pain scores"],
    }


def test_list_bounds_are_validated_without_a_grammar():
    plan = _plan("Brisk walking")
    RehabilitationOutput.model_validate(plan)
    with pytest.raises(ValidationError, match="at most 3 items"):
        RehabilitationOutput.model_validate({**plan, "goals": ["Restore strength"] * 4})
    with pytest.raises(ValidationError, match="at least 1 item"):
        RehabilitationOutput.model_validate({**plan, "precautions": []})


def test_modality_plans_admit_only_the_listed_exercise_types(to_gbnf):
    ModalityRehabilitationOutput.model_validate(_plan("walking"))
    for label in ("Type 1", "list of items", "Brisk walking"):
        with pytest.raises(ValidationError):
            ModalityRehabilitationOutput.model_validate(_plan(label))
    # the grammar offers exactly the listed types at that position
    gbnf = to_gbnf(ModalityRehabilitationOutput.model_json_schema())
    for name in ExerciseType.__args__:
        assert f'\\"{name}\\"' in gbnf


def test_text_pattern_is_anchored_and_bounded():
    pattern = re.compile(text_pattern(10))
    assert pattern.match("Abc def gh") and not pattern.match("Abc def ghi")
    assert not pattern.match(" leading space") and not pattern.match("ab")


# --- llama.cpp's grammar honours every bound the schemas rely on -------------------------------


@pytest.fixture(scope="module")
def to_gbnf():
    grammar = pytest.importorskip("llama_cpp.llama_grammar")
    return lambda schema: grammar.json_schema_to_gbnf(json.dumps(schema))


def _rules(gbnf: str) -> dict[str, str]:
    return dict(line.split(" ::= ", 1) for line in gbnf.splitlines() if " ::= " in line)


def test_grammar_bounds_pattern_length_and_item_counts(to_gbnf):
    # A bounded pattern becomes nested optional repetitions: exactly max - min of them.
    rules = _rules(to_gbnf({"type": "string", "pattern": text_pattern(12)}))
    assert rules["root"].count(")?") == 12 - 3
    assert "*" not in rules["root"] and "+" not in re.sub(r"\[[^\]]*\]", "", rules["root"])
    # maxLength next to a pattern is ignored: the reason the pattern carries the bound.
    rules = _rules(to_gbnf({"type": "string", "pattern": "^[a-z]+$", "maxLength": 5}))
    assert "+" in rules["root"]
    # maxItems: the array rule allows at most that many items.
    rules = _rules(to_gbnf({"type": "array", "items": {"type": "string", "pattern": text_pattern(5)},
                            "minItems": 1, "maxItems": 3}))
    assert "*" not in rules["root"] and rules["root"].count(")?") == 2


@pytest.mark.parametrize("model", list(STAGE_OUTPUTS.values()), ids=list(STAGE_OUTPUTS))
def test_stage_grammars_have_no_unbounded_repetition(model, to_gbnf):
    rules = _rules(to_gbnf(model.model_json_schema()))
    assert rules["space"] == '" "?'  # one space at most: what max_reply_chars assumes
    for name, body in rules.items():
        operators = re.sub(r'\[[^\]]*\]|"(?:[^"\\]|\\.)*"', "", body)  # drop classes, literals
        assert "*" not in operators and "+" not in operators, (name, body)
