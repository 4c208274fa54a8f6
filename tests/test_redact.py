"""One redaction function for URLs and error texts."""

from __future__ import annotations

import logging

import pytest

from drafting.errors import EndpointError
from drafting.redact import redact, redact_url

KEY = "sk-test-SECRET-0123456789"


@pytest.mark.parametrize("url", [
    f"https://user:{KEY}@api.example.com/v1",
    f"https://{KEY}@api.example.com/v1",
    f"https://api.example.com/v1?api-key={KEY}",
    f"https://api.example.com/v1?x=1&api_key={KEY}&y=2",
    f"https://api.example.com/v1?token={KEY}",
    f"https://api.example.com/v1?key={KEY}#frag",
])
def test_urls_lose_their_credentials(url):
    out = redact_url(url)
    assert KEY not in out and "SECRET" not in out
    assert "api.example.com" in out and "/v1" in out


def test_urls_without_credentials_are_unchanged():
    for url in ["http://127.0.0.1:8080/v1", "https://api.example.com/v1?model=x&n=2"]:
        assert redact_url(url) == url


@pytest.mark.parametrize("text", [
    f"Incorrect API key provided: {KEY}.",
    f"error calling https://u:{KEY}@host/v1/chat (401)",
    f"bad request api_key={KEY}",
    f'{{"api-key": "{KEY}"}}',
    f"Authorization: Bearer {KEY}",
])
def test_error_texts_lose_keys(text):
    assert "SECRET" not in redact(text)


def test_known_secret_values_are_replaced_whatever_their_shape():
    assert "hunter2hunter2" not in redact("the password hunter2hunter2 is wrong", ["hunter2hunter2"])


def test_endpoint_error_redacts_an_echoed_key():
    err = EndpointError(f"invalid key {KEY}", endpoint=f"https://u:{KEY}@host/v1", status=401)
    assert "SECRET" not in str(err) and "SECRET" not in (err.endpoint or "")


def test_log_lines_of_http_libraries_are_redacted(caplog):
    import drafting  # noqa: F401 - installs the redaction

    caplog.set_level(logging.INFO)
    logging.getLogger("httpx").info('HTTP Request: POST %s "HTTP/1.1 200 OK"',
                                    f"http://host/v1/chat?api-key={KEY}")
    logging.getLogger("httpcore.http11").info("send to https://u:%s@host", KEY)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "SECRET" not in text and "host/v1/chat" in text
