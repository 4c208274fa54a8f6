"""What each chain stage asks the model for: bounded output schemas.

Every string a model writes is plain text of bounded length, and every list has a minimum and a
maximum number of items, so the largest reply a schema admits is finite and known
(`max_reply_chars`). Each stage's ``max_tokens`` is set above that bound, so a grammar-constrained
server can never cut a reply off at the token limit.

How the bounds reach the model:

- llama.cpp's JSON-schema-to-grammar conversion (``llama_cpp.llama_grammar``) honours ``pattern``,
  ``minItems`` and ``maxItems``, but ignores ``maxLength`` whenever a string also has a
  ``pattern``. The length bound is therefore written into the pattern itself (bounded repetition),
  so the grammar enforces it. The pattern's character class keeps braces, brackets, angle brackets,
  quotes, backslashes, underscores and control characters out of every string: no template markers
  (``{{name}}``, ``<placeholder>``, ``[insert]``, ``snake_case_keys``) can be decoded.
- Servers without grammars (OpenAI ``json_schema``) get the same schema, and every reply goes
  through `drafting.parsing.parse_reply`, which validates the same bounds.
- What a regular grammar cannot express cheaply (a string that is only a label such as
  "Reference 2", or a diagnosis that is an age and a sex) is checked by validators here; a reply
  that fails them gets a repair turn naming the problem.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

#: Characters a drafted string may contain after its first: printable ASCII without braces,
#: brackets, angle brackets, quotes, backslash, underscore, pipe, backtick, asterisk, hash, dollar,
#: at and caret (the characters of template markers and markup). ASCII only, so each character is
#: at most one token for a byte-level BPE tokenizer (see `max_reply_tokens`).
TEXT_CHARS = r"A-Za-z0-9 .,;:()%/+'&?!=~-"
#: The first character: a letter, a digit, an opening parenthesis or a plus sign ("+5 min"); never
#: a space, so no string is whitespace only.
FIRST_CHARS = r"A-Za-z0-9(+"

#: Whole strings that are labels or filler, not content (case-insensitive).
_LABEL_RE = re.compile(
    r"^\s*(?:(?:other\s+)?(?:reference|case|patient|finding|findings|diagnosis|differential|item|"
    r"example|name|type|goal|precaution|monitoring|exercise|string|text|value|sentence|primary|"
    r"final(?:\s+diagnosis)?|list(?:\s+of\s+\w+)?)"
    r"(?:\s*(?:no\.?|#)?\s*\d+)?|none|n/?a|unknown|not\s+stated|tbd|todo|placeholder|"
    r"lorem ipsum.*)\s*[.:]?\s*$",
    re.I,
)
#: Labels of the prompt's own blocks, which must never be copied into a draft.
_BLOCK_LABEL_RE = re.compile(r"\b(?:reference|case)\s*(?:no\.?|#)?\s*\d+\b|\bother patient\b", re.I)


def text_pattern(max_chars: int, min_chars: int = 3) -> str:
    """The regex a bounded plain-text string must match (anchored, as llama.cpp requires).

    Args:
        max_chars: Most characters the string may have.
        min_chars: Fewest characters.
    """
    return f"^[{FIRST_CHARS}][{TEXT_CHARS}]{{{min_chars - 1},{max_chars - 1}}}$"


def phrase_pattern(max_chars: int, first_word_chars: int = 24) -> str:
    """The regex of a bounded plain-text string of at least two words (anchored).

    A space must come within the first ``first_word_chars + 1`` characters and be followed by a
    character that is not a space, so one-word filler ("None", "exercise", "N/A") cannot be decoded
    at all under a grammar, not even padded with trailing spaces ("None   " was, and stripping it
    left one word). The words after the first take at most ``max_chars - first_word_chars - 2``
    characters, so the total stays at most ``max_chars`` (a regular grammar cannot couple the two
    counts more tightly).
    """
    head = min(first_word_chars, max_chars - 3)
    word = TEXT_CHARS.replace(" ", "")
    tail = max_chars - head - 3
    return f"^[{FIRST_CHARS}][{word}]{{0,{head}}} [{word}][{TEXT_CHARS}]{{0,{tail}}}$"


def _real_content(value: str) -> str:
    if _LABEL_RE.match(value):
        raise ValueError(f"'{value}' is a label or filler, not content: write what it stands for")
    if m := _BLOCK_LABEL_RE.search(value):
        raise ValueError(
            f"'{m.group(0)}' names a block of the prompt: describe this patient without citing it"
        )
    return value


def _not_a_person(value: str) -> str:
    # "48-year-old unknown"; "This patient's case is a similar one to the previous report".
    if re.match(r"^\s*(?:\d+[- ]?(?:year|yr|month|day)s?[- ]old\b|(?:this|the)\s+patient)", value, re.I):
        raise ValueError(f"'{value}' describes the patient, not a diagnosis: name a disease")
    return value


def Text(max_chars: int, min_chars: int = 3) -> Any:  # noqa: N802 - a type factory
    """A bounded plain-text string type: length and characters in the schema, content checked.

    Args:
        max_chars: Most characters (enforced by the pattern, so also by llama.cpp's grammar).
        min_chars: Fewest characters.
    """
    return Annotated[
        str,
        StringConstraints(
            min_length=min_chars, max_length=max_chars, pattern=text_pattern(max_chars, min_chars)
        ),
        AfterValidator(_real_content),
    ]


def Phrase(max_chars: int, min_chars: int = 3) -> Any:  # noqa: N802 - a type factory
    """`Text` of at least two words, enforced by the pattern (so also by llama.cpp's grammar).

    Used for sentences and plan fields, where a one-word answer is filler ("None", "exercise");
    a diagnosis name stays `Text`, since one word can name a disease.

    Args:
        max_chars: Most characters.
        min_chars: Fewest characters.
    """
    return Annotated[
        str,
        StringConstraints(
            min_length=min_chars, max_length=max_chars, pattern=phrase_pattern(max_chars)
        ),
        AfterValidator(_real_content),
    ]


def DiagnosisName(max_chars: int) -> Any:  # noqa: N802 - a type factory
    """A bounded diagnosis name: `Text` that is also not a description of the patient."""
    return Annotated[Text(max_chars), AfterValidator(_not_a_person)]


# Lengths, chosen so a whole reply stays short: SmolLM2-135M writes about 25 tokens a second on
# two cores, and a reply that runs to its bounds should still take well under a minute.
FINDING_CHARS = 150
NAME_CHARS = 90
REASONING_CHARS = 220
SHORT_REASONING_CHARS = 160
FITT_CHARS = 60
PLAN_ITEM_CHARS = 110


class _Output(BaseModel):
    """Stage outputs: unknown keys are errors, surrounding whitespace is dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FindingsOutput(_Output):
    """Imaging findings drafted from the case input."""

    findings: list[Phrase(FINDING_CHARS)] = Field(  # type: ignore[valid-type]
        ...,
        min_length=1,
        max_length=6,
        description=(
            "Imaging findings, one short sentence each, stating only what the case's imaging "
            "description and history support (include pertinent negatives such as 'no fracture')."
        ),
    )


class DifferentialOutput(_Output):
    """One alternative diagnosis and why it is more or less likely."""

    name: DiagnosisName(NAME_CHARS) = Field(  # type: ignore[valid-type]
        ..., description="Name of the alternative diagnosis."
    )
    reasoning: Phrase(SHORT_REASONING_CHARS) = Field(  # type: ignore[valid-type]
        ..., description="Why it is more or less likely than the primary."
    )


class DiagnosisOutput(_Output):
    """Diagnostic reasoning with ranked differentials and the final diagnosis."""

    #: Where `drafting.parsing.salvage_reply` takes a field from when the repaired reply's own
    #: value is still unusable: the model's most likely alternative, then its primary.
    SALVAGE_FROM: ClassVar[dict[str, str]] = {
        "primary": "differentials.0.name",
        "final_diagnosis": "primary",
    }

    primary: DiagnosisName(NAME_CHARS) = Field(  # type: ignore[valid-type]
        ..., description="The most likely diagnosis, short name."
    )
    reasoning: Phrase(REASONING_CHARS, min_chars=10) = Field(  # type: ignore[valid-type]
        ..., description="Why this patient's findings and history support it."
    )
    differentials: list[DifferentialOutput] = Field(
        ...,
        min_length=1,
        max_length=3,
        description="Two or three alternative diagnoses, most likely first, each with reasoning.",
    )
    final_diagnosis: DiagnosisName(NAME_CHARS) = Field(  # type: ignore[valid-type]
        ..., description="The final diagnosis, one line."
    )


class ExerciseOutput(_Output):
    """One exercise item with every FITT-VP field filled."""

    type: Phrase(FITT_CHARS) = Field(  # type: ignore[valid-type]
        ..., description="Type of exercise, e.g. stationary cycling, resistance bands."
    )
    frequency: Phrase(FITT_CHARS) = Field(  # type: ignore[valid-type]
        ..., description="How often, e.g. 3 sessions per week."
    )
    intensity: Phrase(FITT_CHARS) = Field(  # type: ignore[valid-type]
        ..., description="How hard, e.g. light intensity, RPE 11-13."
    )
    time: Phrase(FITT_CHARS) = Field(  # type: ignore[valid-type]
        ..., description="Duration of each session, e.g. 20 minutes."
    )
    volume: Phrase(FITT_CHARS) = Field(  # type: ignore[valid-type]
        ..., description="Total amount, e.g. 2 sets of 10 repetitions."
    )
    progression: Phrase(FITT_CHARS) = Field(  # type: ignore[valid-type]
        ..., description="How and when to increase the load."
    )


class RehabilitationOutput(_Output):
    """A rehabilitation plan with a FITT-VP exercise prescription."""

    goals: list[Phrase(PLAN_ITEM_CHARS)] = Field(  # type: ignore[valid-type]
        ..., min_length=1, max_length=3, description="Goals of rehabilitation."
    )
    exercises: list[ExerciseOutput] = Field(
        ..., min_length=1, max_length=2, description="Exercise items; fill every FITT-VP field."
    )
    precautions: list[Phrase(PLAN_ITEM_CHARS)] = Field(  # type: ignore[valid-type]
        ..., min_length=1, max_length=3, description="Precautions."
    )
    monitoring: list[Phrase(PLAN_ITEM_CHARS)] = Field(  # type: ignore[valid-type]
        ..., min_length=1, max_length=3, description="What to monitor."
    )


#: The exercise types a `ModalityRehabilitationOutput` admits: ACSM's FITT-VP modalities, each
#: named as an exercise a patient can be given (aerobic, resistance, flexibility, neuromotor,
#: functional, respiratory).
ExerciseType = Literal[
    "walking", "stationary cycling", "aquatic exercise", "resistance training", "stretching",
    "range of motion exercises", "balance training", "functional training", "breathing exercises",
]


class ModalityExerciseOutput(ExerciseOutput):
    """An exercise item whose type is one of `ExerciseType`, so the grammar cannot write a label
    ("Type 1", "list of items") where the exercise belongs."""

    type: ExerciseType = Field(
        ..., description="Type of exercise, one of the listed modalities."
    )


class ModalityRehabilitationOutput(RehabilitationOutput):
    """`RehabilitationOutput` with `ModalityExerciseOutput` items."""

    exercises: list[ModalityExerciseOutput] = Field(  # type: ignore[assignment]
        ..., min_length=1, max_length=2, description="Exercise items; fill every FITT-VP field."
    )


#: Output schema names usable in prompt files.
STAGE_OUTPUTS: dict[str, type[BaseModel]] = {
    "FindingsOutput": FindingsOutput,
    "DiagnosisOutput": DiagnosisOutput,
    "RehabilitationOutput": RehabilitationOutput,
    "ModalityRehabilitationOutput": ModalityRehabilitationOutput,
}


# --- the largest reply a schema admits ------------------------------------------------------------

#: Whitespace llama.cpp's grammar allows at each ``space`` position (``SPACE_RULE = '" "?'``).
GRAMMAR_SPACE_CHARS = 1


def max_reply_chars(schema: dict[str, Any], *, space: int = GRAMMAR_SPACE_CHARS) -> int:
    """Characters of the longest JSON text a schema admits, as llama.cpp's grammar writes it.

    Follows the grammar's layout: ``{`` space, ``"key"`` space ``:`` space value, ``,`` space
    between members, ``}`` space; the same for arrays. Strings must carry a ``maxLength`` or a
    pattern whose last quantifier bounds them, and only characters that need no JSON escape.

    Args:
        schema: A JSON schema as pydantic writes it (``$defs`` and ``$ref`` resolved here).
        space: Whitespace characters allowed at each ``space`` position.

    Raises:
        ValueError: Some string or list in the schema is unbounded.
    """
    defs = schema.get("$defs", {})

    def walk(node: dict[str, Any]) -> int:
        if "$ref" in node:
            return walk(defs[node["$ref"].rsplit("/", 1)[-1]])
        kind = node.get("type")
        if kind == "object":
            props = node.get("properties", {})
            members = [len(f'"{key}"') + space + 1 + space + walk(sub) for key, sub in props.items()]
            return 1 + space + sum(members) + (1 + space) * max(0, len(members) - 1) + 1 + space
        if kind == "array":
            if "maxItems" not in node:
                raise ValueError("an array without maxItems is unbounded")
            n = node["maxItems"]
            return 1 + space + n * walk(node["items"]) + (1 + space) * max(0, n - 1) + 1 + space
        if "enum" in node:  # as JSON: the longest value, quoted
            return max(len(json.dumps(v)) for v in node["enum"]) + space
        if kind == "string":
            if "maxLength" not in node:
                raise ValueError("a string without maxLength is unbounded")
            return 2 + node["maxLength"] + space
        raise ValueError(f"no length bound for schema node of type {kind!r}")

    return walk(schema)


def max_reply_tokens(model_cls: type[BaseModel]) -> int:
    """A safe upper bound on the tokens of any reply the model's schema admits.

    Every admitted character is printable ASCII (`TEXT_CHARS` and JSON punctuation), and a
    byte-level BPE tokenizer never needs more than one token per byte, so tokens <= characters.
    """
    return max_reply_chars(model_cls.model_json_schema())
