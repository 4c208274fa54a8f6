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
    assert not result.cases and "could not determine a constructor" in result.errors[0].message
    with pytest.raises(ConfigError, match="constructor"):
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
    assert all("/" not in r.case_id and ".." not in r.case_id for r in run.results)


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
    """Anchors and aliases are plain data; a suite cannot smuggle code through them."""
    data = {"name": "ok", "cases": {"dir": str(tmp_path)}}
    text = yaml.safe_dump(data) + "extra: &a !!binary aGVsbG8=\n"
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="extra"):
        run_suite(tmp_path / "s.yaml")
