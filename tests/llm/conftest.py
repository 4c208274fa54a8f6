"""Fixtures for the endpoint-layer tests: a loopback fake server and endpoints pointing at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drafting.llm.config import Endpoint, resolve_endpoint
from tests.llm.fake_server import FakeOpenAIServer


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    """A running loopback OpenAI-compatible fake server."""
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def fake_endpoint(fake_openai: FakeOpenAIServer, tmp_path: Path) -> Callable[..., Endpoint]:
    """Build an `openai`-backend endpoint on the fake server, fixtures under tmp_path."""

    def make(mode: str = "live", **overrides: Any) -> Endpoint:
        fields: dict[str, Any] = {
            "backend": "openai",
            "base_url": fake_openai.base_url,
            "model": "fake-model",
            "api_key": "sk-test-key",
            "fixtures": mode,
            "fixtures_dir": tmp_path / "fixtures",
            "timeout_s": 5.0,
            "backoff_s": 0.05,
        }
        fields.update(overrides)
        return resolve_endpoint(**fields)

    return make
