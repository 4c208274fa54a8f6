"""Client factories: structured output per server kind, LangChain and ragas on the same stack."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel

from drafting.errors import ConfigError, FixtureMissError
from drafting.llm import (
    chat_model,
    endpoint_errors,
    fixture_context,
    judge_llm,
    resolve_endpoint,
    structured_output_kwargs,
)
from drafting.llm.config import Endpoint
from tests.llm.fake_server import FakeOpenAIServer


class Finding(BaseModel):
    region: str
    abnormal: bool


def test_structured_output_kwargs_per_capability():
    from drafting.llm.structured import strict_json_schema

    local = resolve_endpoint(backend="local")
    remote = resolve_endpoint(backend="openai", api_key="sk-x")
    schema = Finding.model_json_schema()
    assert structured_output_kwargs(local, Finding) == {
        "extra_body": {"response_format": {"type": "json_object", "schema": schema}}
    }
    assert structured_output_kwargs(remote, Finding) == {
        "extra_body": {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "Finding", "schema": strict_json_schema(Finding), "strict": True},
            }
        }
    }


def test_chat_model_structured_request_sync_and_async(
    fake_endpoint: Callable[..., Endpoint], fake_openai: FakeOpenAIServer
):
    endpoint = fake_endpoint("auto")
    llm = chat_model(endpoint, temperature=0, max_tokens=50, seed=0)
    assert llm.max_retries == 0 and llm.disable_streaming is True
    bound = llm.bind(**structured_output_kwargs(endpoint, Finding))
    sync = Finding.model_validate_json(bound.invoke("knee").content)
    asynchronous = Finding.model_validate_json(asyncio.run(bound.ainvoke("knee")).content)
    assert sync == asynchronous == Finding(region="text", abnormal=True)
    body = fake_openai.requests[0].body
    assert body["response_format"]["json_schema"]["name"] == "Finding"
    assert (body["temperature"], body["seed"], body["model"]) == (0, 0, "fake-model")
    assert len(fake_openai.requests) == 1  # sync and async share one fixture key


def test_streaming_falls_back_to_one_recorded_call(
    fake_endpoint: Callable[..., Endpoint], fake_openai: FakeOpenAIServer
):
    llm = chat_model(fake_endpoint("record"), max_tokens=5)
    chunks = list(llm.stream("hello"))
    assert "".join(c.content for c in chunks) == "echo: hello"
    assert "stream" not in fake_openai.requests[0].body or not fake_openai.requests[0].body["stream"]


def test_judge_llm_uses_the_fixture_stack(
    fake_endpoint: Callable[..., Endpoint], fake_openai: FakeOpenAIServer, request
):
    class Verdict(BaseModel):
        score: int
        reason: str

    recorder = fake_endpoint("record", structured_output="json_object_schema")
    verdict = asyncio.run(judge_llm(recorder).agenerate("Rate this.", Verdict))
    assert verdict.model_dump() == {"score": 1, "reason": "text"}
    # the llama.cpp-style endpoint gets the schema, so the server can constrain decoding
    assert fake_openai.requests[0].body["response_format"]["schema"] == Verdict.model_json_schema()
    request.getfixturevalue("no_network")
    replayer = fake_endpoint("replay", structured_output="json_object_schema")
    again = asyncio.run(judge_llm(replayer).agenerate("Rate this.", Verdict))
    assert again.model_dump() == verdict.model_dump()
    with pytest.raises(FixtureMissError), endpoint_errors(replayer):
        asyncio.run(judge_llm(replayer).agenerate("Rate that.", Verdict))


def test_local_replay_never_starts_the_server(tmp_path: Path, no_network):
    # DRAFTING_FORBID_LOCAL_SERVER is set by the test guard: a start attempt would say so.
    endpoint = resolve_endpoint(backend="local", fixtures="replay", fixtures_dir=tmp_path)
    llm = chat_model(endpoint, max_tokens=5)
    with (
        pytest.raises(FixtureMissError, match="stage findings"),
        fixture_context(stage="findings"),
        endpoint_errors(endpoint),
    ):
        llm.invoke("hello")
    from drafting.llm.local_server import current_server

    assert current_server() is None


def test_non_live_tests_may_not_start_the_embedded_model(tmp_path: Path):
    endpoint = resolve_endpoint(backend="local", fixtures="live")
    llm = chat_model(endpoint, max_tokens=5)  # building the client starts nothing
    with pytest.raises(ConfigError, match="not marked @pytest.mark.live"), endpoint_errors(endpoint):
        llm.invoke("hello")


def test_missing_local_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch):
    from drafting.llm import local_server

    monkeypatch.delenv(local_server.FORBID_ENV)
    monkeypatch.setattr(local_server.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"install the `local` extra"):
        local_server.LocalServer("x").start()


def test_llama_cpp_endpoints_get_max_tokens(
    fake_endpoint: Callable[..., Endpoint], fake_openai: FakeOpenAIServer
):
    # llama_cpp.server ignores max_completion_tokens (LangChain's name): rename it, in live,
    # record and replay alike (the key is computed from what is sent).
    for mode in ("live", "record"):
        endpoint = fake_endpoint(mode, structured_output="json_object_schema")
        asyncio.run(chat_model(endpoint, max_tokens=7).ainvoke("hi"))
        chat_model(endpoint, max_tokens=7).invoke("hi")
    for seen in fake_openai.requests:
        assert seen.body["max_tokens"] == 7 and "max_completion_tokens" not in seen.body
    openai_style = fake_endpoint("live")
    chat_model(openai_style, max_tokens=7).invoke("hi")
    assert fake_openai.requests[-1].body["max_completion_tokens"] == 7
