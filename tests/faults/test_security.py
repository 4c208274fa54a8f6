"""Security properties: safe YAML, contained paths, no key in fixtures or logs, no socket in
replay, no ragas telemetry. (report.html inertness in headless Chromium, with `<script>` and
`<img onerror>` in case text, is tested in tests/evaluation/test_report_html.py.)"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from drafting.cases import load_cases
from drafting.errors import ConfigError
from drafting.evaluation import run_suite
from drafting.evaluation.rundir import create_run_dir, make_run_id
from drafting.schema import Case
from tests.evaluation.harness_support import make_cases, write_suite
from tests.faults.conftest import FAST_METRICS, write_chain_suite
from tests.faults.fault_server import FaultServer
from tests.support import REPO

SECRET = "sk-test-SECRET-0123456789"


def test_yaml_tags_construct_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = f"!!python/object/apply:os.system ['touch {marker}']\n"
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "evil.yaml").write_text(payload, encoding="utf-8")
    (tmp_path / "suite.yaml").write_text(payload, encoding="utf-8")
    result = load_cases([tmp_path / "cases"])
    assert not result.cases and "'!!python/object/apply:os.system' is not allowed" in (
        result.errors[0].message)
    with pytest.raises(ConfigError, match="not allowed"):
        run_suite(tmp_path / "suite.yaml")
    assert not marker.exists()


@pytest.mark.parametrize("bad_id", ["../escape", "a/b", "..", "/etc/passwd", "a\\b", ".hidden"])
def test_case_ids_cannot_name_a_path(bad_id: str) -> None:
    with pytest.raises(ValueError):
        Case.model_validate({"id": bad_id, "input": {"imaging": [{"description": "x"}]}})


@pytest.mark.parametrize("name", ["../../etc", "a/b", "..", "x/../../y"])
def test_run_ids_stay_one_path_component(name: str, tmp_path: Path) -> None:
    run_id = make_run_id(name, "0" * 64)
    assert Path(run_id).name == run_id and run_id not in {".", ".."} and "/" not in run_id
    made = create_run_dir(tmp_path / "runs", run_id)
    assert made.parent == tmp_path / "runs"
    with pytest.raises(ConfigError):
        create_run_dir(tmp_path / "runs", name)


def test_a_run_writes_only_under_its_run_and_fixture_dirs(tmp_path: Path) -> None:
    """Hostile file names in the case directory become failed rows, never paths."""
    cases = tmp_path / "cases"
    make_cases(cases, n=2)
    (cases / "..evil..yaml").write_text("id: ../../outside\n", encoding="utf-8")
    suite = write_suite(tmp_path / "suite.yaml", cases)

    async def draft(case):  # noqa: ANN001, ANN202
        from tests.evaluation.harness_support import make_draft

        return make_draft(case)

    before = set(tmp_path.rglob("*"))
    run = run_suite(suite, draft_fn=draft, metrics=[], out=tmp_path / "runs")
    new = set(tmp_path.rglob("*")) - before
    assert all(p.is_relative_to(run.dir) or p == run.dir or p == tmp_path / "runs" for p in new), new
    # Case ids stay path-safe; a load error's id names its file's full path, and is never a path.
    assert all(r.kind == "load_error" or ("/" not in r.case_id and ".." not in r.case_id)
               for r in run.results)


def test_no_api_key_in_fixtures_run_files_or_debug_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)  # every logger: drafting, httpx, httpcore, openai, langchain
    with FaultServer(rate=0.0) as server:
        suite = write_chain_suite(tmp_path, server.base_url, 2, mode="record")
        run = run_suite(suite, out=tmp_path / "runs")
        sent = [r.headers.get("authorization", "") for r in server.requests]
    assert run.summary is not None and run.summary.cases.failed == 0
    assert sent and all(h == f"Bearer {SECRET}" for h in sent)  # the key was really in use
    assert caplog.records, "nothing was logged at DEBUG"
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert SECRET not in logged and "SECRET" not in logged
    for path in [*tmp_path.joinpath("fixtures").rglob("*"), *run.dir.rglob("*")]:
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert "SECRET" not in text, path
            assert "authorization" not in text.lower() or path.suffix != ".json", path


def test_replay_run_opens_no_socket(tmp_path: Path, no_network: None) -> None:
    """Record with the network open, then replay with every socket connect refused."""
    from tests.conftest import _state

    _state["block_loopback"] = False
    with FaultServer(rate=0.0) as server:
        suite = write_chain_suite(tmp_path, server.base_url, 3, mode="record")
        recorded = run_suite(suite, out=tmp_path / "runs")
    _state["block_loopback"] = True
    replayed = run_suite(suite, fixtures="replay", out=tmp_path / "runs")
    assert replayed.summary is not None and recorded.summary is not None
    assert replayed.summary.cases == recorded.summary.cases
    assert replayed.summary.cases.model_dump() == {"total": 3, "ok": 3, "failed": 0}
    for a, b in zip(recorded.results, replayed.results, strict=True):
        assert a.draft is not None and b.draft is not None
        assert a.draft.report == b.draft.report


SEEDS_FIXTURES = REPO / "eval" / "fixtures" / "local-smollm2-135m-instruct"


@pytest.mark.skipif(not any(SEEDS_FIXTURES.rglob("*.json")) if SEEDS_FIXTURES.exists() else True,
                    reason=f"no recorded fixtures in {SEEDS_FIXTURES} yet")
def test_seeds_suite_replays_with_every_socket_blocked(tmp_path: Path, no_network: None) -> None:
    run = run_suite(REPO / "eval" / "suites" / "seeds.yaml", fixtures="replay",
                    metrics=_fast_metrics(), out=tmp_path)
    # A socket attempt would fail a case with a network error: only replay misses may appear.
    assert run.summary is not None
    kinds = set(run.summary.failures.values())
    assert kinds <= {"FixtureMissError"}, run.summary.failures
    assert run.summary.cases.ok > 0
    if kinds:
        pytest.skip(f"eval/fixtures is incomplete (misses: {sorted(run.summary.failures)}); "
                    "the cases that replayed opened no socket")


def _fast_metrics() -> list:
    from drafting.evaluation.metrics import build_metrics

    return list(build_metrics(FAST_METRICS))


def test_ragas_telemetry_is_off_after_importing_drafting() -> None:
    env = {k: v for k, v in os.environ.items() if k != "RAGAS_DO_NOT_TRACK"}
    code = (
        "import os, json, drafting\n"
        "from ragas._analytics import do_not_track\n"
        "print(json.dumps([os.environ.get('RAGAS_DO_NOT_TRACK'), do_not_track()]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["true", True]


def test_suite_file_is_yaml_data_only(tmp_path: Path) -> None:
    """Anchors and aliases are plain data; a suite cannot smuggle code or bytes through them."""
    data = {"name": "ok", "cases": {"dir": str(tmp_path)}}
    text = yaml.safe_dump(data) + "extra: &a !!binary aGVsbG8=\n"
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="'!!binary' is not allowed"):
        run_suite(tmp_path / "s.yaml")


# --- issue 17 -----------------------------------------------------------------------------------


def test_keys_in_base_url_and_echoed_errors_never_reach_run_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """userinfo and ?api-key= were copied into config.json; an echoed key into results.jsonl."""
    from drafting.cli import run as cli
    from tests.llm.fake_server import FakeOpenAIServer, server_error

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    with FakeOpenAIServer() as server:
        server.script(*[server_error(400, f"Incorrect API key provided: {SECRET}")] * 50)
        host = server.base_url.removeprefix("http://")
        url = f"http://user:{SECRET}@{host}?api-key={SECRET}"
        suite = write_chain_suite(tmp_path, url, 2, mode="live")
        code = cli(["eval", "run", str(suite), "--out", str(tmp_path / "runs"), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1 and "gate: failed cases" in err, err  # every case failed: the gate says so
    assert "SECRET" not in out + err
    run_dir = Path(out.strip().splitlines()[-1])
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    assert "REDACTED" in config["suite"]["drafter"]["base_url"]
    rows = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    assert rows and all(r["status"] == "failed" for r in rows)
    assert all("Incorrect API key" in r["error"]["message"] for r in rows)
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert "SECRET" not in path.read_text(encoding="utf-8", errors="replace"), path
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "SECRET" not in logged and "SECRET" not in caplog.text


def test_flagged_drafts_show_in_summary_report_and_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A case whose draft carries injection flags is not silently "ok"."""
    from drafting.cli import run as cli

    monkeypatch.setenv("DRAFTING_EVAL_DRAFT_FN", "tests.faults.test_security:flagging_draft")
    make_cases(tmp_path / "cases", n=3)
    suite = write_suite(tmp_path / "suite.yaml", tmp_path / "cases", metrics=["structure.disclaimer"])
    code = cli(["eval", "run", str(suite), "--out", str(tmp_path / "runs"), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "1 case(s) flagged for review: case-01 (case_text_instructions)" in err
    run_dir = Path(out.strip().splitlines()[-1])
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["flagged"] == {"case-01": ["case_text_instructions"]}
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Flagged for review" in html and "flagged: case_text_instructions" in html


async def flagging_draft(case):  # noqa: ANN001, ANN201 - a DRAFTING_EVAL_DRAFT_FN hook
    from tests.evaluation.harness_support import make_draft

    draft = make_draft(case)
    if case.id == "case-01":
        draft.provenance.flags = ["case_text_instructions"]
    return draft


def test_cases_show_passes_no_terminal_escape_sequences(tmp_path: Path, capsys) -> None:
    from drafting.cases import load_case, save_case
    from drafting.cli import run as cli
    from tests.support import SEEDS_DIR

    case = load_case(sorted(SEEDS_DIR.glob("*.yaml"))[0])
    evil = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\r\x9b1m"
    case = case.model_copy(update={"title": f"title {evil}"})
    case.input.clinical_history += evil
    path = save_case(case, tmp_path)
    assert cli(["cases", "show", str(path)]) == 0
    out, _ = capsys.readouterr()
    assert not any(ch in out for ch in "\x1b\x07\x9b\r"), repr(out)
    assert "\\x1b" in out and "pwned" in out  # shown, visibly escaped
