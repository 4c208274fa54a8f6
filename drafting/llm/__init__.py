"""Model endpoints over the OpenAI protocol: configuration, clients, fixtures, retries.

Typical use (as `drafting.chain` does it)::

    endpoint = resolve_endpoint()                       # args > env > defaults
    llm = chat_model(endpoint, temperature=0, max_tokens=400, seed=0)
    bound = llm.bind(**structured_output_kwargs(endpoint, FindingsOutput))
    with fixture_context(stage="findings", case_id=case.id) as timing, endpoint_errors(endpoint):
        msg = await bound.ainvoke(messages)
    if msg.response_metadata.get("finish_reason") == "length":
        ...                                             # cut off: see drafting.parsing.truncation_error
    findings = parse_reply(msg.content, FindingsOutput, stage="findings")  # drafting.parsing

Modules: `config` (the endpoint), `clients` (SDK clients and their transport stack), `chat` (the
LangChain chat model `chat_model` returns for plain Chat Completions), `structured` (the JSON a
reply must match), `fixtures` (record/replay), `retry` (backoff on tenacity),
`handling` (typed errors), `compat` (server dialects), `local_server` (the embedded llama.cpp
server), `pool` (one aiohttp connection pool for a block of async calls), `fixture_admin`
(stats and pruning).
Names are imported lazily so that ``import drafting.llm`` pulls in no SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drafting.lazy import lazy_attributes

_LAZY = {
    "Endpoint": "drafting.llm.config",
    "resolve_endpoint": "drafting.llm.config",
    "LOCAL_MODEL": "drafting.llm.config",
    "chat_model": "drafting.llm.clients",
    "judge_llm": "drafting.llm.clients",
    "openai_client": "drafting.llm.clients",
    "async_openai_client": "drafting.llm.clients",
    "connection_pool": "drafting.llm.pool",
    "structured_output_kwargs": "drafting.llm.structured",
    "endpoint_errors": "drafting.llm.handling",
    "fixture_context": "drafting.llm.fixtures",
    "track_fixture_usage": "drafting.llm.fixtures",
    "stop_server": "drafting.llm.local_server",
}

__all__ = [
    "LOCAL_MODEL",
    "Endpoint",
    "async_openai_client",
    "chat_model",
    "connection_pool",
    "endpoint_errors",
    "fixture_context",
    "judge_llm",
    "openai_client",
    "resolve_endpoint",
    "stop_server",
    "structured_output_kwargs",
    "track_fixture_usage",
]

if TYPE_CHECKING:  # pragma: no cover
    from drafting.llm.clients import (
        async_openai_client,
        chat_model,
        judge_llm,
        openai_client,
    )
    from drafting.llm.config import LOCAL_MODEL, Endpoint, resolve_endpoint
    from drafting.llm.fixtures import fixture_context, track_fixture_usage
    from drafting.llm.handling import endpoint_errors
    from drafting.llm.local_server import stop_server
    from drafting.llm.pool import connection_pool
    from drafting.llm.structured import structured_output_kwargs


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
