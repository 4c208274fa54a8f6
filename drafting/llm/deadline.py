"""A total deadline per request attempt, as an httpx transport under the retry transport.

httpx timeouts bound each connect, read and write, not the whole exchange: a reply trickled a
few bytes at a time never trips the 120 s read timeout (one took 187 s; a one-case run had not
finished after 420 s). `DeadlineTransport` bounds one attempt, reply body included (it is read
here, inside the attempt), and turns an overrun into ``httpx.ReadTimeout``, which the retry
transport retries like any timeout and `endpoint_errors` reports as one.

Async: ``asyncio.timeout`` around the whole attempt. Sync: the deadline is checked after the
headers and after every body chunk, so a sync attempt can overrun by at most one read timeout
while waiting for the headers (the sync transport cannot be interrupted mid-read).
"""

from __future__ import annotations

import asyncio
import time

import httpx


def _expired(request: httpx.Request, seconds: float) -> httpx.ReadTimeout:
    return httpx.ReadTimeout(
        f"no complete reply within {seconds:g} s (total deadline per attempt)", request=request
    )


def _with_body(response: httpx.Response, raw: bytes, request: httpx.Request) -> httpx.Response:
    """The response around its already-read raw body (headers, encoding, extensions kept)."""
    return httpx.Response(
        response.status_code, headers=response.headers, stream=httpx.ByteStream(raw),
        request=request, extensions=response.extensions,
    )


class DeadlineTransport(httpx.BaseTransport):
    """Synchronous transport giving each request at most ``seconds`` to complete, body included."""

    def __init__(self, inner: httpx.BaseTransport, seconds: float):
        self.inner = inner
        self.seconds = seconds

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = time.monotonic() + self.seconds
        response = self.inner.handle_request(request)
        chunks: list[bytes] = []
        try:
            if time.monotonic() > deadline:
                raise _expired(request, self.seconds)
            for chunk in response.iter_raw():
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise _expired(request, self.seconds)
        finally:
            response.close()
        return _with_body(response, b"".join(chunks), request)

    def close(self) -> None:
        self.inner.close()


class AsyncDeadlineTransport(httpx.AsyncBaseTransport):
    """Asynchronous `DeadlineTransport`: the whole attempt runs under ``asyncio.timeout``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, seconds: float):
        self.inner = inner
        self.seconds = seconds

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            async with asyncio.timeout(self.seconds):
                response = await self.inner.handle_async_request(request)
                try:
                    raw = b"".join([chunk async for chunk in response.aiter_raw()])
                finally:
                    await response.aclose()
        except TimeoutError:
            raise _expired(request, self.seconds) from None
        return _with_body(response, raw, request)

    async def aclose(self) -> None:
        await self.inner.aclose()
