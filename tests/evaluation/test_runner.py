"""The runner: drafting with a fake draft function, failure capture, resume, determinism."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drafting.errors import ConfigError
from drafting.evaluation import load_run, run_suite
from drafting.evaluation.metrics import Metric, MetricResult
from drafting.evaluation.rundir import RESULTS, read_results
from drafting.schema import Case, Draft
from tests.evaluation.harness_support import FAKE_METRICS, make_cases, make_draft, write_suite
from tests.support import REPO


@pytest.fixture
def suite_file(tmp_path: Path) -> Path:
    cases_dir = tmp_path / "cases"
    make_cases(cases_dir, n=6)
    return write_suite(tmp_path / "suite.yaml", cases_dir)


async def good_draft(case: Case) -> Draft:
    return make_draft(case, quality=0.5 if case.id.endswith("1") else 1.0)


async def flaky_draft(case: Case) -> Draft:
    if case.id == "case-02":
        raise RuntimeError("model went away\nsecond line never shown")
    return make_draft(case)


def test_run_writes_run_directory(suite_file: Path, tmp_path: Path) -> None:
    run = run_suite(suite_file, draft_fn=good_draft, metrics=FAKE_METRICS, out=tmp_path / "runs")
    assert run.dir.parent == tmp_path / "runs"
    assert "-test-suite-" in run.dir.name
    for name in ("config.json", "results.jsonl", "summary.json", "report.html"):
        assert (run.dir / name).is_file(), name
    rows = read_results(run.dir / RESULTS)
    assert sorted(r.case_id for r in rows) == [f"case-{i:02d}" for i in range(6)]
    raw = json.loads((run.dir / RESULTS).read_text().splitlines()[0])
    assert list(raw) == ["format", "case_id", "status", "error", "draft", "metrics", "timings",
                         "tokens", "fixture_keys"]
    assert raw["format"] == 1
    row = rows[0]
    assert row.status == "ok" and row.tokens.total == 120
    assert isinstance(row.draft, Draft)
    assert run.summary is not None
    m = run.summary.metrics["fake.findings_length"]
    assert m.n == 6 and m.section == "findings"
    assert m.mean == pytest.approx((5 * 1.0 + 0.5) / 6, abs=0.01)
    assert m.ci_low <= m.mean <= m.ci_high
    assert run.summary.metrics["fake.tokens"].higher_is_better is False
    assert run.summary.sections == {"findings": ["fake.findings_length"], "cost": ["fake.tokens"]}
    config = json.loads((run.dir / "config.json").read_text())
    assert config["format"] == 1 and json.loads((run.dir / "summary.json").read_text())["format"] == 1
    assert config["suite"]["name"] == "test-suite" and config["draft_fn"].endswith("good_draft")
    assert "api_key" not in json.dumps(config).lower()


def test_failures_are_captured_and_run_goes_on(suite_file: Path, tmp_path: Path) -> None:
    run = run_suite(suite_file, draft_fn=flaky_draft, metrics=FAKE_METRICS, out=tmp_path)
    by_id = {r.case_id: r for r in run.results}
    failed = by_id["case-02"]
    assert failed.status == "failed" and failed.draft is None and failed.metrics == []
    assert failed.error is not None
    assert (failed.error.type, failed.error.message) == ("RuntimeError", "model went away")
    assert all(r.status == "ok" for cid, r in by_id.items() if cid != "case-02")
    assert run.summary is not None
    assert run.summary.cases.model_dump() == {"total": 6, "ok": 5, "failed": 1}
    assert run.summary.failures == {"case-02": "RuntimeError"}
    assert run.summary.metrics["fake.findings_length"].n == 5


def test_bad_case_file_is_a_failed_row(suite_file: Path, tmp_path: Path) -> None:
    (tmp_path / "cases" / "broken.yaml").write_text("id: broken\ninput: {}\n", encoding="utf-8")
    run = run_suite(suite_file, draft_fn=good_draft, metrics=FAKE_METRICS, out=tmp_path)
    row = next(r for r in run.results if r.case_id.startswith("load-error-"))
    assert row.case_id == "load-error-broken"
    assert row.status == "failed" and row.error is not None and row.error.type == "CaseFileError"
    assert "broken.yaml" in row.error.message
    assert run.summary is not None and run.summary.cases.failed == 1


def test_metric_exception_is_failed_result(suite_file: Path, tmp_path: Path) -> None:
    class Boom(Metric):
        name = "boom"

        async def score(self, draft: Draft, gold: Case) -> MetricResult:
            raise ValueError("bad metric")

    run = run_suite(suite_file, draft_fn=good_draft, metrics=[Boom()], out=tmp_path)
    assert run.summary is not None
    assert run.summary.metrics["boom"].failed == 6
    assert run.summary.metrics["boom"].mean is None
    assert run.results[0].metrics[0].reason == "ValueError: bad metric"


def test_summary_is_deterministic(suite_file: Path, tmp_path: Path) -> None:
    a = run_suite(suite_file, draft_fn=good_draft, metrics=FAKE_METRICS, out=tmp_path, concurrency=1)
    b = run_suite(suite_file, draft_fn=good_draft, metrics=FAKE_METRICS, out=tmp_path, concurrency=5)
    assert a.dir != b.dir
    assert a.summary is not None and b.summary is not None
    assert a.summary.metrics == b.summary.metrics
    assert [r.metrics for r in a.results] == [r.metrics for r in b.results]


def test_resume_after_partial_results(suite_file: Path, tmp_path: Path) -> None:
    full = run_suite(suite_file, draft_fn=good_draft, metrics=FAKE_METRICS, out=tmp_path / "a")
    partial = run_suite(suite_file, draft_fn=good_draft, metrics=FAKE_METRICS, out=tmp_path / "b")
    lines = (partial.dir / RESULTS).read_text().splitlines(keepends=True)
    # Keep 3 finished rows and half of a fourth, as a kill mid-write would leave.
    (partial.dir / RESULTS).write_text("".join(lines[:3]) + lines[3][: len(lines[3]) // 2])
    seen: list[str] = []

    async def counting(case: Case) -> Draft:
        seen.append(case.id)
        return await good_draft(case)

    resumed = run_suite(suite_file, draft_fn=counting, metrics=FAKE_METRICS, resume=partial.dir)
    assert resumed.dir == partial.dir
    assert len(seen) == 3  # only the unfinished cases were drafted
    assert len(read_results(partial.dir / RESULTS)) == 6
    assert resumed.summary is not None and full.summary is not None
    assert resumed.summary.metrics == full.summary.metrics
    assert [r.case_id for r in resumed.results] == [r.case_id for r in full.results]


def test_resume_refuses_a_different_config(suite_file: Path, tmp_path: Path) -> None:
    run = run_suite(suite_file, draft_fn=good_draft, metrics=FAKE_METRICS, out=tmp_path)
    with pytest.raises(ConfigError, match="differ"):
        run_suite(suite_file, draft_fn=good_draft, metrics=FAKE_METRICS, resume=run.dir,
                  model="another-model")


def test_to_pandas_and_load_run(suite_file: Path, tmp_path: Path) -> None:
    run = run_suite(suite_file, draft_fn=flaky_draft, metrics=FAKE_METRICS, out=tmp_path)
    df = load_run(run.dir).to_pandas()
    assert len(df) == 5 * 2 + 1  # 5 drafted cases x 2 metrics + the failed case
    assert set(df.columns) >= {"case_id", "metric", "section", "value", "status"}
    assert df[df.metric == "fake.tokens"]["value"].eq(120.0).all()


def test_load_run_rejects_non_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a run directory"):
        load_run(tmp_path)


# --- the CLI in a subprocess: SIGKILL halfway, then resume --------------------------------------


def _cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DRAFTING_EVAL_DRAFT_FN": "tests.evaluation.harness_support:slow_draft",
        "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
        **extra,
    })
    return env


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "drafting", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_sigkill_then_resume_matches_uninterrupted(tmp_path: Path) -> None:
    pytest.importorskip("drafting.evaluation.scoring")
    cases_dir = tmp_path / "cases"
    make_cases(cases_dir, n=10)
    suite = write_suite(tmp_path / "suite.yaml", cases_dir,
                        metrics=["structure.sections_present", "structure.disclaimer"],
                        gate={"max_failure_rate": 0.1})
    env = _cli_env(FAKE_DRAFT_DELAY="0.25", FAKE_DRAFT_FAIL="case-03")
    out = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "drafting", "eval", "run", str(suite), "--concurrency", "1",
         "--out", str(out), "--quiet"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        results = None
        while time.monotonic() < deadline:
            found = list(out.glob("*/results.jsonl"))
            if found and len(read_results(found[0])) >= 4:
                results = found[0]
                break
            time.sleep(0.05)
        assert results is not None, "the run did not start"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    killed_dir = results.parent
    n_before = len(read_results(results))
    assert 4 <= n_before < 10 and not (killed_dir / "summary.json").exists()

    resumed = _cli(["eval", "run", str(suite), "--resume", str(killed_dir), "--quiet"], env)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip().splitlines()[-1] == str(killed_dir)
    whole = _cli(["eval", "run", str(suite), "--out", str(tmp_path / "whole"), "--quiet"], env)
    assert whole.returncode == 0, whole.stderr
    whole_dir = Path(whole.stdout.strip().splitlines()[-1])

    a, b = load_run(killed_dir), load_run(whole_dir)
    assert [r.case_id for r in a.results] == [r.case_id for r in b.results]
    assert a.summary is not None and b.summary is not None
    assert len(a.results) == 10 and a.summary.cases.failed == 1
    assert a.summary.metrics == b.summary.metrics
    assert [r.metrics for r in a.results] == [r.metrics for r in b.results]


def test_fixture_keys_recorded_per_case(suite_file: Path, tmp_path: Path) -> None:
    fixtures = pytest.importorskip("drafting.llm.fixtures")

    async def recording(case: Case) -> Draft:
        fixtures.note_used(f"key-{case.id}")  # what the replay transport does per exchange
        return make_draft(case)

    run = run_suite(suite_file, draft_fn=recording, metrics=FAKE_METRICS, out=tmp_path,
                    concurrency=3)
    assert all(r.fixture_keys == [f"key-{r.case_id}"] for r in run.results)
    used = (run.dir / "fixtures_used.txt").read_text().split()
    assert used == sorted(f"key-case-{i:02d}" for i in range(6))


def test_cli_rejects_unknown_prompt_version(suite_file: Path, capsys: pytest.CaptureFixture) -> None:
    from drafting.cli import run as cli

    assert cli(["eval", "run", str(suite_file), "--prompt", "findings=v999", "--quiet"]) == 1
    assert "v999" in capsys.readouterr().err


def test_cli_run_exits_1_when_the_suite_thresholds_or_gate_break(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from drafting.cli import run as cli

    cases_dir = tmp_path / "cases"
    make_cases(cases_dir, n=4)
    monkeypatch.setenv("DRAFTING_EVAL_DRAFT_FN", "tests.evaluation.harness_support:slow_draft")
    metrics = ["structure.sections_present", "cost.tokens"]

    def run(suite: Path, *flags: str) -> int:
        return cli(["eval", "run", str(suite), "--out", str(tmp_path / "runs"), "--quiet", *flags])

    fine = write_suite(tmp_path / "fine.yaml", cases_dir, metrics=metrics,
                       thresholds={"cost.tokens": 1000})
    assert run(fine) == 0
    costly = write_suite(tmp_path / "costly.yaml", cases_dir, metrics=metrics,
                         thresholds={"cost.tokens": 10})
    capsys.readouterr()
    assert run(costly) == 1
    out, err = capsys.readouterr()
    assert "gate: cost.tokens: mean 120.000 (threshold: at most 10.000)" in err
    assert Path(out.strip().splitlines()[-1]).is_dir()  # the run directory is still printed last
    assert run(costly, "--report-only") == 0
    monkeypatch.setenv("FAKE_DRAFT_FAIL", "case-01")
    capsys.readouterr()
    assert run(fine) == 1
    assert "gate: failed cases: 1 of 4 cases failed" in capsys.readouterr().err
