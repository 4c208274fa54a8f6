"""`endpoint_errors`: turn what escapes an SDK call into the project's typed errors.

The ``openai`` SDK wraps any exception raised inside its transport in ``APIConnectionError``
(``raise ... from err``), so a fixture miss arrives wrapped: it is unwrapped here. HTTP errors
become `EndpointError` with the status and the endpoint host, never the key.
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from drafting.errors import DraftingError, EndpointError, ReplyParseError
from drafting.llm.config import Endpoint
from drafting.parsing import truncation_error

if TYPE_CHECKING:  # pragma: no cover
    import openai

_MAX_DETAIL = 200


def _wrapped_project_error(exc: BaseException) -> DraftingError | None:
    """The project error an SDK exception wraps (via __cause__/__context__), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, DraftingError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _detail(exc: BaseException) -> str:
    """A short server-side reason from an SDK error (its message, truncated)."""
    body = getattr(exc, "body", None)
    message = None
    if isinstance(body, dict):
        error = body.get("error", body)
        message = error.get("message") if isinstance(error, dict) else error
    text = str(message or getattr(exc, "message", "") or exc).strip().replace("\n", " ")
    return text[:_MAX_DETAIL] + ("…" if len(text) > _MAX_DETAIL else "")


def translate(exc: BaseException, endpoint: Endpoint) -> BaseException | None:
    """The typed error for an exception escaping a model call, or None to let it through."""
    if isinstance(exc, DraftingError):
        return None
    wrapped = _wrapped_project_error(exc)
    if wrapped is not None:
        return wrapped
    import httpx
    import openai

    host = endpoint.host
    if isinstance(exc, IndexError):
        # Raised inside a model call only by LangChain reading ``generations[0]`` of a reply
        # whose ``choices`` list was empty: the server answered with no completion.
        return EndpointError(
            f"{endpoint.model}: the reply held no completion (empty 'choices')", endpoint=host
        )
    if isinstance(exc, openai.LengthFinishReasonError):
        return _truncated(exc)
    if isinstance(exc, openai.APIStatusError):
        return EndpointError(f"{endpoint.model}: {_detail(exc)}", endpoint=host, status=exc.status_code)
    if isinstance(exc, openai.APITimeoutError):
        return EndpointError(
            f"{endpoint.model}: timed out after {endpoint.timeout_s:g}s (retries spent)",
            endpoint=host,
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        reason = type(cause).__name__ if cause else "connection failed"
        return EndpointError(f"{endpoint.model}: cannot reach endpoint ({reason})", endpoint=host)
    if isinstance(exc, httpx.HTTPStatusError):
        return EndpointError(endpoint.model, endpoint=host, status=exc.response.status_code)
    if isinstance(exc, httpx.TimeoutException):
        return EndpointError(f"{endpoint.model}: timed out", endpoint=host)
    if isinstance(exc, httpx.TransportError):
        return EndpointError(f"{endpoint.model}: cannot reach endpoint ({type(exc).__name__})", endpoint=host)
    return None


def _truncated(exc: openai.LengthFinishReasonError) -> ReplyParseError:
    """`truncation_error` for the SDK's ``parse`` path, which raises instead of replying."""
    from drafting.llm.fixtures.context import current_call

    raw = ""
    with contextlib.suppress(AttributeError, IndexError):
        raw = exc.completion.choices[0].message.content or ""
    return truncation_error(raw, current_call()[0])


class endpoint_errors:  # noqa: N801 - used like a function: `with endpoint_errors(ep):`
    """Context manager (``with`` or ``async with``) typing errors from model calls.

    Raises `EndpointError` for HTTP errors, timeouts and connection failures left after the
    retry budget, and re-raises a wrapped `FixtureMissError` / `FixtureFileError` as itself.

    Args:
        endpoint: The endpoint being called (names the host in messages).
    """

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint

    def __enter__(self) -> endpoint_errors:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:  # never swallows: a typed error replaces the exception
        if exc is None or not isinstance(exc, Exception):
            return False
        typed = translate(exc, self.endpoint)
        if typed is None:
            return False
        if isinstance(typed, EndpointError) and typed.__cause__ is None:
            raise typed from exc
        raise typed from None  # an unwrapped fixture error: the SDK wrapper adds nothing

    async def __aenter__(self) -> endpoint_errors:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        return self.__exit__(exc_type, exc, tb)
