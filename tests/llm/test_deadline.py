"""A total deadline per request attempt: a reply trickled slowly ends at the deadline (issue 17)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from drafting.errors import EndpointError
from drafting.llm import chat_model, endpoint_errors, resolve_endpoint
from tests.llm.fake_server import FakeOpenAIServer, Reply, chat_completion

#: ~30 chunks 0.2 s apart: each read is quick (no read timeout), the whole reply takes ~6 s.
TRICKLE = Reply(body=chat_completion("x" * 400), trickle_s=0.2)


def _endpoint(server: FakeOpenAIServer, tmp_path: Path):
    return resolve_endpoint(backend="openai", base_url=server.base_url, api_key="k" * 8,
                            model="fake-model", fixtures="live", fixtures_dir=tmp_path,
                            timeout_s=1.5, max_attempts=1)


def test_sync_trickled_reply_ends_at_the_deadline(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.script(TRICKLE)
        endpoint = _endpoint(server, tmp_path)
        model = chat_model(endpoint, max_tokens=5)  # imports LangChain before the clock starts
        started = time.monotonic()
        with pytest.raises(EndpointError, match="timed out"), endpoint_errors(endpoint):
            model.invoke("hello")
        assert time.monotonic() - started < 4.0


def test_async_trickled_reply_ends_at_the_deadline(tmp_path: Path) -> None:
    async def call() -> None:
        endpoint = _endpoint(server, tmp_path)
        async with endpoint_errors(endpoint):
            await chat_model(endpoint, max_tokens=5).ainvoke("hello")

    with FakeOpenAIServer() as server:
        server.script(TRICKLE)
        chat_model(_endpoint(server, tmp_path))  # imports LangChain before the clock starts
        started = time.monotonic()
        with pytest.raises(EndpointError, match="timed out"):
            asyncio.run(call())
        assert time.monotonic() - started < 3.0


def test_a_reply_within_the_deadline_is_unchanged(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.script(Reply(body=chat_completion("hello there"), trickle_s=0.01))
        endpoint = _endpoint(server, tmp_path)
        with endpoint_errors(endpoint):
            reply = chat_model(endpoint, max_tokens=5).invoke("hello")
    assert reply.content == "hello there"
