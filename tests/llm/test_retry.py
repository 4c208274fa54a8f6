"""Retries against a loopback server: 429 with Retry-After, 500, stalls, and the final error."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from drafting.errors import EndpointError
from drafting.llm import async_openai_client, chat_model, endpoint_errors, openai_client
from drafting.llm.config import Endpoint
from drafting.llm.retry import RetryPolicy, retry_after
from tests.llm.fake_server import FakeOpenAIServer, rate_limited, server_error, stall


def _ask(endpoint: Endpoint) -> str:
    with endpoint_errors(endpoint):
        reply = openai_client(endpoint).chat.completions.create(
            model=endpoint.model, messages=[{"role": "user", "content": "hi"}]
        )
    return reply.choices[0].message.content


def test_429_honours_retry_after_then_succeeds(
    fake_endpoint: Callable[..., Endpoint],
    fake_openai: FakeOpenAIServer,
    caplog: pytest.LogCaptureFixture,
):
    fake_openai.script(rate_limited(retry_after="1"), server_error(503))
    caplog.set_level(logging.INFO, logger="drafting.llm")
    assert _ask(fake_endpoint()) == "echo: hi"
    times = [r.at for r in fake_openai.requests]
    assert len(times) == 3
    assert times[1] - times[0] >= 1.0  # Retry-After: 1 honoured (not the 0.05 s backoff)
    assert times[2] - times[1] < 1.0  # 503 without Retry-After: exponential backoff
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2
    assert "HTTP 429" in retries[0] and "1.00s" in retries[0] and "HTTP 503" in retries[1]
    assert all("hi" not in m.split(":", 1)[1] for m in retries)  # no bodies in logs


def test_persistent_503_spends_the_budget_then_raises(
    fake_endpoint: Callable[..., Endpoint], fake_openai: FakeOpenAIServer
):
    fake_openai.script(*[server_error(503, "overloaded")] * 10)
    endpoint = fake_endpoint(max_attempts=3)
    with pytest.raises(EndpointError) as info:
        _ask(endpoint)
    assert len(fake_openai.requests) == 3
    assert info.value.status == 503
    assert info.value.endpoint == "127.0.0.1"
    assert "overloaded" in str(info.value) and "sk-test" not in str(info.value)


def test_500_is_retried_once_only(fake_endpoint: Callable[..., Endpoint], fake_openai: FakeOpenAIServer):
    # llama.cpp reports a rejected response_format as 500: retrying it forever is pointless.
    fake_openai.script(*[server_error(500, "Input should be 'text' or 'json_object'")] * 5)
    with pytest.raises(EndpointError) as info:
        _ask(fake_endpoint(max_attempts=5))
    assert len(fake_openai.requests) == 2
    assert info.value.status == 500 and "json_object" in str(info.value)


def test_retry_after_beyond_the_wait_budget_fails_at_once(
    fake_endpoint: Callable[..., Endpoint], fake_openai: FakeOpenAIServer
):
    fake_openai.script(rate_limited(retry_after="120"))
    started = time.monotonic()
    with pytest.raises(EndpointError) as info:
        _ask(fake_endpoint(max_wait_s=10))
    assert time.monotonic() - started < 5
    assert info.value.status == 429 and len(fake_openai.requests) == 1


def test_stall_past_timeout_is_retried_then_typed(
    fake_endpoint: Callable[..., Endpoint], fake_openai: FakeOpenAIServer
):
    fake_openai.script(stall(3), stall(3))
    endpoint = fake_endpoint(timeout_s=0.5, max_attempts=2)
    started = time.monotonic()
    with pytest.raises(EndpointError, match="timed out") as info:
        _ask(endpoint)
    assert len(fake_openai.requests) == 2
    assert 1.0 <= time.monotonic() - started < 3
    assert info.value.endpoint == "127.0.0.1"


def test_stall_then_answer_succeeds_with_langchain_async(
    fake_endpoint: Callable[..., Endpoint], fake_openai: FakeOpenAIServer
):
    import asyncio

    fake_openai.script(stall(2))
    endpoint = fake_endpoint(timeout_s=0.5)
    llm = chat_model(endpoint, max_tokens=5)

    async def go() -> str:
        with endpoint_errors(endpoint):
            return (await llm.ainvoke("hello")).content

    assert asyncio.run(go()) == "echo: hello"
    assert len(fake_openai.requests) == 2


async def test_async_client_raises_typed_error(
    fake_endpoint: Callable[..., Endpoint], fake_openai: FakeOpenAIServer
):
    fake_openai.script(*[rate_limited(retry_after="0")] * 3)
    endpoint = fake_endpoint(max_attempts=3)
    with pytest.raises(EndpointError) as info:
        async with endpoint_errors(endpoint):
            await async_openai_client(endpoint).chat.completions.create(
                model="fake-model", messages=[{"role": "user", "content": "x"}]
            )
    assert info.value.status == 429 and len(fake_openai.requests) == 3


def test_unreachable_endpoint_is_typed(fake_endpoint: Callable[..., Endpoint]):
    import socket

    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = fake_endpoint(base_url=f"http://127.0.0.1:{port}/v1", max_attempts=2)
    with pytest.raises(EndpointError, match="cannot reach endpoint"):
        _ask(endpoint)


def test_retry_after_parsing():
    def resp(**headers: str) -> httpx.Response:
        return httpx.Response(429, headers=headers)

    assert retry_after(resp()) is None
    assert retry_after(resp(**{"retry-after": "2.5"})) == 2.5
    assert retry_after(resp(**{"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after(resp(**{"retry-after": later})) <= 30
    assert retry_after(resp(**{"retry-after": "soon"})) is None


def test_policy_budget():
    policy = RetryPolicy(max_attempts=3, max_wait_s=5, backoff_s=1)
    assert policy.wait(1, 0, None) == pytest.approx(1, rel=0.11)
    assert policy.wait(2, 1, None) == pytest.approx(2, rel=0.11)
    assert policy.wait(3, 3, None) is None  # attempts spent
    assert policy.wait(1, 4.5, 1.0) is None  # wait budget spent


class _Scripted:
    """An inner transport answering from a script (a status, or an exception to raise)."""

    def __init__(self, *script: int | Exception):
        self.script = list(script)
        self.calls = 0

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, Exception):
            raise step
        return httpx.Response(step, json={"status": step}, request=request)


_FAST = RetryPolicy(max_attempts=4, max_wait_s=5, backoff_s=0.001)


@pytest.mark.parametrize(
    ("script", "calls", "status"),
    [
        ((503, 502, 200), 3, 200),  # retried until an answer
        ((500, 500, 500), 2, 500),  # a 500 is retried once only; the last response surfaces
        ((500, 503, 500, 200), 3, 500),  # ... counting every 500 of the request
        ((429,), 4, 429),  # attempts spent: the last response surfaces, body readable
        ((400,), 1, 400),  # not retried
    ],
)
async def test_sync_and_async_transports_share_one_policy(
    script: tuple[int, ...], calls: int, status: int
) -> None:
    from drafting.llm.retry import AsyncRetryTransport, RetryTransport

    sync_inner, async_inner = _Scripted(*script), _Scripted(*script)
    request = httpx.Request("POST", "http://model.test/v1/chat/completions")
    sync_reply = RetryTransport(httpx.MockTransport(sync_inner.answer), _FAST).handle_request(request)
    async_reply = await AsyncRetryTransport(
        httpx.MockTransport(async_inner.answer), _FAST
    ).handle_async_request(request)
    assert (sync_inner.calls, async_inner.calls) == (calls, calls)
    assert sync_reply.status_code == async_reply.status_code == status
    assert sync_reply.read() and (await async_reply.aread())


async def test_transport_errors_are_retried_then_raised_as_themselves() -> None:
    from drafting.llm.retry import AsyncRetryTransport, RetryTransport

    request = httpx.Request("POST", "http://model.test/v1/chat/completions")
    sync_inner = _Scripted(httpx.ConnectError("refused"))
    with pytest.raises(httpx.ConnectError):
        RetryTransport(httpx.MockTransport(sync_inner.answer), _FAST).handle_request(request)
    async_inner = _Scripted(httpx.ReadTimeout("slow"), 200)
    reply = await AsyncRetryTransport(httpx.MockTransport(async_inner.answer), _FAST).handle_async_request(
        request
    )
    assert (sync_inner.calls, async_inner.calls, reply.status_code) == (4, 2, 200)


async def test_concurrent_requests_each_get_their_own_budget() -> None:
    import asyncio

    from drafting.llm.retry import AsyncRetryTransport

    inner = _Scripted(500)
    transport = AsyncRetryTransport(httpx.MockTransport(inner.answer), _FAST)
    request = httpx.Request("POST", "http://model.test/v1/chat/completions")
    replies = await asyncio.gather(*(transport.handle_async_request(request) for _ in range(5)))
    assert [r.status_code for r in replies] == [500] * 5
    assert inner.calls == 10  # each request: its first 500 and one retry
