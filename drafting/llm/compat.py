"""Request adjustments for servers that speak an older dialect of the protocol.

LangChain sends ``max_completion_tokens`` (OpenAI's current name); ``llama_cpp.server`` knows
only ``max_tokens`` and silently ignores the other, so replies would run to the context limit.
"""

from __future__ import annotations

import json

import httpx


def llama_cpp_request(request: httpx.Request) -> httpx.Request:
    """Rename ``max_completion_tokens`` to ``max_tokens`` in a JSON request body.

    Returns the request unchanged when there is nothing to rename.
    """
    raw = request.read()
    if b"max_completion_tokens" not in raw:
        return request
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return request
    if not isinstance(body, dict) or "max_completion_tokens" not in body:
        return request
    value = body.pop("max_completion_tokens")
    body.setdefault("max_tokens", value)
    headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length"]
    return httpx.Request(
        request.method,
        request.url,
        headers=headers,
        content=json.dumps(body).encode("utf-8"),
        extensions=request.extensions,
    )
