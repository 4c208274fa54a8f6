"""Reply parsing and repair as pure functions (no I/O, no model calls).

`parse_reply` turns a model's text into a pydantic object or raises `ReplyParseError` carrying the
raw text; `truncation_error` is the same error for a reply cut off at the token limit;
`repair_messages` builds the follow-up that feeds the validation error back to the model.
"""

from __future__ import annotations

import json
import re
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from drafting.errors import ReplyParseError

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S | re.I)

Message = tuple[str, str]


def extract_json_text(raw: str) -> str:
    """The JSON object inside a reply: code fences stripped, prose around the object dropped."""
    text = raw.strip()
    if m := _FENCE.match(text):
        text = m.group(1).strip()
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        return text[start : end + 1]
    return text


def describe_validation_error(exc: ValidationError, limit: int = 4) -> str:
    """A short, model-readable summary of what failed validation."""
    parts = []
    for err in exc.errors(include_url=False)[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{loc}: {err['msg']}")
    more = len(exc.errors()) - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def parse_reply(raw: str, model: type[T], *, stage: str | None = None) -> T:
    """Parse a model reply into ``model``.

    Args:
        raw: The reply text as the model sent it.
        model: The pydantic model the reply must validate as.
        stage: The chain stage, for the error message.

    Raises:
        ReplyParseError: The reply is empty, not JSON, or does not validate; carries ``raw``.
    """
    if not raw or not raw.strip():
        raise ReplyParseError("the reply is empty", raw_reply=raw or "", stage=stage)
    text = extract_json_text(raw)
    try:
        data = json.loads(text, strict=False)  # tolerate raw newlines inside strings
    except json.JSONDecodeError as exc:
        raise ReplyParseError(
            f"the reply is not valid JSON ({exc.msg} at character {exc.pos})",
            raw_reply=raw,
            stage=stage,
        ) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ReplyParseError(
            f"the reply does not match {model.__name__}: {describe_validation_error(exc)}",
            raw_reply=raw,
            stage=stage,
        ) from None


def truncation_error(raw: str, stage: str | None) -> ReplyParseError:
    """The error for a reply cut off at the token limit (``finish_reason: length``).

    Args:
        raw: The partial reply text.
        stage: The chain stage, when known.
    """
    return ReplyParseError(
        "the reply was cut off at the token limit (finish_reason 'length'); raise max_tokens",
        raw_reply=raw,
        stage=stage,
        truncated=True,
    )


def repair_messages(
    messages: list[Message], raw: str, problem: str, *, truncated: bool = False
) -> list[Message]:
    """The conversation extended with the bad reply and a request to correct it.

    Args:
        messages: The messages that produced the bad reply.
        raw: The bad reply.
        problem: What was wrong with it (from `ReplyParseError`).
        truncated: The reply was cut off at the token limit: ask for a shorter one instead.
    """
    if truncated:
        request = (
            "That reply was too long and was cut off before the JSON object ended. "
            "Reply again with a complete, shorter JSON object: brief sentences, no repetition."
        )
    else:
        request = (
            f"That reply could not be used: {problem}. "
            "Reply again with only the corrected JSON object, with every required key."
        )
    return [*messages, ("assistant", raw), ("user", request)]
