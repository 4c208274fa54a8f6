"""Client factories: every SDK client for an endpoint carries the same transport stack.

Stack, outermost first: fixture record/replay -> retry -> (local backend: start-and-forward to
the embedded server) -> httpx network transport. The network part is built lazily by the fixture
transport, so building a client opens nothing, and replay never builds it at all.

The SDK clients get ``max_retries=0``: retries happen in `drafting.llm.retry`, below the
recorder, so that a fixture miss is never retried and only final answers are recorded.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from drafting.llm.config import Endpoint

if TYPE_CHECKING:  # pragma: no cover
    import httpx
    import openai
    from langchain_core.language_models import BaseChatModel

#: The key handed to the SDK when the real one is supplied elsewhere (embedded server: the
#: forwarding transport sets it) or not needed (replay, keyless compatible servers).
PLACEHOLDER_KEY = "not-needed"


def _api_key(endpoint: Endpoint) -> str:
    return endpoint.api_key.get_secret_value() if endpoint.api_key else PLACEHOLDER_KEY


def _store(endpoint: Endpoint):  # -> FixtureStore
    from drafting.llm.fixtures import FixtureStore

    secrets = (endpoint.api_key.get_secret_value(),) if endpoint.api_key else ()
    return FixtureStore(
        endpoint.fixture_path,
        endpoint.fixtures_mode,
        base_path=urlsplit(endpoint.client_base_url).path,
        secrets=secrets,
    )


def _policy(endpoint: Endpoint):  # -> RetryPolicy
    from drafting.llm.retry import RetryPolicy

    return RetryPolicy(
        max_attempts=endpoint.max_attempts,
        max_wait_s=endpoint.max_wait_s,
        backoff_s=endpoint.backoff_s,
    )


def _adapter(endpoint: Endpoint):  # -> Callable[[httpx.Request], httpx.Request] | None
    """The request rewrite for llama.cpp-style servers (see `drafting.llm.compat`)."""
    if endpoint.structured_output == "json_object_schema":
        from drafting.llm.compat import llama_cpp_request

        return llama_cpp_request
    return None


@lru_cache(maxsize=1)
def ssl_context() -> ssl.SSLContext:
    """One verified SSL context per process.

    httpx builds a new context for every transport, and loading the CA bundle costs ~30 ms of
    blocking CPU; every client has a sync and an async stack and the async one a network transport
    per event loop, so building contexts per transport stalled the event loop under concurrency.
    """
    import httpx

    return httpx.create_ssl_context()


def pool_limits() -> httpx.Limits:
    """The openai SDK's own connection limits, which a client given its own transport loses.

    httpx's default keeps only 20 idle connections, so at concurrency 32 every round of calls
    closed a dozen connections and opened them again.
    """
    import httpx

    return httpx.Limits(max_connections=1000, max_keepalive_connections=100)


def _embedded(endpoint: Endpoint) -> bool:
    return endpoint.backend == "local" and not endpoint.base_url


def _server_settings(endpoint: Endpoint) -> dict[str, Any]:
    """The embedded server's settings (`drafting.llm.local_server.ensure_server`)."""
    return {
        "model_path": endpoint.local_model,
        "n_ctx": endpoint.local_n_ctx,
        "n_threads": endpoint.local_threads,
    }


def sync_transport(endpoint: Endpoint) -> httpx.BaseTransport:
    """The synchronous transport stack for an endpoint (see the module docstring)."""
    import httpx

    from drafting.llm.fixtures import FixtureTransport
    from drafting.llm.retry import RetryTransport

    def network() -> httpx.BaseTransport:
        if _embedded(endpoint):
            from drafting.llm.local_server import LocalForwardTransport

            forward = LocalForwardTransport(endpoint.model, **_server_settings(endpoint))
            return RetryTransport(forward, _policy(endpoint))
        from drafting.llm.deadline import DeadlineTransport

        inner = httpx.HTTPTransport(verify=ssl_context(), limits=pool_limits())
        return RetryTransport(DeadlineTransport(inner, endpoint.timeout_s), _policy(endpoint))

    recorded = FixtureTransport(_store(endpoint), network, _adapter(endpoint))
    if endpoint.structured_output == "json_schema":
        from drafting.llm.compat import JsonSchemaFallbackTransport

        return JsonSchemaFallbackTransport(recorded, _fallback_key(endpoint))
    return recorded


def async_transport(endpoint: Endpoint) -> httpx.AsyncBaseTransport:
    """The asynchronous transport stack for an endpoint."""
    import httpx

    from drafting.llm.fixtures import AsyncFixtureTransport
    from drafting.llm.retry import AsyncRetryTransport

    def network() -> httpx.AsyncBaseTransport:
        if _embedded(endpoint):
            from drafting.llm.local_server import AsyncLocalForwardTransport

            inner: httpx.AsyncBaseTransport = AsyncLocalForwardTransport(
                endpoint.model, **_server_settings(endpoint)
            )
        else:
            from drafting.llm.deadline import AsyncDeadlineTransport
            from drafting.llm.pool import PooledNetworkTransport

            net = httpx.AsyncHTTPTransport(verify=ssl_context(), limits=pool_limits())
            inner = AsyncDeadlineTransport(PooledNetworkTransport(net), endpoint.timeout_s)
        return AsyncRetryTransport(inner, _policy(endpoint))

    recorded = AsyncFixtureTransport(_store(endpoint), network, _adapter(endpoint))
    if endpoint.structured_output == "json_schema":
        from drafting.llm.compat import AsyncJsonSchemaFallbackTransport

        return AsyncJsonSchemaFallbackTransport(recorded, _fallback_key(endpoint))
    return recorded


def _fallback_key(endpoint: Endpoint) -> tuple[str, str]:
    """Which server a json_schema fallback is remembered for: base URL and model."""
    return (endpoint.client_base_url, endpoint.model)


def http_client(endpoint: Endpoint) -> httpx.Client:
    """An httpx client with the endpoint's transport stack."""
    import httpx

    from drafting.llm.handling import sync_check_reply

    return httpx.Client(
        transport=sync_transport(endpoint), timeout=endpoint.timeout_s, follow_redirects=True,
        event_hooks={"response": [sync_check_reply]},  # a 200 HTML page: one typed error
    )


def async_http_client(endpoint: Endpoint) -> httpx.AsyncClient:
    """An async httpx client with the endpoint's transport stack."""
    import httpx

    from drafting.llm.handling import acheck_reply

    return httpx.AsyncClient(
        transport=async_transport(endpoint), timeout=endpoint.timeout_s, follow_redirects=True,
        event_hooks={"response": [acheck_reply]},  # a 200 HTML page: one typed error
    )


def _openai_options(endpoint: Endpoint) -> dict[str, Any]:
    """What both SDK clients are built with: key, URL, timeout, and the SDK's retries off (the
    transport stack retries). The ``type: ignore`` at the callers: openai types ``http_client``
    as an httpx2 client; the httpx client works (tests/llm)."""
    return {
        "api_key": _api_key(endpoint),
        "base_url": endpoint.client_base_url,
        "timeout": endpoint.timeout_s,
        "max_retries": 0,
    }


def openai_client(endpoint: Endpoint) -> openai.OpenAI:
    """A synchronous ``openai.OpenAI`` client for the endpoint (SDK retries off)."""
    import openai

    return openai.OpenAI(
        **_openai_options(endpoint), http_client=http_client(endpoint)  # type: ignore[arg-type]
    )


def async_openai_client(endpoint: Endpoint) -> openai.AsyncOpenAI:
    """An ``openai.AsyncOpenAI`` client for the endpoint (SDK retries off)."""
    import openai

    return openai.AsyncOpenAI(
        **_openai_options(endpoint), http_client=async_http_client(endpoint)  # type: ignore[arg-type]
    )


#: Generation parameters `EndpointChatModel` sends; a model given others stays a ``ChatOpenAI``.
_DIRECT_PARAMS = frozenset({"temperature", "max_tokens", "seed", "top_p"})


def chat_model(endpoint: Endpoint, **generation_params: Any) -> BaseChatModel:
    """A LangChain chat model for the endpoint, fixtures and retries included.

    A ``ChatOpenAI`` is built and configured as ever (its validators settle the parameters per
    model); when it would send a plain Chat Completions request with only temperature, token
    limit, seed and top_p, the returned model is an `EndpointChatModel` on the same SDK clients
    and parameters, which sends the same request for less client CPU
    (`drafting.llm.chat`). Otherwise (Responses API models, other parameters) the
    ``ChatOpenAI`` itself.

    Args:
        endpoint: The resolved endpoint.
        **generation_params: Passed to ``ChatOpenAI`` (temperature, max_tokens, seed, ...).
    """
    from langchain_openai import ChatOpenAI

    params: dict[str, Any] = {
        "model": endpoint.model,
        "api_key": _api_key(endpoint),
        "base_url": endpoint.client_base_url,
        "timeout": endpoint.timeout_s,
        "max_retries": 0,
        "http_client": http_client(endpoint),
        "http_async_client": async_http_client(endpoint),
    }
    if endpoint.fixtures_mode != "live":
        # Streaming cannot be recorded; make .stream()/astream_events fall back to one call.
        params["disable_streaming"] = True
    params.update(generation_params)
    llm = ChatOpenAI(**params)
    if set(generation_params) - _DIRECT_PARAMS or llm.use_responses_api or llm.model_kwargs:
        return llm
    from drafting.llm.chat import EndpointChatModel

    return EndpointChatModel(
        model_name=llm.model_name,
        client=llm.root_client,
        async_client=llm.root_async_client,
        temperature=llm.temperature,
        max_tokens=llm.max_tokens,
        seed=llm.seed,
        top_p=llm.top_p,
        disable_streaming=llm.disable_streaming,
    )


def judge_llm(endpoint: Endpoint, **kwargs: Any) -> Any:
    """A ragas judge LLM (``llm_factory`` on an ``AsyncOpenAI`` client) for the endpoint.

    Args:
        endpoint: The resolved endpoint; the same fixtures and retry layer apply.
        **kwargs: Passed to ``ragas.llms.llm_factory`` (e.g. temperature, max_tokens).
    """
    import os

    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    from ragas.llms import llm_factory
    from ragas.llms.base import InstructorLLM

    llm = llm_factory(endpoint.model, provider="openai", client=async_openai_client(endpoint), **kwargs)
    if endpoint.structured_output == "json_object_schema" and isinstance(llm, InstructorLLM):
        # ragas drives instructor in JSON mode: ``{"type": "json_object"}`` with the schema only
        # in the prompt, which a small local model does not follow. llama.cpp constrains
        # decoding by grammar when the schema rides along, so add it to every request.
        llm.client = _SchemaInjectingClient(llm.client)
    return llm


class _SchemaInjectingClient:
    """Wraps an async instructor client: adds the response model's schema to response_format."""

    def __init__(self, inner: Any):
        from types import SimpleNamespace

        self._inner = inner
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self._create))

    async def _create(self, *, response_model: type[Any], **kwargs: Any) -> Any:
        extra = dict(kwargs.pop("extra_body", None) or {})
        extra["response_format"] = {
            "type": "json_object",
            "schema": response_model.model_json_schema(),
        }
        return await self._inner.chat.completions.create(
            response_model=response_model, extra_body=extra, **kwargs
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
