"""Reply parsing and repair as pure functions (no I/O, no model calls).

`parse_reply` turns a model's text into a pydantic object or raises `ReplyParseError` carrying the
raw text; `truncation_error` is the same error for a reply cut off at the token limit;
`repair_messages` builds the follow-up that feeds the validation error back to the model;
`salvage_reply` is the last resort after repair, dropping the invalid items of a list that has
enough valid ones.
"""

from __future__ import annotations

import json
import re
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

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


def _friendly(err: ErrorDetails) -> str:
    """One validation error in words a model can act on."""
    ctx = err.get("ctx") or {}
    got = err.get("input")
    shown = f" (got {json.dumps(got)[:80]})" if isinstance(got, str) else ""
    if err["type"] == "string_pattern_mismatch":
        words = " of at least two words" if "} [" in str(ctx.get("pattern", "")) else ""
        return (
            f"must be plain text{words} starting with a letter or digit, without braces, brackets, "
            f"quotes or underscores, within its length limit{shown}"
        )
    if err["type"] == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters{shown}"
    if err["type"] == "string_too_short":
        return f"must be at least {ctx.get('min_length')} characters of content{shown}"
    if err["type"] == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    if err["type"] == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if err["type"] == "value_error":
        return str(ctx.get("error", err["msg"]))
    return err["msg"]


def describe_validation_error(exc: ValidationError, limit: int = 4) -> str:
    """A short, model-readable summary of what failed validation: where, and what is required."""
    parts = []
    for err in exc.errors(include_url=False)[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{loc}: {_friendly(err)}")
    more = len(exc.errors()) - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def describe_bounds(model: type[BaseModel]) -> str:
    """The limits of a stage-output schema in words, e.g. "findings: 1 to 6 items of at most 150
    characters"; what a repair turn quotes as the budget."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    parts: list[str] = []

    def walk(node: dict, path: str) -> None:
        if "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        kind = node.get("type")
        if kind == "object":
            for key, sub in node.get("properties", {}).items():
                walk(sub, f"{path}.{key}" if path else key)
        elif kind == "array":
            items = node["items"]
            count = f"{node.get('minItems', 0)} to {node.get('maxItems', 'any number of')} items"
            if "$ref" in items or items.get("type") == "object":
                parts.append(f"{path}: {count}")
                walk(items, f"{path}[]")
            else:
                parts.append(f"{path}: {count} of at most {items.get('maxLength')} characters")
        elif "enum" in node:
            parts.append(f"{path}: one of " + ", ".join(map(str, node["enum"])))
        elif kind == "string":
            parts.append(f"{path}: at most {node.get('maxLength')} characters")

    walk(schema, "")
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
    data = _load_json(raw, stage)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ReplyParseError(
            f"the reply does not match {model.__name__}: {describe_validation_error(exc)}",
            raw_reply=raw,
            stage=stage,
        ) from None


def _load_json(raw: str, stage: str | None) -> object:
    if not raw or not raw.strip():
        raise ReplyParseError("the reply is empty", raw_reply=raw or "", stage=stage)
    try:
        return json.loads(extract_json_text(raw), strict=False)  # raw newlines inside strings
    except json.JSONDecodeError as exc:
        raise ReplyParseError(
            f"the reply is not valid JSON ({exc.msg} at character {exc.pos})",
            raw_reply=raw,
            stage=stage,
        ) from None


def _list_item(data: object, loc: tuple[int | str, ...]) -> tuple[list, int] | None:
    """The innermost list and index on an error's path (``findings.1``, ``exercises.0.type``)."""
    found = None
    node = data
    for part in loc:
        if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            found = (node, part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
        else:
            break
    return found


def _at(data: object, path: str) -> object:
    """The value at a dotted path ("differentials.0.name"), or None."""
    node = data
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def _take_fallbacks(model: type[BaseModel], data: object, errors: list[ErrorDetails]) -> list[str]:
    """Replace invalid top-level fields by the model's ``SALVAGE_FROM`` sources, in its order."""
    sources: dict[str, str] = getattr(model, "SALVAGE_FROM", {})
    bad = {err["loc"][0]: err for err in errors if len(err["loc"]) == 1}
    notes = []
    for field, source in sources.items():
        if field in bad and isinstance(data, dict) and isinstance(value := _at(data, source), str):
            notes.append(f"{field}: {_friendly(bad[field])}; replaced by {source}")
            data[field] = value
    return notes


def _drop_list_items(data: object, errors: list[ErrorDetails]) -> list[str] | None:
    """Drop the list item each error sits in; None when some error sits in no list item."""
    doomed: dict[tuple[int, int], tuple[list, int, str]] = {}
    for err in errors:
        item = _list_item(data, tuple(err["loc"]))
        if item is None:
            return None
        where = ".".join(str(p) for p in err["loc"])
        doomed.setdefault((id(item[0]), item[1]), (item[0], item[1], f"{where}: {_friendly(err)}"))
    # Highest index first, so earlier indexes stay valid while deleting.
    for lst, index, _ in sorted(doomed.values(), key=lambda d: -d[1]):
        del lst[index]
    return [why for _, _, why in doomed.values()]


def salvage_reply(raw: str, model: type[T], *, stage: str | None = None) -> tuple[T, list[str]]:
    """Parse ``raw`` after dropping invalid list items and filling invalid fields from fallbacks.

    The last resort after a repair turn. A findings list with one item "Other patient" among
    real findings, or a second exercise whose type is "Type 1", is usable without that item; a
    diagnosis whose ``primary`` is the label "Primary" takes the model's own first differential
    (the model's ``SALVAGE_FROM``). The result must validate, so every list keeps its minimum
    number of items.

    Args:
        raw: The reply text as the model sent it.
        model: The pydantic model the reply must validate as.
        stage: The chain stage, for the error message.

    Returns:
        The parsed object and one line per change (where, why, and what replaced it), for the
        draft's record.

    Raises:
        ReplyParseError: As `parse_reply` would, when salvage does not make it valid.
    """
    data = _load_json(raw, stage)
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        first_error = exc
    notes = _take_fallbacks(model, data, first_error.errors(include_url=False))
    while True:  # each round drops at least one item, so this ends
        try:
            return model.model_validate(data), notes
        except ValidationError as exc:
            dropped = _drop_list_items(data, exc.errors(include_url=False))
            if dropped is None:
                break
            notes += dropped
    raise ReplyParseError(
        f"the reply does not match {model.__name__}: {describe_validation_error(first_error)}",
        raw_reply=raw,
        stage=stage,
    )


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
    messages: list[Message],
    raw: str,
    problem: str,
    *,
    truncated: bool = False,
    budget: str | None = None,
) -> list[Message]:
    """The conversation extended with the bad reply and a request to correct it.

    Args:
        messages: The messages that produced the bad reply.
        raw: The bad reply.
        problem: What was wrong with it (from `ReplyParseError`): named in the request.
        truncated: The reply was cut off at the token limit: ask for a shorter one instead.
        budget: The limits the reply must keep (token limit and `describe_bounds`), quoted in the
            request when given.
    """
    limits = f" Limits: {budget}." if budget else ""
    if truncated:
        request = (
            "That reply was too long and was cut off before the JSON object ended. "
            "Reply again with a complete, shorter JSON object: brief sentences, no repetition."
            + limits
        )
    else:
        request = (
            f"That reply could not be used: {problem}. "
            "Reply again with only the corrected JSON object, with every required key." + limits
        )
    return [*messages, ("assistant", raw), ("user", request)]
