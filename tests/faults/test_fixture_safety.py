"""Fixture files: never outside the fixture root, a size cap on recorded replies, shared modes
(issue 17)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drafting.errors import ConfigError, EndpointError
from drafting.evaluation.suite import load_suite
from drafting.llm import chat_model, endpoint_errors, resolve_endpoint
from tests.evaluation.harness_support import make_cases, write_suite
from tests.llm.fake_server import FakeOpenAIServer, Reply, chat_completion


@pytest.mark.parametrize("label", ["../../../escaped-outside", "..", "a/b", "/abs", ".hidden", "x\\y"])
def test_a_label_cannot_leave_the_fixture_root(label: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="label"):
        resolve_endpoint(backend="openai", base_url="http://127.0.0.1:9/v1", api_key="k" * 8,
                         fixtures="record", fixtures_dir=tmp_path / "fixtures", label=label)
    make_cases(tmp_path / "cases", n=1)
    suite = write_suite(tmp_path / "suite.yaml", tmp_path / "cases")
    suite.write_text(suite.read_text(encoding="utf-8").replace(
        "fixtures:", f"fixtures:\n  label: {label!r}", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="fixtures.label"):
        load_suite(suite)


def _record(tmp_path: Path, content: str, **env: str) -> Path:
    with FakeOpenAIServer() as server:
        server.script(Reply(body=chat_completion(content)))
        endpoint = resolve_endpoint(backend="openai", base_url=server.base_url, api_key="k" * 8,
                                    model="fake-model", fixtures="record",
                                    fixtures_dir=tmp_path / "fixtures", label="shared")
        with endpoint_errors(endpoint):
            chat_model(endpoint, max_tokens=5).invoke("hello")
    return tmp_path / "fixtures" / "shared"


def test_a_reply_over_the_cap_is_an_error_and_is_not_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRAFTING_FIXTURE_MAX_BYTES", "5000")
    with pytest.raises(EndpointError, match="over the 5,000-byte limit"):
        _record(tmp_path, "x" * 6000)
    root = tmp_path / "fixtures"
    assert not root.exists() or not [p for p in root.rglob("*") if p.is_file()]
    assert [p for p in _record(tmp_path, "small").rglob("*.json")]  # under the cap: recorded


def test_fixture_files_get_the_umask_mode_not_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        files = list(_record(tmp_path, "hello").rglob("*.json"))
    finally:
        os.umask(old)
    assert files and all((f.stat().st_mode & 0o777) == 0o644 for f in files), [
        oct(f.stat().st_mode & 0o777) for f in files]
