"""Structured output per server: OpenAI strict mode, llama.cpp's json_object, none, and the fallback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from drafting.errors import ConfigError, FixtureMissError
from drafting.llm import chat_model, endpoint_errors, fixture_context, structured_output_kwargs
from drafting.llm.compat import reset_fallbacks
from drafting.llm.config import Endpoint, resolve_endpoint
from drafting.llm.structured import strict_json_schema
from drafting.schema import STAGE_OUTPUTS
from tests.llm.fake_server import (
    FakeOpenAIServer,
    llama_cpp_reply,
    openai_strict_reply,
    strict_schema_errors,
)


@pytest.fixture(autouse=True)
def _fresh_fallbacks() -> Iterator[None]:
    reset_fallbacks()
    yield
    reset_fallbacks()


def _endpoint(server: FakeOpenAIServer, tmp_path: Path, mode: str = "live", **kw: object) -> Endpoint:
    fields: dict[str, object] = {
        "backend": "openai", "base_url": server.base_url, "model": "fake-model",
        "api_key": "sk-test-key", "fixtures": mode, "fixtures_dir": tmp_path / "fx",
        "timeout_s": 5.0, "backoff_s": 0.01, "max_attempts": 1,
    }  # fmt: skip
    fields.update(kw)
    return resolve_endpoint(**fields)  # type: ignore[arg-type]


def _ask(endpoint: Endpoint, model_cls: type) -> object:
    llm = chat_model(endpoint, temperature=0, max_tokens=50, seed=0)
    with fixture_context(stage="findings", case_id="c1"), endpoint_errors(endpoint):
        reply = llm.bind(**structured_output_kwargs(endpoint, model_cls)).invoke("a case")
    return model_cls.model_validate_json(reply.content)


@pytest.mark.parametrize("name", sorted(STAGE_OUTPUTS))
def test_every_stage_schema_passes_openai_strict_rules(name: str):
    model_cls = STAGE_OUTPUTS[name]
    assert strict_json_schema(model_cls) is not strict_json_schema(model_cls)  # a copy each time
    assert strict_schema_errors(strict_json_schema(model_cls)) == []
    # The project's plain schemas would be refused: the conversion is what makes them pass.
    assert strict_schema_errors(model_cls.model_json_schema()) != []


def test_dropped_length_limits_are_restated_for_the_model():
    schema = strict_json_schema(STAGE_OUTPUTS["DiagnosisOutput"])
    text = json.dumps(schema)  # the bounds pydantic writes: maxLength and minLength, in a note
    assert strict_schema_errors(schema) == [] and "(maxLength: " in text and "minLength: " in text


@pytest.mark.parametrize("name", sorted(STAGE_OUTPUTS))
def test_openai_path_sends_strict_schema_the_fake_accepts(tmp_path: Path, name: str):
    model_cls = STAGE_OUTPUTS[name]
    with FakeOpenAIServer(default=openai_strict_reply) as server:
        endpoint = _endpoint(server, tmp_path)
        assert endpoint.structured_output == "json_schema"
        llm = chat_model(endpoint, temperature=0, max_tokens=50, seed=0)
        reply = llm.bind(**structured_output_kwargs(endpoint, model_cls)).invoke("a case")
    assert isinstance(json.loads(reply.content), dict)  # accepted: answered, not HTTP 400
    (seen,) = server.requests
    fmt = seen.body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["name"] == model_cls.__name__


def test_strict_fake_refuses_a_lax_schema(tmp_path: Path):
    """The fake really enforces the rules: the old non-strict request is refused."""
    import httpx

    body = {
        "model": "m", "messages": [{"role": "user", "content": "x"}],
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "F", "strict": False, "schema": STAGE_OUTPUTS["FindingsOutput"].model_json_schema()
        }},
    }  # fmt: skip
    with FakeOpenAIServer(default=openai_strict_reply) as server:
        r = httpx.post(f"{server.base_url}/chat/completions", json=body)
    assert r.status_code == 400 and "strict" in r.text


def test_json_schema_falls_back_once_and_records_what_was_sent(tmp_path: Path, caplog):
    model_cls = STAGE_OUTPUTS["FindingsOutput"]
    with FakeOpenAIServer(default=llama_cpp_reply) as server:
        endpoint = _endpoint(server, tmp_path, "record")
        first = _ask(endpoint, model_cls)
        second = _ask(_endpoint(server, tmp_path, "record"), model_cls)  # a new client, same run
    assert first == second
    kinds = [r.body["response_format"]["type"] for r in server.requests]
    assert kinds == ["json_schema", "json_object", "json_object"]  # rejected once, then remembered
    # The fallback is exactly what json_object_schema sends: the model's own schema.
    assert server.requests[1].body["response_format"]["schema"] == model_cls.model_json_schema()
    assert "max_tokens" in server.requests[1].body  # llama.cpp's name for the limit
    assert "json_object" in caplog.text
    files = list((tmp_path / "fx").rglob("*.json"))
    assert len(files) == 1  # the refusal is not an answer; the fallback is recorded as itself
    recorded = json.loads(files[0].read_text())
    assert recorded["request"]["body"]["response_format"]["type"] == "json_object"


def test_replay_of_a_fallen_back_recording_needs_no_server(tmp_path: Path):
    """Replay finds the json_object recording after the json_schema request misses (the fake is gone)."""
    model_cls = STAGE_OUTPUTS["FindingsOutput"]
    with FakeOpenAIServer(default=llama_cpp_reply) as server:
        recorded = _ask(_endpoint(server, tmp_path, "record"), model_cls)
        url = server.base_url
    reset_fallbacks()  # a new run
    replay = resolve_endpoint(
        backend="openai", base_url=url, model="fake-model", fixtures="replay",
        fixtures_dir=tmp_path / "fx",
    )  # fmt: skip
    assert _ask(replay, model_cls) == recorded


def test_replay_miss_names_the_original_request(tmp_path: Path):
    replay = resolve_endpoint(
        backend="openai", base_url="http://127.0.0.1:9/v1", model="m", fixtures="replay",
        fixtures_dir=tmp_path / "fx",
    )  # fmt: skip
    with pytest.raises(FixtureMissError) as info:
        _ask(replay, STAGE_OUTPUTS["FindingsOutput"])
    assert info.value.stage == "findings" and info.value.case_id == "c1"


def test_other_server_errors_do_not_fall_back(tmp_path: Path):
    from tests.llm.fake_server import server_error

    with FakeOpenAIServer(default=openai_strict_reply) as server:
        server.script(server_error(503, "overloaded"))
        endpoint = _endpoint(server, tmp_path)
        with pytest.raises(Exception, match="overloaded"):
            _ask(endpoint, STAGE_OUTPUTS["FindingsOutput"])
    assert [r.body["response_format"]["type"] for r in server.requests] == ["json_schema"]


def test_async_fallback(tmp_path: Path):
    model_cls = STAGE_OUTPUTS["DiagnosisOutput"]
    with FakeOpenAIServer(default=llama_cpp_reply) as server:
        endpoint = _endpoint(server, tmp_path)
        llm = chat_model(endpoint, temperature=0, max_tokens=50, seed=0)
        bound = llm.bind(**structured_output_kwargs(endpoint, model_cls))
        reply = asyncio.run(bound.ainvoke("a case"))
    model_cls.model_validate_json(reply.content)
    assert [r.body["response_format"]["type"] for r in server.requests] == ["json_schema", "json_object"]


def test_mode_none_sends_no_response_format(tmp_path: Path):
    with FakeOpenAIServer() as server:
        endpoint = _endpoint(server, tmp_path, structured_output="none")
        assert structured_output_kwargs(endpoint, STAGE_OUTPUTS["FindingsOutput"]) == {}


def test_mode_from_environment_and_validation(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRAFTING_STRUCTURED_OUTPUT", "json_object_schema")
    assert resolve_endpoint(base_url="http://127.0.0.1:1/v1").structured_output == "json_object_schema"
    explicit = resolve_endpoint(base_url="http://127.0.0.1:1/v1", structured_output="none")
    assert explicit.structured_output == "none"
    monkeypatch.setenv("DRAFTING_STRUCTURED_OUTPUT", "grammar")
    with pytest.raises(ConfigError, match="structured-output"):
        resolve_endpoint(base_url="http://127.0.0.1:1/v1")


def test_local_backend_request_is_unchanged():
    """The committed recordings are keyed by the local backend's json_object + schema bytes."""
    local = resolve_endpoint(backend="local")
    model_cls = STAGE_OUTPUTS["FindingsOutput"]
    assert structured_output_kwargs(local, model_cls) == {
        "extra_body": {"response_format": {"type": "json_object", "schema": model_cls.model_json_schema()}}
    }


def test_suite_blocks_take_structured_output(tmp_path: Path):
    from drafting.evaluation.setup import build_endpoint
    from drafting.evaluation.suite import suite_from_data

    data = {
        "name": "s", "cases": {"dir": str(tmp_path)},
        "drafter": {"base_url": "http://127.0.0.1:1/v1", "structured_output": "json_object_schema"},
        "judge": {"base_url": "http://127.0.0.1:1/v1", "structured_output": "none"},
    }  # fmt: skip
    suite = suite_from_data(data, path=tmp_path / "s.yaml")
    assert build_endpoint(suite).structured_output == "json_object_schema"
    assert build_endpoint(suite, judge=True).structured_output == "none"
    data["drafter"]["structured_output"] = "xml"
    with pytest.raises(ConfigError, match="structured_output"):
        suite_from_data(data, path=tmp_path / "s.yaml")




def test_timeout_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRAFTING_TIMEOUT", "900")
    assert resolve_endpoint(backend="local").timeout_s == 900
    assert resolve_endpoint(backend="local", timeout_s=5).timeout_s == 5
    monkeypatch.setenv("DRAFTING_TIMEOUT", "long")
    with pytest.raises(ConfigError, match="DRAFTING_TIMEOUT"):
        resolve_endpoint(backend="local")
