"""The fixture transport: keys, files, record from a loopback server, replay with no network."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from drafting.errors import ConfigError, FixtureFileError, FixtureMissError
from drafting.llm import (
    async_openai_client,
    endpoint_errors,
    fixture_context,
    openai_client,
    track_fixture_usage,
)
from drafting.llm.config import Endpoint
from drafting.llm.fixtures import (
    FixtureStore,
    FixtureTransport,
    canonical_request,
    fixture_file,
    fixture_key,
    read_fixture,
    write_atomic,
)

MESSAGES = [{"role": "user", "content": "Describe the knee."}]


def _ask(client, content: str = "Describe the knee.") -> str:
    reply = client.chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": content}], max_tokens=5
    )
    return reply.choices[0].message.content


# --- keys -----------------------------------------------------------------------------------


def test_key_ignores_field_order_and_answer_neutral_fields():
    a = canonical_request("post", "/chat/completions", {"model": "m", "messages": MESSAGES})
    b = canonical_request(
        "POST",
        "/chat/completions",
        {"messages": MESSAGES, "user": "alice", "stream_options": {"x": 1}, "model": "m"},
    )
    assert fixture_key(a) == fixture_key(b)
    assert len(fixture_key(a)) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"model": "other"},
        {"temperature": 0.5},
        {"messages": [{"role": "user", "content": "Describe the hip."}]},
    ],
)
def test_key_changes_with_what_changes_the_answer(change: dict):
    body = {"model": "m", "messages": MESSAGES}
    base = fixture_key(canonical_request("POST", "/chat/completions", body))
    assert fixture_key(canonical_request("POST", "/chat/completions", {**body, **change})) != base


def test_key_ignores_host_port_and_base_path():
    body = json.dumps({"model": "m", "messages": MESSAGES}).encode()
    local = FixtureStore("unused", "replay", base_path="/v1")
    remote = FixtureStore("unused", "replay", base_path="/api/openai/v1")
    r1 = httpx.Request("POST", "http://127.0.0.1:5555/v1/chat/completions", content=body)
    r2 = httpx.Request("POST", "https://gw.example/api/openai/v1/chat/completions", content=body)
    assert fixture_key(local.canonical(r1)) == fixture_key(remote.canonical(r2))


# --- files ----------------------------------------------------------------------------------


def test_atomic_write_leaves_only_complete_files(tmp_path: Path):
    target = tmp_path / "ab" / "x.json"
    texts = [json.dumps({"n": i, "pad": "x" * 200_000}) for i in range(8)]
    threads = [threading.Thread(target=write_atomic, args=(target, t)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert json.loads(target.read_text())["n"] in range(8)  # one complete version
    assert os.listdir(target.parent) == ["x.json"]  # no temp files left


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    target = tmp_path / "x.json"
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "{}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", ['{"key": "abc", "respo', "", '{"response": {}}'])
def test_corrupt_fixture_names_the_file(tmp_path: Path, content: str):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(FixtureFileError) as info:
        read_fixture(path)
    assert str(path) in str(info.value)
    assert "re-record" in str(info.value)


# --- record and replay through the SDK ---------------------------------------------------------


def test_record_then_replay_offline(fake_endpoint: Callable[..., Endpoint], fake_openai, request):
    recorder = fake_endpoint("record")
    with track_fixture_usage() as recorded:
        live = [_ask(openai_client(recorder)), _ask(openai_client(recorder), "Second.")]
    assert live == ["echo: Describe the knee.", "echo: Second."]
    assert len(fake_openai.requests) == 2
    files = sorted(recorder.fixture_path.rglob("*.json"))
    assert {p.stem for p in files} == recorded and len(files) == 2
    saved = json.loads(files[0].read_text())
    assert set(saved) >= {"request", "response", "model", "recorded_at", "key"}
    assert saved["model"] == "fake-model" and saved["response"]["status"] == 200

    request.getfixturevalue("no_network")  # from here on, every socket is refused
    replayer = fake_endpoint("replay")
    with track_fixture_usage() as replayed:
        again = [_ask(openai_client(replayer)), _ask(openai_client(replayer), "Second.")]
    assert again == live
    assert replayed == recorded
    assert len(fake_openai.requests) == 2  # nothing new reached the server


async def test_async_replay_and_miss_names_stage_and_case(
    fake_endpoint: Callable[..., Endpoint], fake_openai, no_network
):
    # Record with the sync client is not possible here (no network), so record nothing and
    # check the miss: it is typed, names key, directory, stage, case and the record command.
    endpoint = fake_endpoint("replay")
    client = async_openai_client(endpoint)
    with (
        pytest.raises(FixtureMissError) as info,
        fixture_context(stage="findings", case_id="case-7"),
        endpoint_errors(endpoint),
    ):
        await client.chat.completions.create(model="fake-model", messages=MESSAGES)
    message = str(info.value)
    assert "stage findings" in message and "case case-7" in message
    assert str(endpoint.fixture_path) in message and "--fixtures auto" in message
    assert info.value.key[:16] in message
    assert fake_openai.requests == []


def test_changed_request_misses_in_replay(fake_endpoint: Callable[..., Endpoint], fake_openai):
    _ask(openai_client(fake_endpoint("record")))
    endpoint = fake_endpoint("replay")
    with pytest.raises(FixtureMissError), endpoint_errors(endpoint):
        _ask(openai_client(endpoint), "Describe the hip.")
    assert len(fake_openai.requests) == 1


def test_replay_never_builds_the_network_transport(tmp_path: Path):
    built = []
    store = FixtureStore(tmp_path, "replay")
    transport = FixtureTransport(store, lambda: built.append(1) or httpx.HTTPTransport())
    body = json.dumps({"model": "m", "messages": MESSAGES}).encode()
    request = httpx.Request("POST", "http://x.invalid/v1/chat/completions", content=body)
    with pytest.raises(FixtureMissError):
        transport.handle_request(request)
    assert built == []


def test_auto_records_only_what_is_missing(fake_endpoint: Callable[..., Endpoint], fake_openai):
    endpoint = fake_endpoint("auto")
    assert _ask(openai_client(endpoint)) == _ask(openai_client(endpoint))
    assert len(fake_openai.requests) == 1


def test_errors_are_not_recorded(fake_endpoint: Callable[..., Endpoint], fake_openai):
    from tests.llm.fake_server import Reply

    fake_openai.script(Reply(400, {"error": {"message": "bad request"}}))
    endpoint = fake_endpoint("record")
    with pytest.raises(Exception, match="HTTP 400"), endpoint_errors(endpoint):
        _ask(openai_client(endpoint))
    assert not endpoint.fixture_path.exists()


def test_streaming_is_refused_outside_live(fake_endpoint: Callable[..., Endpoint], fake_openai):
    endpoint = fake_endpoint("record")
    client = openai_client(endpoint)
    with (
        pytest.raises(ConfigError, match="streaming requests cannot be recorded"),
        endpoint_errors(endpoint),
    ):
        client.chat.completions.create(model="fake-model", messages=MESSAGES, stream=True)
    assert fake_openai.requests == []


def test_recording_writes_no_secret(
    fake_endpoint: Callable[..., Endpoint], fake_openai, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET")
    endpoint = fake_endpoint("record", api_key=None)  # the key comes from the environment
    _ask(openai_client(endpoint))
    assert fake_openai.requests[0].headers["authorization"] == "Bearer sk-test-SECRET"
    files = list(endpoint.fixture_path.rglob("*"))
    assert any(p.is_file() for p in files)
    for path in files:
        if path.is_file():
            text = path.read_text()
            assert "SECRET" not in text and "Authorization" not in text


def test_a_secret_echoed_in_a_reply_is_redacted(fake_endpoint: Callable[..., Endpoint], fake_openai):
    from tests.llm.fake_server import Reply, chat_completion

    fake_openai.script(Reply(200, chat_completion("your key is sk-test-key-LEAKED")))
    endpoint = fake_endpoint("record", api_key="sk-test-key-LEAKED")
    _ask(openai_client(endpoint))
    (path,) = endpoint.fixture_path.rglob("*.json")
    assert "LEAKED" not in path.read_text() and "[redacted]" in path.read_text()


def test_usage_tracking_is_per_task(fake_endpoint: Callable[..., Endpoint], fake_openai):
    endpoint = fake_endpoint("auto")

    async def one(content: str) -> set[str]:
        with track_fixture_usage() as used:
            await async_openai_client(endpoint).chat.completions.create(
                model="fake-model", messages=[{"role": "user", "content": content}]
            )
        return used

    async def main() -> list[set[str]]:
        return await asyncio.gather(one("a"), one("b"))

    with track_fixture_usage() as outer:
        a, b = asyncio.run(main())
    assert len(a) == len(b) == 1 and a != b
    assert outer == a | b


def test_fixture_file_layout(tmp_path: Path):
    key = "ab" + "0" * 62
    assert fixture_file(tmp_path, key) == tmp_path / "ab" / f"{key}.json"
