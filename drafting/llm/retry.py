"""Retries where the SDK leaves them: an httpx transport with backoff and a wait budget, on tenacity.

The SDK clients are built with ``max_retries=0``; this transport retries instead, so that one
policy covers LangChain and ragas alike. It sits *below* the fixture recorder: only the final
answer of a request is recorded, and a replay never waits or retries.

Retried: timeouts and network errors, HTTP 408, 429, 502, 503 and 504, honouring ``Retry-After``
(seconds or an HTTP date) and ``retry-after-ms``. HTTP 500 is retried once only: llama.cpp
reports a rejected request (e.g. an unsupported ``response_format``) as 500, which no amount of
retrying fixes. The budget is the endpoint's attempts and total seconds of waiting; when it is
spent the last response (or exception) surfaces, and `endpoint_errors` types it.

The policy is written once, as the arguments of a tenacity retrier (`RetryPolicy.retrier_kwargs`);
the sync and async transports differ only in how they call the inner transport.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypedDict

import httpx
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_base, retry_if_exception_type

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
        delay = self.delay(attempt, hint)
        return None if self.spent(attempt, waited, delay) else delay

    def delay(self, attempt: int, hint: float | None) -> float:
        """The server's ``Retry-After`` when given, else the backoff after ``attempt``."""
        return hint if hint is not None else self.backoff(attempt)

    def spent(self, attempt: int, waited: float, delay: float) -> bool:
        """Whether the budget forbids sleeping ``delay`` more seconds before another attempt."""
        return attempt >= self.max_attempts or waited + delay > self.max_wait_s

    def should_retry(self, response: httpx.Response, count_500: int) -> bool:
        """Whether a response status is worth another attempt."""
        if response.status_code == 500:
            return count_500 <= self.max_500_retries
        return response.status_code in RETRY_STATUSES

    def retrier_kwargs(self, request: httpx.Request) -> RetrierKwargs:
        """The tenacity arguments of this policy for one request (sync and async alike).

        An attempt raises `RetryableResponse` for a response worth retrying; when the budget is
        spent that response is returned, and an exception is re-raised as itself.
        """

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            hint = retry_after(exc.response) if isinstance(exc, RetryableResponse) else None
            return self.delay(state.attempt_number, hint)

        def stop(state: RetryCallState) -> bool:
            return self.spent(state.attempt_number, state.idle_for, state.upcoming_sleep)

        def log_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            what = (
                f"HTTP {exc.response.status_code}"
                if isinstance(exc, RetryableResponse)
                else type(exc).__name__
            )
            log.info(
                "model request %s %s: %s; retrying in %.2fs (attempt %d of %d)",
                request.method,
                request.url.path,
                what,
                state.upcoming_sleep,
                state.attempt_number + 1,
                self.max_attempts,
            )

        return RetrierKwargs(
            retry=retry_if_exception_type((*RETRY_EXCEPTIONS, RetryableResponse)),
            wait=wait,
            stop=stop,
            before_sleep=log_retry,
            retry_error_callback=_last_outcome,
        )


class RetrierKwargs(TypedDict):
    """The arguments `tenacity.Retrying` and `tenacity.AsyncRetrying` take from a `RetryPolicy`."""

    retry: retry_base
    wait: Callable[[RetryCallState], float]
    stop: Callable[[RetryCallState], bool]
    before_sleep: Callable[[RetryCallState], None]
    retry_error_callback: Callable[[RetryCallState], Any]


class RetryableResponse(Exception):
    """Raised inside an attempt for a response worth retrying, so that tenacity sees it."""

    def __init__(self, response: httpx.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _last_outcome(state: RetryCallState) -> httpx.Response:
    """When the budget is spent: the last response, or the last exception raised as itself."""
    assert state.outcome is not None  # tenacity calls this only after an attempt
    exc = state.outcome.exception()
    if isinstance(exc, RetryableResponse):
        return exc.response
    return state.outcome.result()  # raises the exception


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


class _StatusTally:
    """Per-request state the policy needs beyond tenacity's own: the count of HTTP 500s seen."""

    def __init__(self, policy: RetryPolicy):
        self.policy = policy
        self.count_500 = 0

    def retryable(self, response: httpx.Response) -> bool:
        self.count_500 += response.status_code == 500
        return self.policy.should_retry(response, self.count_500)


class RetryTransport(httpx.BaseTransport):
    """Synchronous retrying transport around an inner transport."""

    def __init__(self, inner: httpx.BaseTransport, policy: RetryPolicy):
        self.inner = inner
        self.policy = policy

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        tally = _StatusTally(self.policy)

        def attempt() -> httpx.Response:
            response = self.inner.handle_request(request)
            if tally.retryable(response):
                response.read()  # releases the connection; the body stays for the caller
                raise RetryableResponse(response)
            return response

        # A new retrier per request: tenacity keeps per-call state on the retrier object.
        return Retrying(**self.policy.retrier_kwargs(request))(attempt)

    def close(self) -> None:
        self.inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """Asynchronous retrying transport around an inner transport."""

    def __init__(self, inner: httpx.AsyncBaseTransport, policy: RetryPolicy):
        self.inner = inner
        self.policy = policy

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        tally = _StatusTally(self.policy)

        async def attempt() -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            if tally.retryable(response):
                await response.aread()  # releases the connection; the body stays for the caller
                raise RetryableResponse(response)
            return response

        return await AsyncRetrying(**self.policy.retrier_kwargs(request))(attempt)

    async def aclose(self) -> None:
        await self.inner.aclose()
