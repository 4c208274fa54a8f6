"""What a server is asked for when a reply must be JSON matching a pydantic model: the
``response_format`` per endpoint capability, and schemas made fit for OpenAI's strict mode."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from drafting.llm.config import Endpoint

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel


def _json_schema(model_cls: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema, generated once per class (~4 ms each time otherwise); a copy."""
    return copy.deepcopy(_cached_schema(model_cls))


@lru_cache(maxsize=64)
def _cached_schema(model_cls: type[BaseModel]) -> dict[str, Any]:
    return model_cls.model_json_schema()


def strict_json_schema(model_cls: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema made fit for OpenAI's strict structured outputs.

    First the ``openai`` SDK's own conversion (what ``client.chat.completions.parse`` sends:
    every object gets ``additionalProperties: false``, every property becomes required, ``$ref``
    siblings are inlined, ``None`` defaults dropped), then the keywords strict mode refuses
    (``default``, ``minLength``, ``maxLength``, ...) are removed. Those constraints still hold:
    replies are validated against the pydantic model itself.
    """
    return copy.deepcopy(_cached_strict_schema(model_cls))


@lru_cache(maxsize=64)
def _cached_strict_schema(model_cls: type[BaseModel]) -> dict[str, Any]:
    from openai.lib._pydantic import to_strict_json_schema

    from drafting.llm.compat import register_strict_schema

    strict = _drop_unsupported(to_strict_json_schema(model_cls))
    register_strict_schema(strict, _cached_schema(model_cls))
    return strict


#: Keywords OpenAI's strict mode accepts, per its "supported schemas" documentation.
STRICT_KEYWORDS = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "const",
    "$ref", "$defs", "definitions", "description", "title",
    "pattern", "format",
    "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
    "minItems", "maxItems",
})  # fmt: skip


def _drop_unsupported(node: Any) -> Any:
    """Remove what strict mode refuses; constraints are restated in the description."""
    if isinstance(node, list):
        return [_drop_unsupported(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in node.items():
        if key not in STRICT_KEYWORDS:
            if key in _RESTATED:
                dropped.append(f"{key}: {json.dumps(value)}")
            continue
        if key in ("properties", "$defs", "definitions"):
            out[key] = {name: _drop_unsupported(sub) for name, sub in value.items()}
        elif key in ("items", "anyOf"):
            out[key] = _drop_unsupported(value)
        else:
            out[key] = value
    if dropped:
        note = f"({', '.join(dropped)})"
        out["description"] = f"{out['description']} {note}" if out.get("description") else note
    return out


#: Dropped constraints worth telling the model about (a default is not a constraint).
_RESTATED = frozenset({"minLength", "maxLength", "uniqueItems", "minProperties", "maxProperties"})


def structured_output_kwargs(endpoint: Endpoint, model_cls: type[BaseModel]) -> dict[str, Any]:
    """The ``.bind(...)`` kwargs that ask this endpoint for JSON matching a pydantic model.

    The one place that knows how servers differ:

    - ``json_schema``: OpenAI's strict structured outputs, with the schema converted as the SDK
      does (`strict_json_schema`). A server that rejects it is asked again with
      ``json_object`` + schema (`drafting.llm.compat.JsonSchemaFallbackTransport`).
    - ``json_object_schema``: llama.cpp's ``json_object`` with a ``schema``, enforced by grammar.
    - ``none``: no ``response_format`` at all; the prompt asks for JSON and the reply is parsed
      and repaired as text.

    ``response_format`` rides in ``extra_body``, so it reaches the server byte for byte as it does
    as a named argument, but LangChain calls the SDK's plain ``create`` instead of ``parse``: the
    SDK's type-driven walk of a named ``response_format`` (every node of the schema) cost ~4 ms of
    event-loop CPU per call, the largest client-side cost under concurrency. In exchange a reply
    cut off at the token limit arrives as a reply: check
    ``reply.response_metadata["finish_reason"] == "length"`` (the chain does).

    Args:
        endpoint: The resolved endpoint (its ``structured_output`` capability decides).
        model_cls: A pydantic model class.

    Returns:
        ``{"extra_body": {"response_format": {...}}}`` (``{}`` for ``none``); parse the reply
        with ``model_cls.model_validate_json``.
    """
    if endpoint.structured_output == "none":
        return {}
    if endpoint.structured_output == "json_object_schema":
        response_format: dict[str, Any] = {"type": "json_object", "schema": _json_schema(model_cls)}
    else:
        response_format = {
            "type": "json_schema",
            "json_schema": {
                "name": model_cls.__name__,
                "schema": strict_json_schema(model_cls),
                "strict": True,
            },
        }
    return {"extra_body": {"response_format": response_format}}
