"""Retries where the SDK leaves them: an httpx transport with backoff and a wait budget.

The SDK clients are built with ``max_retries=0``; this transport retries instead, so that one
policy covers LangChain and ragas alike. It sits *below* the fixture recorder: only the final
answer of a request is recorded, and a replay never waits or retries.

Retried: timeouts and network errors, HTTP 408, 429, 502, 503 and 504, honouring ``Retry-After``
(seconds or an HTTP date) and ``retry-after-ms``. HTTP 500 is retried once only: llama.cpp
reports a rejected request (e.g. an unsupported ``response_format``) as 500, which no amount of
retrying fixes. The budget is the endpoint's attempts and total seconds of waiting; when it is
spent the last response (or exception) surfaces, and `endpoint_errors` types it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

log = logging.getLogger("drafting.llm")

RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})
RETRY_EXCEPTIONS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one request.

    Attributes:
        max_attempts: Attempts in all, the first included.
        max_wait_s: Total seconds of sleeping allowed for one request.
        backoff_s: First backoff; doubles per attempt (plus up to 10% jitter), capped at 30 s.
        max_500_retries: Retries allowed for HTTP 500 (see the module docstring).
    """

    max_attempts: int = 4
    max_wait_s: float = 60.0
    backoff_s: float = 1.0
    max_500_retries: int = 1

    def backoff(self, attempt: int) -> float:
        """Exponential backoff after the given (1-based) failed attempt."""
        base = min(30.0, self.backoff_s * 2 ** (attempt - 1))
        return base * (1 + random.uniform(0, 0.1))

    def wait(self, attempt: int, waited: float, hint: float | None) -> float | None:
        """Seconds to sleep before the next attempt, or None when the budget is spent.

        Args:
            attempt: Attempts made so far.
            waited: Seconds slept so far for this request.
            hint: The server's ``Retry-After``, if any (honoured, never shortened).
        """
        if attempt >= self.max_attempts:
            return None
        delay = hint if hint is not None else self.backoff(attempt)
        if waited + delay > self.max_wait_s:
            return None
        return delay

    def should_retry(self, response: httpx.Response, count_500: int) -> bool:
        """Whether a response status is worth another attempt."""
        if response.status_code == 500:
            return count_500 <= self.max_500_retries
        return response.status_code in RETRY_STATUSES


def retry_after(response: httpx.Response) -> float | None:
    """The server's requested wait in seconds, from ``retry-after-ms`` or ``Retry-After``."""
    ms = response.headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _log_retry(request: httpx.Request, what: str, delay: float, attempt: int, total: int) -> None:
    log.info(
        "model request %s %s: %s; retrying in %.2fs (attempt %d of %d)",
        request.method,
        request.url.path,
        what,
        delay,
        attempt + 1,
        total,
    )


class RetryTransport(httpx.BaseTransport):
    """Synchronous retrying transport around an inner transport."""

    def __init__(self, inner: httpx.BaseTransport, policy: RetryPolicy):
        self.inner = inner
        self.policy = policy

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempt, waited, count_500 = 0, 0.0, 0
        while True:
            attempt += 1
            try:
                response = self.inner.handle_request(request)
            except RETRY_EXCEPTIONS as exc:
                delay = self.policy.wait(attempt, waited, None)
                if delay is None:
                    raise
                _log_retry(request, type(exc).__name__, delay, attempt, self.policy.max_attempts)
            else:
                count_500 += response.status_code == 500
                if not self.policy.should_retry(response, count_500):
                    return response
                delay = self.policy.wait(attempt, waited, retry_after(response))
                if delay is None:
                    return response
                response.close()
                what = f"HTTP {response.status_code}"
                _log_retry(request, what, delay, attempt, self.policy.max_attempts)
            time.sleep(delay)
            waited += delay

    def close(self) -> None:
        self.inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """Asynchronous retrying transport around an inner transport."""

    def __init__(self, inner: httpx.AsyncBaseTransport, policy: RetryPolicy):
        self.inner = inner
        self.policy = policy

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempt, waited, count_500 = 0, 0.0, 0
        while True:
            attempt += 1
            try:
                response = await self.inner.handle_async_request(request)
            except RETRY_EXCEPTIONS as exc:
                delay = self.policy.wait(attempt, waited, None)
                if delay is None:
                    raise
                _log_retry(request, type(exc).__name__, delay, attempt, self.policy.max_attempts)
            else:
                count_500 += response.status_code == 500
                if not self.policy.should_retry(response, count_500):
                    return response
                delay = self.policy.wait(attempt, waited, retry_after(response))
                if delay is None:
                    return response
                await response.aclose()
                what = f"HTTP {response.status_code}"
                _log_retry(request, what, delay, attempt, self.policy.max_attempts)
            await asyncio.sleep(delay)
            waited += delay

    async def aclose(self) -> None:
        await self.inner.aclose()
