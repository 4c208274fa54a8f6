"""Runs you can come back to: --resume RUN_DIR alone, overrides refused, eval retry."""

from __future__ import annotations

from pathlib import Path

import pytest

from drafting.cli import run as cli
from drafting.evaluation import load_run
from drafting.evaluation.rundir import RESULTS
from tests.evaluation.harness_support import make_cases, write_suite

METRICS = ["structure.sections_present", "cost.tokens"]


@pytest.fixture
def suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cases_dir = tmp_path / "cases"
    make_cases(cases_dir, n=4)
    monkeypatch.setenv("DRAFTING_EVAL_DRAFT_FN", "tests.evaluation.harness_support:slow_draft")
    return write_suite(tmp_path / "s.yaml", cases_dir, metrics=METRICS)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_retry_reruns_only_the_failed_cases_into_the_same_run(
    suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FAKE_DRAFT_FAIL", "case-01,case-03")
    code, out, run_err = _run(capsys, "eval", "run", str(suite), "--out", str(tmp_path / "runs"),
                               "-q")
    assert code == 1
    run_dir = Path(out.strip().splitlines()[-1])
    # One line per failed case, with the reason, not just the error type.
    assert "failed case-01: RuntimeError: fake failure for case-01" in run_err
    before = {row.case_id: row for row in load_run(run_dir).results}
    assert {c for c, r in before.items() if r.status == "failed"} == {"case-01", "case-03"}

    monkeypatch.setenv("FAKE_DRAFT_FAIL", "case-03")
    code, out, err = _run(capsys, "eval", "retry", str(run_dir), "-q")
    assert code == 1  # case-03 still fails: the gate allows no failure
    assert "retried 2 case(s): 1 now ok, 1 failed again" in err
    assert Path(out.strip().splitlines()[-1]) == run_dir
    after = load_run(run_dir)
    rows = {row.case_id: row for row in after.results}
    assert rows["case-01"].status == "ok" and rows["case-03"].status == "failed"
    # The cases that were fine are not drafted again: their rows are unchanged.
    assert rows["case-00"] == before["case-00"] and rows["case-02"] == before["case-02"]
    assert len((run_dir / RESULTS).read_text().splitlines()) == 4
    assert after.summary is not None and after.summary.cases.failed == 1

    monkeypatch.delenv("FAKE_DRAFT_FAIL")
    code, _, err = _run(capsys, "eval", "retry", str(run_dir), "-q")
    assert code == 0 and "retried 1 case(s): 1 now ok, 0 failed again" in err
    code, _, err = _run(capsys, "eval", "retry", str(run_dir), "-q")
    assert code == 0 and "no failed case to retry" in err


def test_resume_needs_only_the_run_directory(
    suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "eval", "run", str(suite), "--out", str(tmp_path / "runs"), "-q")
    run_dir = Path(out.strip().splitlines()[-1])
    results = run_dir / RESULTS
    lines = results.read_text().splitlines(keepends=True)
    results.write_text("".join(lines[:2]))  # as if killed after two cases
    code, out, _ = _run(capsys, "eval", "run", "--resume", str(run_dir), "-q")
    assert code == 0 and Path(out.strip().splitlines()[-1]) == run_dir
    assert len(results.read_text().splitlines()) == 4


def test_resume_refuses_overrides_that_change_results(
    suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "eval", "run", str(suite), "--out", str(tmp_path / "runs"), "-q")
    run_dir = out.strip().splitlines()[-1]
    code, _, err = _run(capsys, "eval", "run", "--resume", run_dir, "--model", "other", "-q")
    assert code == 1
    assert "--model would change the results of the run being resumed" in err
    code, _, err = _run(capsys, "eval", "run", "--resume", run_dir, "--fixtures", "live", "-q")
    assert code == 1 and "--fixtures would change" in err and "recorded: replay" in err
    # An override that changes nothing is fine.
    code, _, _ = _run(capsys, "eval", "run", "--resume", run_dir, "--fixtures", "replay", "-q")
    assert code == 0


def test_run_without_suite_or_resume_says_what_to_give(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "eval", "run")
    assert code == 2 and "give a SUITE file, or --resume RUN_DIR" in err  # a usage error
    code, _, err = _run(capsys, "eval", "retry", "/nonexistent/run")
    assert code == 1 and "not a run directory" in err


def test_runs_lists_past_runs_newest_first(
    suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runs_dir = tmp_path / "runs"
    _run(capsys, "eval", "run", str(suite), "--out", str(runs_dir), "-q")
    monkeypatch.setenv("FAKE_DRAFT_FAIL", "case-02")
    _run(capsys, "eval", "run", str(suite), "--out", str(runs_dir), "-q", "--prompt",
         "diagnosis=v2")
    (runs_dir / "not-a-run").mkdir()
    code, out, _ = _run(capsys, "eval", "runs", str(runs_dir), "--format", "json")
    assert code == 0
    listing = __import__("json").loads(out)
    assert len(listing) == 2 and {i["suite"] for i in listing} == {"test-suite"}
    newest, oldest = listing
    assert "diagnosis=v2" in newest["variant"] and newest["failed"] == 1 and newest["cases"] == 4
    assert oldest["failed"] == 0 and oldest["finished"]
    assert set(newest["headline"]) == {"cost.tokens"}  # the headline metrics it has
    code, out, _ = _run(capsys, "eval", "runs", str(runs_dir))
    row = next(line for line in out.splitlines() if "diagnosis=v2" in line)
    assert "test-suite" in row and " 4 " in row  # one line per run, nothing wrapped
    code, _, err = _run(capsys, "eval", "runs", str(tmp_path / "nowhere"))
    assert code == 1 and "no runs folder here" in err
