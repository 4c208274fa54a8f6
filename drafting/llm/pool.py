"""One aiohttp connection pool for a block of concurrent async model calls, closed when it ends.

httpx's own pool (httpcore 1.x) walks every pooled connection on each request and each release;
at 64 calls in flight that walk cost more client CPU than the rest of a call (measured by
``python -m benchmarks.concurrency``). aiohttp's connector does not walk. An aiohttp session
belongs to the event loop that opened it and must be closed on that loop, so its lifetime is a
block the caller opens, not a global::

    from drafting.llm import connection_pool

    async with connection_pool():
        drafts = await asyncio.gather(*(adraft_report(c, endpoint=endpoint) for c in cases))

`drafting.evaluation.run_suite` opens one around each run. Outside a block, async calls go through
httpx's transport as before (nothing to close). The block only changes the innermost network hop
of remote endpoints: fixtures, retries and deadlines stay as they are, and the embedded server
keeps its own forwarding transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

import httpx

#: The open pool and the loop it belongs to. A context var, so tasks started in the block see
#: it; a thread that copies the context (a scoring worker's own loop) sees it too, hence the loop.
_POOL: ContextVar[tuple[asyncio.AbstractEventLoop, httpx.AsyncBaseTransport] | None] = ContextVar(
    "drafting_connection_pool", default=None
)


@asynccontextmanager
async def connection_pool() -> AsyncIterator[None]:
    """Route this block's async calls to remote endpoints through one aiohttp connection pool.

    Tasks started inside the block (``asyncio.gather``, ``TaskGroup``) share it; the pool's
    connections are closed when the block ends, on the same event loop.

    Yields:
        Nothing; use as ``async with connection_pool(): ...``.
    """
    from httpx_aiohttp import AiohttpTransport

    from drafting.llm.clients import pool_limits, ssl_context

    transport = AiohttpTransport(verify=ssl_context(), limits=pool_limits())
    token = _POOL.set((asyncio.get_running_loop(), transport))
    try:
        yield
    finally:
        _POOL.reset(token)
        await transport.aclose()  # a no-op when no call was made (the session opens lazily)


class PooledNetworkTransport(httpx.AsyncBaseTransport):
    """The network hop of an async stack: the enclosing `connection_pool` when the call runs on
    that pool's loop, else httpx's own."""

    def __init__(self, fallback: httpx.AsyncBaseTransport):
        self._fallback = fallback

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = _POOL.get()
        # aiohttp refuses credentials in the URL next to an Authorization header; httpx sends them
        if pool is not None and pool[0] is asyncio.get_running_loop() and not request.url.userinfo:
            return await pool[1].handle_async_request(request)
        return await self._fallback.handle_async_request(request)

    async def aclose(self) -> None:
        await self._fallback.aclose()
