"""Endpoint resolution: arguments, then environment, then defaults; the key never shows."""

from __future__ import annotations

import pytest

from drafting.errors import ConfigError
from drafting.llm.config import LOCAL_MODEL, resolve_endpoint

ENV = (
    "DRAFTING_BACKEND",
    "DRAFTING_MODEL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "DRAFTING_FIXTURES",
    "DRAFTING_FIXTURES_DIR",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def test_default_is_the_embedded_model_live():
    ep = resolve_endpoint()
    assert (ep.backend, ep.model, ep.fixtures_mode) == ("local", LOCAL_MODEL, "live")
    assert ep.structured_output == "json_object_schema"
    assert ep.label == "local-smollm2-135m-instruct"
    assert str(ep.fixture_path) == "eval/fixtures/local-smollm2-135m-instruct"


def test_environment_selects_openai_and_arguments_win(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET")
    monkeypatch.setenv("DRAFTING_FIXTURES", "replay")
    monkeypatch.setenv("DRAFTING_FIXTURES_DIR", "/tmp/fx")
    ep = resolve_endpoint()
    assert (ep.backend, ep.model, ep.fixtures_mode) == ("openai", "gpt-4o-mini", "replay")
    assert ep.structured_output == "json_schema"
    assert str(ep.fixture_path) == "/tmp/fx/openai-gpt-4o-mini"
    ep = resolve_endpoint(backend="local", fixtures="auto", label="mine")
    assert (ep.backend, ep.fixtures_mode, ep.label) == ("local", "auto", "mine")


def test_base_url_implies_openai_backend_without_key(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://gpu-box:8000/v1")
    monkeypatch.setenv("DRAFTING_MODEL", "llama3")
    ep = resolve_endpoint()
    assert (ep.backend, ep.model, ep.host) == ("openai", "llama3", "gpu-box")
    # An explicit local backend ignores OPENAI_BASE_URL.
    assert resolve_endpoint(backend="local").base_url is None


def test_key_is_never_shown(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET")
    ep = resolve_endpoint(base_url="https://user:pw@api.example.com/v1")
    for text in (repr(ep), str(ep), ep.model_dump_json(), str(ep.describe())):
        assert "SECRET" not in text
    assert ep.describe() == {"backend": "openai", "model": "gpt-4o-mini", "host": "api.example.com"}
    assert ep.api_key is not None and ep.api_key.get_secret_value() == "sk-test-SECRET"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "azure"}, "unknown backend 'azure'"),
        ({"fixtures": "sometimes"}, "unknown fixtures mode 'sometimes'"),
        ({"backend": "openai"}, "needs an API key"),
    ],
)
def test_bad_settings_are_config_errors(kwargs: dict, message: str):
    with pytest.raises(ConfigError, match=message):
        resolve_endpoint(**kwargs)


def test_replay_needs_no_key():
    assert resolve_endpoint(backend="openai", fixtures="replay").api_key is None
