"""The CI gate: thresholds, baselines (paired and unpaired), CLI exit codes, pytest helper."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drafting.cli import run as cli
from drafting.evaluation import assert_run_passes, check_run, write_baseline
from drafting.evaluation.records import Baseline
from drafting.evaluation.suite import GateConfig
from tests.evaluation.run_builders import build_run

IDS = [f"c{i:02d}" for i in range(12)]


def _run(tmp_path: Path, name: str, quality: float, **kw: object) -> Path:
    vals = {c: quality + 0.01 * (i % 3) for i, c in enumerate(IDS)}
    return build_run(tmp_path / name, {"quality": vals, "cost": {c: 50.0 for c in IDS}}, **kw)


def test_baseline_run_passes_against_itself(tmp_path: Path) -> None:
    run = _run(tmp_path, "base", 0.7)
    baseline = write_baseline(run, tmp_path / "baselines" / "s.json")
    data = json.loads(baseline.read_text())
    assert data["metrics"]["quality"]["n"] == 12
    assert set(data["metrics"]["quality"]["values"]) == set(IDS)
    result = check_run(run, baseline=baseline)
    assert result.passed and [c.kind for c in result.checks] == ["cases", "cases", "baseline",
                                                                  "baseline"]
    assert cli(["eval", "check", str(run), "--baseline", str(baseline)]) == 0


def test_worse_run_fails_against_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = write_baseline(_run(tmp_path, "base", 0.7), tmp_path / "b.json")
    worse = _run(tmp_path, "worse", 0.6)
    result = check_run(worse, baseline=baseline)
    assert not result.passed
    assert [c.metric for c in result.failures] == ["quality"]
    assert "significantly worse" in result.failures[0].message
    assert cli(["eval", "check", str(worse), "--baseline", str(baseline)]) == 1
    captured = capsys.readouterr()
    assert "FAIL" in captured.out and "quality" in captured.err


def test_cost_is_not_gated_by_the_baseline_unless_asked(tmp_path: Path) -> None:
    baseline = write_baseline(_run(tmp_path, "base", 0.7), tmp_path / "b.json")
    same_quality = {c: 0.7 + 0.01 * (i % 3) for i, c in enumerate(IDS)}
    costly = build_run(tmp_path / "costly", {"quality": same_quality,
                                             "cost": {c: 60.0 + i for i, c in enumerate(IDS)}})
    result = check_run(costly, baseline=baseline)
    assert result.passed
    assert "gated by thresholds only" in next(c for c in result.checks if c.metric == "cost").message
    assert cli(["eval", "check", str(costly), "--baseline", str(baseline)]) == 0
    asked = check_run(costly, baseline=baseline, gate=GateConfig(baseline_cost=True))
    assert [c.metric for c in asked.failures] == ["cost"]  # lower is better: 60+ vs 50 is worse


def test_unpaired_baseline_uses_the_minimum_effect(tmp_path: Path) -> None:
    baseline = json.loads(write_baseline(_run(tmp_path, "base", 0.7), tmp_path / "b.json")
                          .read_text())
    for m in baseline["metrics"].values():
        m["values"] = {}  # no case pairs: compare means with a tolerance
    slightly = _run(tmp_path, "slightly", 0.69)
    assert check_run(slightly, baseline=Baseline.model_validate(baseline)).passed
    assert not check_run(slightly, baseline=Baseline.model_validate(baseline),
                         min_effect=0.001).passed


def test_thresholds_from_suite_and_explicit(tmp_path: Path) -> None:
    run = _run(tmp_path, "r", 0.7, thresholds={"quality": 0.8, "cost": 60.0})
    result = check_run(run)
    assert [c.metric for c in result.failures] == ["quality"]
    assert "mean 0.710" in result.failures[0].message and "at least 0.800" in result.failures[0].message
    assert check_run(run, thresholds={"quality": 0.5}).passed
    assert not check_run(run, thresholds={"cost": 40.0}).passed  # lower is better
    assert not check_run(run, thresholds={"missing.metric": 0.1}).passed
    assert cli(["eval", "check", str(run)]) == 1


def test_case_failure_rate_threshold(tmp_path: Path) -> None:
    run = build_run(tmp_path / "r", {"quality": {"a": 1.0, "b": 1.0}}, failed=("c",),
                    thresholds={"case_failure_rate": 0.0})
    result = check_run(run)
    assert [c.metric for c in result.failures] == ["failed cases", "case_failure_rate"]


def test_assert_run_passes_message(tmp_path: Path) -> None:
    run = _run(tmp_path, "r", 0.7)
    assert assert_run_passes(run, thresholds={"quality": 0.5}).passed
    with pytest.raises(AssertionError) as err:
        assert_run_passes(run, thresholds={"quality": 0.9, "cost": 10.0})
    msg = str(err.value)
    assert "failed 2 of 4" in msg and "quality: mean 0.710" in msg and "cost:" in msg


def test_cli_baseline_writes_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _run(tmp_path, "r", 0.7)
    out = tmp_path / "eval" / "baselines" / "built.json"
    assert cli(["eval", "baseline", str(run), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out)
    assert json.loads(out.read_text())["suite"] == "built"


def test_bad_baseline_file(tmp_path: Path) -> None:
    run = _run(tmp_path, "r", 0.7)
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert cli(["eval", "check", str(run), "--baseline", str(bad)]) == 1


# --- issue 16: a gate that means what it says -----------------------------------------------


def test_all_failed_run_fails_and_names_the_cases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = build_run(tmp_path / "r", {"quality": {}}, failed=("MPX1", "MPX2", "MPX3"),
                    gate={"max_failure_rate": 1.0})
    result = check_run(run)
    assert [c.metric for c in result.failures] == ["scored cases"]
    assert "0 of 3 cases scored" in result.failures[0].message
    assert "MPX1 (EndpointError)" in result.failures[0].message
    assert cli(["eval", "check", str(run)]) == 1
    out = capsys.readouterr().out
    assert "FAIL cases scored cases" in out and "MPX3" in out


def test_any_failed_case_fails_unless_the_suite_allows_a_rate(tmp_path: Path) -> None:
    values = {"quality": {c: 0.8 for c in IDS[:9]}}
    strict = build_run(tmp_path / "strict", values, failed=("x1",))
    failures = check_run(strict).failures
    assert [c.metric for c in failures] == ["failed cases"]
    assert "1 of 10 cases failed (at most 0% allowed): x1 (EndpointError)" in failures[0].message
    lenient = build_run(tmp_path / "lenient", values, failed=("x1",),
                        gate={"max_failure_rate": 0.1})
    assert check_run(lenient).passed
    too_many = build_run(tmp_path / "many", values, failed=("x1", "x2"),
                         gate={"max_failure_rate": 0.1})
    assert not check_run(too_many).passed


def test_a_baseline_perturbed_by_1e9_passes(tmp_path: Path) -> None:
    run = _run(tmp_path, "base", 0.7)
    path = write_baseline(run, tmp_path / "b.json")
    data = json.loads(path.read_text())
    for case_id in data["metrics"]["quality"]["values"]:
        data["metrics"]["quality"]["values"][case_id] += 1e-9  # the run is 1e-9 "worse" everywhere
    data["metrics"]["quality"]["mean"] += 1e-9
    path.write_text(json.dumps(data))
    result = check_run(run, baseline=path)
    assert result.passed, result.message()
    assert "below the minimum effect" in next(c for c in result.checks
                                              if c.metric == "quality").message
    assert cli(["eval", "check", str(run), "--baseline", str(path)]) == 0


def test_only_latency_differences_pass(tmp_path: Path) -> None:
    baseline = write_baseline(_run(tmp_path, "base", 0.7), tmp_path / "b.json")
    vals = {c: 0.7 + 0.01 * (i % 3) for i, c in enumerate(IDS)}
    slower = build_run(tmp_path / "slower", {"quality": vals,
                                             "cost": {c: 500.0 for c in IDS}})
    assert cli(["eval", "check", str(slower), "--baseline", str(baseline)]) == 0


def test_significant_but_small_drop_needs_the_minimum_effect(tmp_path: Path) -> None:
    baseline = write_baseline(_run(tmp_path, "base", 0.7), tmp_path / "b.json")
    slightly = _run(tmp_path, "slightly", 0.69)  # every case 0.01 lower: significant, small
    assert check_run(slightly, baseline=baseline).passed
    assert not check_run(slightly, baseline=baseline, min_effect=0.005).passed
    assert cli(["eval", "check", str(slightly), "--baseline", str(baseline)]) == 0
    assert cli(["eval", "check", str(slightly), "--baseline", str(baseline),
                "--min-effect", "0.005"]) == 1
    per_metric = GateConfig(metric_min_effect={"quality": 0.001})
    assert not check_run(slightly, baseline=baseline, gate=per_metric).passed
