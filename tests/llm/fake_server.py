"""A loopback OpenAI-compatible fake server for tests, with scripted responses.

Usage::

    with FakeOpenAIServer() as server:
        server.script(rate_limited(retry_after="1"), server_error(), stall(5))
        ... point a client at server.base_url ...
        assert len(server.requests) == 4

Scripted replies are served in order, one per request; when the script is empty, `default`
answers (a canned chat completion echoing the last user message, or JSON built from the
request's schema when it asks for structured output). Every request is kept in `requests`
(method, path, headers, parsed body, arrival time).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # sleep before answering (a stall past the client's timeout)
    raw: bytes | None = None  # sent as is instead of JSON-encoding `body` (malformed replies)
    content_type: str = "application/json"
    trickle_s: float = 0.0  # seconds between body chunks of 16 bytes (a slow, steady reply)


@dataclass
class SeenRequest:
    """A request the server received."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: Any
    at: float


def chat_completion(content: str, model: str = "fake-model", **usage: int) -> dict[str, Any]:
    """A Chat Completions response body with one assistant message."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": usage.get("prompt_tokens", 10),
            "completion_tokens": usage.get("completion_tokens", 5),
            "total_tokens": usage.get("prompt_tokens", 10) + usage.get("completion_tokens", 5),
        },
    }


def rate_limited(retry_after: str | None = "1") -> Reply:
    """HTTP 429, optionally with a Retry-After header."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Reply(429, {"error": {"message": "rate limited", "type": "rate_limit"}}, headers)


def server_error(status: int = 500, message: str = "internal error") -> Reply:
    """An HTTP 5xx with an OpenAI-style error body."""
    return Reply(status, {"error": {"message": message, "type": "server_error"}})


def stall(seconds: float) -> Reply:
    """A reply that arrives only after `seconds` (use with a shorter client timeout)."""
    return Reply(200, chat_completion("too late"), delay_s=seconds)


def _example(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A minimal instance of a JSON schema (enough for simple pydantic models)."""
    if "$ref" in schema:
        return _example(defs[schema["$ref"].split("/")[-1]], defs)
    for combo in ("anyOf", "oneOf", "allOf"):
        if combo in schema:
            return _example(schema[combo][0], defs)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _example(v, defs) for k, v in props.items()}
    if kind == "array":
        # Distinct items, as many as minItems asks (at least one).
        n = max(1, int(schema.get("minItems", 1)))
        items = [_example(schema.get("items", {}), defs) for _ in range(n)]
        return [f"{item} {i + 1}" if isinstance(item, str) and i else item for i, item in enumerate(items)]
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "string":
        # Like a model that reads the schema: a length limit strict mode cannot carry is
        # restated in the description ("(minLength: 10)"), and followed from there too. Bounded
        # plain-text fields (drafting.outputs) refuse filler such as "text" and one-word answers.
        stated = re.search(r"minLength: (\d+)", str(schema.get("description", "")))
        least = schema.get("minLength", int(stated.group(1)) if stated else 0)
        word = "Sample content" if "pattern" in schema else "text"
        return word.ljust(int(least), ".")
    return {"integer": 1, "number": 1.0, "boolean": True}.get(kind)


def default_reply(body: Any) -> Reply:
    """Echo the last user message, or a schema-shaped JSON object for structured requests."""
    body = body if isinstance(body, dict) else {}
    model = body.get("model", "fake-model")
    fmt = body.get("response_format") or {}
    schema = fmt.get("schema") or (fmt.get("json_schema") or {}).get("schema")
    if schema:
        content = json.dumps(_example(schema, schema.get("$defs", {})))
    else:
        messages = body.get("messages") or [{}]
        last = messages[-1].get("content", "")
        content = f"echo: {last}"
    return Reply(200, chat_completion(content, model=model))


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


class FakeOpenAIServer:
    """A threaded HTTP server on 127.0.0.1 speaking enough of the OpenAI protocol."""

    def __init__(self, default: Callable[[Any], Reply] = default_reply):
        self.default = default
        self.requests: list[SeenRequest] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as real servers do: HTTP/1.0 would make every call a new connection.
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    body = raw.decode("utf-8", "replace")
                reply = server._next(
                    SeenRequest(self.command, self.path, _lower(self.headers), body, time.monotonic())
                )
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                payload = json.dumps(reply.body).encode() if reply.body is not None else b""
                if reply.raw is not None:
                    payload = reply.raw
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", reply.content_type)
                    self.send_header("content-length", str(len(payload)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    if reply.trickle_s:
                        for i in range(0, len(payload), 16):
                            self.wfile.write(payload[i : i + 16])
                            self.wfile.flush()
                            time.sleep(reply.trickle_s)
                    else:
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

            do_GET = _serve  # noqa: N815
            do_POST = _serve  # noqa: N815

        class Server(ThreadingHTTPServer):
            # The default listen backlog of 5 drops connections under a burst of 32 clients,
            # and a dropped SYN is retried only after a second.
            request_queue_size = 128

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _next(self, seen: SeenRequest) -> Reply:
        with self._lock:
            self.requests.append(seen)
            scripted = self._script.popleft() if self._script else None
        return scripted or self.default(seen.body)

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order."""
        with self._lock:
            self._script.extend(replies)

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- server dialects: OpenAI's strict structured outputs, llama.cpp's refusal of json_schema ----

#: Keywords OpenAI's strict mode accepts (its "Supported schemas" documentation). Written out
#: here, apart from the client's list, so that a client-side change cannot loosen the check.
OPENAI_STRICT_KEYWORDS = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "const",
    "$ref", "$defs", "definitions", "description", "title", "pattern", "format", "multipleOf",
    "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "minItems", "maxItems",
})  # fmt: skip


def strict_schema_errors(schema: Any, path: str = "$") -> list[str]:
    """What OpenAI's strict mode would refuse in a schema, as ``path: reason`` lines."""
    if not isinstance(schema, dict):
        return [f"{path}: a schema must be an object"]
    errors = [f"{path}: '{k}' is not permitted" for k in schema if k not in OPENAI_STRICT_KEYWORDS]
    if path == "$" and schema.get("type") != "object":
        errors.append(f"{path}: the root must be an object")
    props = schema.get("properties")
    if schema.get("type") == "object" or props is not None:
        if schema.get("additionalProperties") is not False:
            errors.append(f"{path}: 'additionalProperties' must be false")
        missing = set(props or {}) - set(schema.get("required") or [])
        if missing:
            errors.append(f"{path}: every property must be required (missing {sorted(missing)})")
    if "$ref" in schema and len(schema) > 1:
        errors.append(f"{path}: '$ref' must stand alone")
    for name, sub in (props or {}).items():
        errors += strict_schema_errors(sub, f"{path}.properties.{name}")
    for name, sub in (schema.get("$defs") or {}).items():
        errors += strict_schema_errors(sub, f"{path}.$defs.{name}")
    if isinstance(schema.get("items"), dict):
        errors += strict_schema_errors(schema["items"], f"{path}.items")
    for i, sub in enumerate(schema.get("anyOf") or []):
        errors += strict_schema_errors(sub, f"{path}.anyOf[{i}]")
    return errors


def openai_strict_reply(body: Any) -> Reply:
    """OpenAI's answer: HTTP 400 for a ``json_schema`` request that is not strict-valid."""
    fmt = (body or {}).get("response_format") if isinstance(body, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") or {}
        errors = [] if spec.get("strict") is True else ["$: 'strict' must be true"]
        errors += strict_schema_errors(spec.get("schema"))
        if errors:
            message = f"Invalid schema for response_format '{spec.get('name')}': " + "; ".join(errors)
            return Reply(400, {"error": {"message": message, "type": "invalid_request_error",
                                         "param": "response_format"}})
    return default_reply(body)


def llama_cpp_reply(body: Any) -> Reply:
    """llama.cpp's server: HTTP 500 for ``response_format`` type ``json_schema``."""
    fmt = (body or {}).get("response_format") if isinstance(body, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        # The body llama_cpp.server 0.3 answers with (its FastAPI validation error, as HTTP 500).
        message = (
            "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', "
            "'type'), 'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}"
        )
        return Reply(500, {"error": {"message": message, "type": "internal_server_error",
                                     "param": None, "code": None}})
    return default_reply(body)
