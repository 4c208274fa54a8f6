"""Comparing two constructed runs: paired differences, wins/ties/losses, direction."""

from __future__ import annotations

from pathlib import Path

import pytest

from drafting.cli import run as cli
from drafting.evaluation import compare_runs
from drafting.evaluation.compare import render_comparison_html
from tests.evaluation.run_builders import build_run


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    ids = [f"c{i:02d}" for i in range(10)]
    a = build_run(tmp_path / "a", {
        "quality": {c: 0.5 for c in ids},
        "cost": {c: 100.0 for c in ids},
    })
    # B: quality up on 6 cases, equal on 3, down on 1; cost lower (better) on every case.
    q = {c: 0.5 for c in ids}
    for c in ids[:6]:
        q[c] = 0.8
    q[ids[9]] = 0.4
    b = build_run(tmp_path / "b", {"quality": q, "cost": {c: 80.0 for c in ids}})
    return a, b


def test_wins_ties_losses_and_interval(runs: tuple[Path, Path]) -> None:
    comp = compare_runs(*runs)
    q = comp.metric("quality")
    assert (q.wins, q.ties, q.losses) == (6, 3, 1)
    assert q.n_paired == 10 and q.mean_diff == pytest.approx((6 * 0.3 - 0.1) / 10)
    assert q.ci_low <= q.mean_diff <= q.ci_high
    assert q.verdict == "better"
    assert q.changed[0].diff == pytest.approx(0.3) and len(q.changed) == 5
    cost = comp.metric("cost")
    # Lower is better: a drop of 20 on every case is 10 wins and a "better" verdict.
    assert (cost.wins, cost.ties, cost.losses) == (10, 0, 0)
    assert cost.mean_diff == pytest.approx(-20.0) and cost.verdict == "better"


def test_reversed_comparison_is_worse(runs: tuple[Path, Path]) -> None:
    comp = compare_runs(runs[1], runs[0])
    assert comp.metric("quality").verdict == "worse"
    assert (comp.metric("quality").wins, comp.metric("quality").losses) == (1, 6)


def test_identical_runs_tie(runs: tuple[Path, Path]) -> None:
    q = compare_runs(runs[0], runs[0]).metric("quality")
    assert (q.wins, q.ties, q.losses) == (0, 10, 0) and q.verdict == "same" and not q.changed


def test_unpaired_cases_are_reported(tmp_path: Path) -> None:
    a = build_run(tmp_path / "a", {"quality": {"x": 0.1, "y": 0.2}})
    b = build_run(tmp_path / "b", {"quality": {"y": 0.4, "z": 0.9}})
    comp = compare_runs(a, b)
    assert comp.cases_only_a == ["x"] and comp.cases_only_b == ["z"]
    q = comp.metric("quality")
    assert q.n_paired == 1 and q.only_a == 1 and q.only_b == 1


def test_cli_compare_prints_and_writes_html(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = tmp_path / "cmp.html"
    assert cli(["eval", "compare", str(runs[0]), str(runs[1]), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert "quality" in out and "6/3/1" in out and "better" in out
    page = html.read_text()
    assert "<script" not in page and "paired-bootstrap" in page and "quality" in page


def test_comparison_html_escapes(tmp_path: Path) -> None:
    a = build_run(tmp_path / "a", {"quality": {"<script>x</script>": 0.1}})
    b = build_run(tmp_path / "b", {"quality": {"<script>x</script>": 0.9}})
    page = render_comparison_html(compare_runs(a, b))
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
