"""`--local-model` / DRAFTING_LOCAL_MODEL: another GGUF through the embedded server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from drafting.cli import run
from drafting.errors import ConfigError
from drafting.llm.config import LOCAL_MODEL, local_model_label, resolve_endpoint
from drafting.llm.local_server import LocalServer


def _fake_gguf(path: Path, payload: bytes = b"\x03\x00\x00\x00weights") -> Path:
    path.write_bytes(b"GGUF" + payload)
    return path


def test_missing_and_non_gguf_files_are_clear_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="local model file not found") as info:
        resolve_endpoint(backend="local", local_model=tmp_path / "nope.gguf")
    assert "nope.gguf" in str(info.value)
    text = tmp_path / "model.gguf"
    text.write_text("not a model")
    with pytest.raises(ConfigError, match="not a GGUF model file"):
        resolve_endpoint(local_model=text)
    with pytest.raises(ConfigError, match="needs the local backend"):
        resolve_endpoint(backend="openai", api_key="sk-x", local_model=_fake_gguf(tmp_path / "m.gguf"))


def test_cli_reports_a_bad_model_file_in_one_line(tmp_path: Path, capsys):
    seed = Path(__file__).resolve().parents[2] / "reference_cases" / "seeds" / "seed-000.yaml"
    code = run(["draft", str(seed), "--local-model", str(tmp_path / "missing.gguf")])
    err = capsys.readouterr().err
    assert code == 1 and "local model file not found" in err and "Traceback" not in err


def test_label_comes_from_name_and_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    a = _fake_gguf(tmp_path / "Qwen2.5-1.5B-Instruct-Q4_K_M.gguf")
    ep = resolve_endpoint(local_model=a)
    assert ep.backend == "local" and ep.local_model == a.resolve()
    assert ep.model == "Qwen2.5-1.5B-Instruct-Q4_K_M"  # the alias the server answers to
    assert ep.label.startswith("local-qwen2-5-1-5b-instruct-q4-k-m-") and len(ep.label.split("-")[-1]) == 12
    assert ep.label != resolve_endpoint(backend="local").label  # never shares SmolLM2's recordings
    same_name = tmp_path / "other" / a.name
    same_name.parent.mkdir()
    _fake_gguf(same_name, b"\x03\x00\x00\x00other weights")
    assert local_model_label(same_name.resolve()) != ep.label  # same name, other file
    monkeypatch.setenv("DRAFTING_LOCAL_MODEL", str(a))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-for-the-judge")  # does not turn the drafter remote
    assert resolve_endpoint().label == ep.label
    assert resolve_endpoint(label="mine").label == "mine"
    judge = resolve_endpoint(backend="openai", base_url="http://127.0.0.1:1/v1")
    assert judge.local_model is None  # the variable is the embedded server's only


def test_default_local_endpoint_is_unchanged():
    ep = resolve_endpoint(backend="local")
    assert ep.local_model is None and ep.model == LOCAL_MODEL
    assert ep.label == "local-smollm2-135m-instruct"  # the committed recordings' directory


def test_server_settings_reach_the_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    gguf = _fake_gguf(tmp_path / "m.gguf")
    server = LocalServer("m", model_path=gguf, n_ctx=2048, n_threads=3)
    assert (server.model_path, server.n_ctx, server.n_threads) == (gguf, 2048, 3)
    monkeypatch.setenv("DRAFTING_LOCAL_CTX", "4096")
    monkeypatch.setenv("DRAFTING_LOCAL_THREADS", "1")
    assert (LocalServer("m").n_ctx, LocalServer("m").n_threads) == (4096, 1)
    monkeypatch.setenv("DRAFTING_LOCAL_CTX", "lots")
    with pytest.raises(ConfigError, match="DRAFTING_LOCAL_CTX must be a positive integer"):
        LocalServer("m")
    ep = resolve_endpoint(local_model=gguf, local_n_ctx=2048, local_threads=3)
    from drafting.llm.clients import _server_settings

    assert _server_settings(ep) == {"model_path": gguf.resolve(), "n_ctx": 2048, "n_threads": 3}


@pytest.mark.live
def test_a_copied_gguf_serves_a_draft_under_its_own_label(tmp_path: Path, monkeypatch):
    """The bundled SmolLM2 under another name is 'another model': own alias, own fixtures."""
    from drafting.api import draft_report
    from drafting.llm.local_server import current_server, find_gguf, stop_server

    copy = shutil.copyfile(find_gguf(), tmp_path / "my-model.gguf")
    stop_server()
    ep = resolve_endpoint(local_model=copy, fixtures="record", fixtures_dir=tmp_path / "fx",
                          local_n_ctx=4096, local_threads=2)
    try:
        seeds = Path(__file__).resolve().parents[2] / "reference_cases" / "seeds"
        try:
            draft_report(seeds / "seed-003.yaml", endpoint=ep, k=1)
        except Exception as exc:  # a 135M model may fail to parse; the traffic is what matters
            assert "Reply" in type(exc).__name__, exc
        server = current_server()
        assert server is not None and server.model_path == Path(copy).resolve()
        assert server.n_ctx == 4096 and server.alias == "my-model"
    finally:
        stop_server()
    recorded = list((tmp_path / "fx" / ep.label).rglob("*.json"))
    assert recorded and ep.label.startswith("local-my-model-")
