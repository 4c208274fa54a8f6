"""Any server from the command line (``pytest -m live``): `drafting draft --base-url` against a
real ``llama_cpp.server`` this test starts on loopback, directly and behind a LiteLLM proxy with
a master key. No Python override: the command line alone must get through (the endpoint asks
with ``json_schema``, the server refuses, the endpoint falls back to ``json_object`` + schema).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.live, pytest.mark.timeout(3600)]  # minutes of CPU per draft

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "reference_cases" / "seeds" / "seed-003.yaml"
ALIAS = "smollm2"
MASTER_KEY = "sk-proxy-master-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, log: Path, headers: dict[str, str] | None = None,
          timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    pytest.fail(f"server did not answer in {timeout:.0f}s: {log.read_text(errors='replace')[-2000:]}")


@contextlib.contextmanager
def _process(argv: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                stdin=subprocess.DEVNULL)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A plain ``llama_cpp.server`` on loopback serving the bundled SmolLM2 GGUF; its base URL."""
    pytest.importorskip("llama_cpp")
    from drafting.llm.local_server import find_gguf

    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(find_gguf()),
            "--host", "127.0.0.1", "--port", str(port), "--model_alias", ALIAS,
            "--n_ctx", "8192", "--n_threads", "2"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    with _process(argv, log, env) as proc:
        _wait(f"http://127.0.0.1:{port}/v1/models", proc, log)
        yield f"http://127.0.0.1:{port}/v1"


def _draft(base_url: str, tmp_path: Path, key: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRAFTING_", "OPENAI_"))}
    env["DRAFTING_FORBID_LOCAL_SERVER"] = "this test talks to its own llama_cpp.server"
    if key:
        env["OPENAI_API_KEY"] = key
    argv = [str(Path(sys.executable).with_name("drafting")), "draft", str(SEED), "-k", "1",
            "--base-url", base_url, "--model", ALIAS, "--fixtures", "record",
            "--fixtures-dir", str(tmp_path / "fx"), "--format", "json",
            "--timeout", "900"]  # a shared 2-core machine can be slow  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=3600, cwd=tmp_path)
    print("$ " + " ".join(argv[1:]))
    print(proc.stdout[-4000:])
    print(proc.stderr[-4000:])
    return proc


def _check(proc: subprocess.CompletedProcess, tmp_path: Path) -> None:
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 0, proc.stderr
    draft = json.loads(proc.stdout)
    assert draft["report"]["diagnosis"]["primary"] and draft["provenance"]["backend"] == "openai"
    sent = [json.loads(p.read_text())["request"]["body"] for p in (tmp_path / "fx").rglob("*.json")]
    assert len(sent) >= 3  # one per stage (more when a reply was repaired), each as sent
    assert {b["response_format"]["type"] for b in sent} == {"json_object"}


def test_draft_through_base_url_against_llama_cpp_server(llama_server: str, tmp_path: Path):
    _check(_draft(llama_server, tmp_path, key=None), tmp_path)


def _litellm() -> str:
    """The ``litellm`` proxy command, from its own venv (see tests/llm/litellm-proxy.txt)."""
    requirements = Path(__file__).with_name("litellm-proxy.txt")
    venv = ROOT / ".cache" / "litellm-proxy-venv"
    exe = venv / "bin" / "litellm"
    stamp = venv / "requirements.sha256"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    if exe.exists() and stamp.exists() and stamp.read_text() == digest:
        return str(exe)
    base_python = shutil.which("python3.11") or sys.executable
    made = subprocess.run([base_python, "-m", "venv", "--clear", str(venv)], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-r", str(requirements)],
                         capture_output=True, text=True, timeout=1800)
    if pip.returncode != 0:
        pytest.skip(f"cannot install the LiteLLM proxy from the package index: {pip.stderr[-500:]}")
    stamp.write_text(digest)
    return str(exe)


def test_draft_through_a_litellm_proxy_with_a_master_key(llama_server: str, tmp_path: Path):
    litellm = _litellm()
    port = _free_port()
    config = tmp_path / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {ALIAS}\n"
        "    litellm_params:\n"
        f"      model: openai/{ALIAS}\n"
        f"      api_base: {llama_server}\n"
        "      api_key: not-needed\n"
        "general_settings:\n"
        f"  master_key: {MASTER_KEY}\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  num_retries: 0\n",
        encoding="utf-8",
    )
    log = tmp_path / "litellm.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DRAFTING_"))}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no download of the cost map at start
    env["LITELLM_TELEMETRY"] = "False"
    argv = [litellm, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    with _process(argv, log, env) as proc:
        base = f"http://127.0.0.1:{port}"
        _wait(f"{base}/v1/models", proc, log, headers={"Authorization": f"Bearer {MASTER_KEY}"})
        # The key matters: without it the proxy refuses (LiteLLM 1.106 answers 500, not 401, when
        # no key is sent; what counts is that nothing is served).
        refused = httpx.get(f"{base}/v1/models", timeout=5)
        assert refused.status_code >= 400 and ALIAS not in refused.text
        _check(_draft(f"{base}/v1", tmp_path, key=MASTER_KEY), tmp_path)
