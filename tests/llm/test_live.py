"""Against the real embedded model (``pytest -m live``): chat, structured output, record/replay.

One module-scoped recording session keeps the model work to three short requests.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from pydantic import BaseModel

from drafting.errors import FixtureMissError
from drafting.llm import (
    chat_model,
    endpoint_errors,
    fixture_context,
    local_server,
    resolve_endpoint,
    structured_output_kwargs,
    track_fixture_usage,
)

pytestmark = pytest.mark.live

GEN = {"temperature": 0, "max_tokens": 24, "seed": 0}


class Capital(BaseModel):
    city: str
    country: str


def _ask(endpoint) -> tuple[str, Capital]:
    llm = chat_model(endpoint, **GEN)
    bound = llm.bind(**structured_output_kwargs(endpoint, Capital))
    with fixture_context(stage="live-test", case_id="capital"), endpoint_errors(endpoint):
        chat = llm.invoke("Say hello in three words.").content
        reply = asyncio.run(bound.ainvoke("What is the capital of France? Answer in JSON."))
    return chat, Capital.model_validate_json(reply.content)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory):
    """Record the requests against the embedded server, then stop it."""
    root = tmp_path_factory.mktemp("fixtures")
    previous = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = "sk-test-SECRET"  # must not leak into any fixture
    try:
        endpoint = resolve_endpoint(backend="local", fixtures="record", fixtures_dir=root)
        with track_fixture_usage() as used:
            chat, capital = _ask(endpoint)
        server = local_server.current_server()
        assert server is not None and server.running()
        pid = server.process.pid
        local_server.stop_server()
    finally:
        if previous is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = previous
    return {"root": root, "endpoint": endpoint, "chat": chat, "capital": capital, "pid": pid, "used": used}


def test_embedded_server_answers_chat_and_structured_requests(recorded):
    assert isinstance(recorded["chat"], str) and recorded["chat"].strip()
    assert isinstance(recorded["capital"], Capital) and recorded["capital"].city


def test_server_is_stopped_and_no_process_is_left(recorded):
    assert local_server.current_server() is None
    assert not Path(f"/proc/{recorded['pid']}").exists() or _is_zombie(recorded["pid"])


def _is_zombie(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def test_fixtures_hold_no_secret(recorded):
    files = [p for p in Path(recorded["root"]).rglob("*") if p.is_file()]
    assert len(files) == 2 and {p.stem for p in files} == recorded["used"]
    for path in files:
        text = path.read_text()
        assert "SECRET" not in text and "authorization" not in text.lower()
        assert json.loads(text)["model"] == "SmolLM2-135M-Instruct"


def test_replay_offline_gives_identical_results(recorded, no_network):
    endpoint = recorded["endpoint"].model_copy(update={"fixtures_mode": "replay"})
    chat, capital = _ask(endpoint)
    assert (chat, capital) == (recorded["chat"], recorded["capital"])
    assert local_server.current_server() is None  # replay started nothing

    llm = chat_model(endpoint, **GEN)
    with (
        pytest.raises(FixtureMissError) as info,
        fixture_context(stage="findings", case_id="case-1"),
        endpoint_errors(endpoint),
    ):
        llm.invoke("Say goodbye in three words.")  # a changed request
    message = str(info.value)
    assert "stage findings" in message and "case case-1" in message
    assert "--fixtures auto" in message and str(endpoint.fixture_path) in message


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "SIGKILL"])
def test_server_dies_with_its_parent(how: str, tmp_path: Path):
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import sys, time\n"
        "from drafting.llm import local_server\n"
        "server = local_server.ensure_server('SmolLM2-135M-Instruct')\n"
        "print(server.process.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert Path(f"/proc/{child}").exists()
        parent.send_signal(getattr(signal, how))
        parent.wait(timeout=30)
        deadline = time.monotonic() + 15
        while Path(f"/proc/{child}").exists() and not _is_zombie(child):
            assert time.monotonic() < deadline, f"server {child} survived {how} of its parent"
            time.sleep(0.1)
    finally:
        if parent.poll() is None:
            parent.kill()


_BUSY_OWNER = r"""
import asyncio, sys, time
import httpx
from drafting.llm import local_server

async def main():
    # The async path: the server is started from a worker thread (no signal handler there).
    server = await asyncio.to_thread(local_server.ensure_server, 'SmolLM2-135M-Instruct')
    async with httpx.AsyncClient(timeout=600) as client:
        body = {"model": server.alias, "max_tokens": 4000, "temperature": 1.0,
                "messages": [{"role": "user", "content": "Write a very long story."}]}
        request = asyncio.ensure_future(client.post(
            f"{server.base_url}/chat/completions", json=body,
            headers={"Authorization": f"Bearer {server.api_key}"}))
        await asyncio.sleep(1.5)  # the generation is in flight
        print(server.process.pid, flush=True)
        await request

asyncio.run(main())
"""


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "SIGKILL"])
def test_busy_server_started_on_the_async_path_goes_within_seconds_of_its_owner(how: str):
    """Issue 17: killed mid-run, the runner left its server generating for 40 s to minutes."""
    import signal
    import subprocess
    import sys
    import time

    owner = subprocess.Popen([sys.executable, "-c", _BUSY_OWNER], stdout=subprocess.PIPE, text=True)
    try:
        child = int(owner.stdout.readline())
        assert Path(f"/proc/{child}").exists()
        owner.send_signal(getattr(signal, how))
        owner.wait(timeout=30)
        deadline = time.monotonic() + 5
        while Path(f"/proc/{child}").exists() and not _is_zombie(child):
            assert time.monotonic() < deadline, f"server {child} outlived {how} of its owner by 5 s"
            time.sleep(0.1)
    finally:
        if owner.poll() is None:
            owner.kill()
