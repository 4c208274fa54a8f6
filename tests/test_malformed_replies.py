"""A 200 reply whose body is not a chat completion: a typed `EndpointError`, one line, no
traceback from `drafting draft` (issue 17)."""

from __future__ import annotations

import pytest

from drafting.api import draft_report
from drafting.cases import ReferenceStore
from drafting.cli import run as cli
from drafting.errors import EndpointError
from drafting.llm import resolve_endpoint
from tests.llm.fake_server import FakeOpenAIServer, Reply
from tests.support import SEEDS_DIR

MALFORMED = {
    "truncated-json": Reply(raw=b'{"id": "x", "choices": [{"mess'),
    "html": Reply(raw=b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                  content_type="text/html"),
    "html-labelled-json": Reply(raw=b"<html><body>oops</body></html>"),
    "json-not-an-object": Reply(raw=b'"just a string"'),
    "json-array": Reply(raw=b"[1, 2, 3]"),
    "empty-body": Reply(raw=b""),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_a_malformed_200_reply_is_an_endpoint_error(kind: str, tmp_path) -> None:
    with FakeOpenAIServer() as server:
        server.script(*[MALFORMED[kind]] * 10)
        endpoint = resolve_endpoint(backend="openai", base_url=server.base_url, model="fake-model",
                                    api_key="sk-test-key", fixtures="live",
                                    fixtures_dir=tmp_path).model_copy(
            update={"backoff_s": 0.01, "max_wait_s": 0.5, "max_attempts": 2})
        with pytest.raises(EndpointError) as info:
            draft_report(SEEDS_DIR / "seed-000.yaml", store=ReferenceStore.load(SEEDS_DIR),
                         endpoint=endpoint, k=1, retrieval="bm25")
    message = str(info.value)
    assert "\n" not in message and "HTTP 200" in message and "instead of a JSON reply" in message


def test_cli_draft_on_an_html_200_reply_is_one_line(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    with FakeOpenAIServer() as server:
        server.script(*[MALFORMED["html"]] * 10)
        code = cli(["draft", str(SEEDS_DIR / "seed-000.yaml"), "--corpus", str(SEEDS_DIR),
                    "--mode", "bm25", "-k", "1", "--base-url", server.base_url,
                    "--model", "fake-model", "--fixtures", "live",
                    "--fixtures-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 4 and "Traceback" not in out + err  # 4: an endpoint error
    progress = ("drafting ", "✗ ")  # the stage started, the stage failed
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith(progress)]
    assert [ln for ln in lines if ln.startswith("error:")] == lines and len(lines) == 1, err
    assert "HTML page" in lines[0]
