"""`connection_pool`: a block's async calls go through one aiohttp pool, closed when it ends."""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from pathlib import Path

import pytest

from drafting.errors import EndpointError
from drafting.llm import chat_model, connection_pool, endpoint_errors, resolve_endpoint
from drafting.llm.pool import _POOL
from tests.llm.fake_server import FakeOpenAIServer, Reply, chat_completion, server_error


def _endpoint(server: FakeOpenAIServer, tmp_path: Path, **overrides: object):
    fields: dict[str, object] = {
        "backend": "openai", "base_url": server.base_url, "api_key": "k" * 8,
        "model": "fake-model", "fixtures": "live", "fixtures_dir": tmp_path, "timeout_s": 5.0,
        "backoff_s": 0.05,
    }
    return resolve_endpoint(**{**fields, **overrides})  # type: ignore[arg-type]


def test_calls_in_a_block_share_one_aiohttp_session_closed_at_its_end(tmp_path: Path) -> None:
    seen: list[object] = []

    async def run(endpoint) -> list[str]:
        model = chat_model(endpoint, max_tokens=5)
        async with connection_pool():
            pool = _POOL.get()[1]  # type: ignore[index]
            replies = await asyncio.gather(*(model.ainvoke(f"q{i}") for i in range(8)))
            seen.append(pool)
        return [r.content for r in replies]

    with FakeOpenAIServer() as server:
        server.script(*(Reply(body=chat_completion(f"a{i}")) for i in range(8)))
        contents = asyncio.run(run(_endpoint(server, tmp_path)))
        assert len(server.requests) == 8
    assert sorted(contents) == [f"a{i}" for i in range(8)]
    (pool,) = seen
    session = pool.client  # type: ignore[attr-defined]
    assert session is not None and session.closed  # opened by the calls, closed by the block
    assert _POOL.get() is None


def test_outside_a_block_calls_use_httpx_and_a_block_leaves_no_unclosed_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def run(endpoint) -> tuple[str, str]:
        model = chat_model(endpoint, max_tokens=5)
        plain = (await model.ainvoke("x")).content
        async with connection_pool():
            pooled = (await model.ainvoke("x")).content
        return plain, pooled  # type: ignore[return-value]

    with FakeOpenAIServer() as server:
        server.script(Reply(body=chat_completion("same")), Reply(body=chat_completion("same")))
        with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.ERROR):
            warnings.simplefilter("always")
            assert asyncio.run(run(_endpoint(server, tmp_path))) == ("same", "same")
            gc.collect()
    # aiohttp's own complaints (httpx's pooled socket from the plain call is not this block's)
    unclosed = [str(w.message) for w in caught if "nclosed client session" in str(w.message)
                or "nclosed connector" in str(w.message)]
    assert unclosed == [] and "Unclosed client session" not in caplog.text
    assert "Unclosed connector" not in caplog.text


def test_a_call_on_another_loop_in_the_block_uses_httpx(tmp_path: Path) -> None:
    # A scoring worker runs its own loop in a thread that copies the context: the pool belongs
    # to the block's loop and must not be used from there.
    async def run(endpoint) -> str:
        model = chat_model(endpoint, max_tokens=5)
        async with connection_pool():
            reply = await asyncio.to_thread(lambda: asyncio.run(model.ainvoke("x")))
        return reply.content  # type: ignore[return-value]

    with FakeOpenAIServer() as server:
        server.script(Reply(body=chat_completion("from another loop")))
        assert asyncio.run(run(_endpoint(server, tmp_path))) == "from another loop"


def test_retries_and_deadlines_still_apply_inside_a_block(tmp_path: Path) -> None:
    async def call(endpoint) -> str:
        async with connection_pool(), endpoint_errors(endpoint):
            return (await chat_model(endpoint, max_tokens=5).ainvoke("x")).content  # type: ignore[return-value]

    with FakeOpenAIServer() as server:
        server.script(server_error(503), Reply(body=chat_completion("after a retry")))
        assert asyncio.run(call(_endpoint(server, tmp_path))) == "after a retry"
        assert len(server.requests) == 2
        server.script(Reply(body=chat_completion("x" * 400), trickle_s=0.2))
        with pytest.raises(EndpointError, match="timed out"):
            asyncio.run(call(_endpoint(server, tmp_path, timeout_s=1.0, max_attempts=1)))
