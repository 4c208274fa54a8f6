"""Request adjustments for servers that speak an older dialect of the protocol.

LangChain sends ``max_completion_tokens`` (OpenAI's current name); ``llama_cpp.server`` knows
only ``max_tokens`` and silently ignores the other, so replies would run to the context limit.

OpenAI's ``response_format`` type ``json_schema`` is refused by llama.cpp's server (HTTP 500);
`JsonSchemaFallbackTransport` then asks with ``json_object`` + schema, which llama.cpp enforces
by grammar, and keeps doing so for that server for the rest of the run.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import httpx

from drafting.errors import FixtureMissError

log = logging.getLogger("drafting.llm")


def llama_cpp_request(request: httpx.Request) -> httpx.Request:
    """Rename ``max_completion_tokens`` to ``max_tokens`` in a JSON request body.

    Returns the request unchanged when there is nothing to rename.
    """
    body = _json_body(request, b"max_completion_tokens")
    if body is None or "max_completion_tokens" not in body:
        return request
    value = body.pop("max_completion_tokens")
    body.setdefault("max_tokens", value)
    return _with_body(request, body)


def _json_body(request: httpx.Request, marker: bytes) -> dict[str, Any] | None:
    """The request's JSON object body, when its raw bytes hold ``marker`` (a cheap test before
    parsing); None when they do not, or the body is not a JSON object."""
    raw = request.read()
    if marker not in raw:
        return None
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _with_body(request: httpx.Request, body: dict[str, Any]) -> httpx.Request:
    """The same request carrying another JSON body (its Content-Length recomputed)."""
    headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length"]
    return httpx.Request(
        request.method,
        request.url,
        headers=headers,
        content=json.dumps(body).encode("utf-8"),
        extensions=request.extensions,
    )


# --- json_schema -> json_object fallback ----------------------------------------------------------

#: Servers (base URL, model) that rejected ``json_schema`` in this process: asked with
#: ``json_object`` + schema from then on, for the rest of the run.
_fell_back: set[tuple[str, str]] = set()
_fallback_lock = threading.Lock()
#: Statuses a server answers an unsupported ``response_format`` with (llama.cpp: 500).
_REJECT_STATUSES = frozenset({400, 422, 500, 501})


#: Strict schema (canonical JSON) -> the model's own schema, filled by
#: `drafting.llm.structured.strict_json_schema`: the fallback sends what ``json_object_schema`` would.
_plain_schemas: dict[str, Any] = {}


def register_strict_schema(strict: dict[str, Any], plain: dict[str, Any]) -> None:
    """Remember which plain schema a strict one was converted from (for the fallback)."""
    _plain_schemas[_canonical(strict)] = plain


def _canonical(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


def reset_fallbacks() -> None:
    """Forget which servers fell back (tests; a new run in the same process)."""
    with _fallback_lock:
        _fell_back.clear()


#: What a request asking for ``json_schema`` contains (a cheap test before parsing the body).
_JSON_SCHEMA = b'"json_schema"'


def json_object_request(request: httpx.Request) -> httpx.Request | None:
    """The same request with ``json_schema`` swapped for llama.cpp's ``json_object`` + schema.

    The schema is the model's own, as ``json_object_schema`` sends it (llama.cpp's grammar
    enforces the length limits strict mode cannot take), so a fallback request is byte for byte
    the request of that mode; ``max_completion_tokens`` is renamed as for any llama.cpp-style
    server (`llama_cpp_request`). Returns None when the request asks for no ``json_schema``.
    """
    body = _json_body(request, _JSON_SCHEMA)
    if body is None:
        return None
    fmt = body.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    schema = (fmt.get("json_schema") or {}).get("schema")
    schema = _plain_schemas.get(_canonical(schema), schema)
    body["response_format"] = {"type": "json_object", "schema": schema}
    return llama_cpp_request(_with_body(request, body))


def rejects_json_schema(response: httpx.Response, content: bytes) -> bool:
    """Whether an error answer says the server does not take ``json_schema``.

    A 400/422/500/501 whose body names ``response_format``, ``json_schema`` or ``schema``
    (llama.cpp answers 500 with its validation error; gateways pass it on). Other errors stay
    errors.
    """
    if response.status_code not in _REJECT_STATUSES:
        return False
    text = content.decode("utf-8", errors="replace").lower()
    return any(word in text for word in ("response_format", "json_schema", "schema"))


class _FallbackState:
    def __init__(self, server: tuple[str, str]):
        self.server = server

    def active(self) -> bool:
        return self.server in _fell_back

    def remember(self, response: httpx.Response | None) -> None:
        with _fallback_lock:
            if self.server in _fell_back:
                return
            _fell_back.add(self.server)
        reason = f"HTTP {response.status_code}" if response is not None else "recorded fallback"
        log.warning(
            "%s (%s) did not take response_format json_schema (%s); using json_object with the "
            "schema for the rest of this run",
            self.server[0], self.server[1], reason,
        )


class JsonSchemaFallbackTransport(httpx.BaseTransport):
    """Asks with ``json_schema``; when the server rejects it, asks once more with ``json_object``.

    Sits above the fixture transport, so a recording holds the request actually sent (the
    fallback request is keyed and recorded as itself), and replay of a run that fell back finds
    the fallback's recording after the ``json_schema`` request misses.

    Args:
        inner: The fixture transport (and below it retries and the network).
        server: (base URL, model): what the fallback is remembered for.
    """

    def __init__(self, inner: httpx.BaseTransport, server: tuple[str, str]):
        self._inner = inner
        self._state = _FallbackState(server)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # The fallback request is built only when it is sent: building it for every request
        # (parse, re-serialise) cost ~0.5 ms of client CPU per call (benchmarks.concurrency).
        if _JSON_SCHEMA not in request.read():
            return self._inner.handle_request(request)
        if self._state.active():
            return self._inner.handle_request(json_object_request(request) or request)
        try:
            response = self._inner.handle_request(request)
        except FixtureMissError as miss:
            # Replay of a run that fell back: its recording is the json_object request.
            fallback = json_object_request(request)
            if fallback is None:
                raise
            try:
                response = self._inner.handle_request(fallback)
            except FixtureMissError:
                raise miss from None
            self._state.remember(None)
            return response
        content = response.read()
        if not rejects_json_schema(response, content):
            return response
        fallback = json_object_request(request)
        if fallback is None:  # the marker was in the text, not in response_format
            return response
        response.close()
        self._state.remember(response)
        return self._inner.handle_request(fallback)

    def close(self) -> None:
        self._inner.close()


class AsyncJsonSchemaFallbackTransport(httpx.AsyncBaseTransport):
    """Async `JsonSchemaFallbackTransport`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, server: tuple[str, str]):
        self._inner = inner
        self._state = _FallbackState(server)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if _JSON_SCHEMA not in await request.aread():  # built lazily, as in the sync transport
            return await self._inner.handle_async_request(request)
        if self._state.active():
            return await self._inner.handle_async_request(json_object_request(request) or request)
        try:
            response = await self._inner.handle_async_request(request)
        except FixtureMissError as miss:
            fallback = json_object_request(request)
            if fallback is None:
                raise
            try:
                response = await self._inner.handle_async_request(fallback)
            except FixtureMissError:
                raise miss from None
            self._state.remember(None)
            return response
        content = await response.aread()
        if not rejects_json_schema(response, content):
            return response
        fallback = json_object_request(request)
        if fallback is None:  # the marker was in the text, not in response_format
            return response
        await response.aclose()
        self._state.remember(response)
        return await self._inner.handle_async_request(fallback)

    async def aclose(self) -> None:
        await self._inner.aclose()

