"""SIGKILL `drafting eval run` at five random points; each resumed run equals an uninterrupted one.

The run drafts through the real chain against a loopback fake server (schema-valid answers after
a fixed delay), so what is compared is deterministic: per-case status and metric values.

The kill points are chosen by progress, not by the clock: each kill waits until the run has
written a (seeded, random) number of rows, then sends SIGKILL. Timed kills all landed during
set-up on a loaded machine (rows at kill [0, 0, 0, 0, 0]) and the test failed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drafting.evaluation import load_run, run_suite
from drafting.evaluation.rundir import CONFIG, RESULTS, read_results
from tests.faults.conftest import write_chain_suite
from tests.faults.fault_server import FaultServer
from tests.support import REPO

N_CASES = 12
KILLS = 5
SEED = 20240607


def _cli(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "drafting", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _outcome(run_dir: Path) -> list[tuple]:
    run = load_run(run_dir)
    return [(r.case_id, r.status, tuple((m.name, m.status, m.value) for m in r.metrics))
            for r in run.results]


@pytest.mark.timeout(1800)  # eleven CLI processes: on a machine loaded 10x it took > 600 s
def test_kill_at_random_points_then_resume(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    with FaultServer(rate=0.0, delay_s=0.1) as server:
        suite = write_chain_suite(tmp_path, server.base_url, N_CASES, name="killed")
        whole = run_suite(suite, concurrency=2, out=tmp_path / "whole")
        expected = _outcome(whole.dir)
        assert len(expected) == N_CASES and all(status == "ok" for _, status, _ in expected)

        # Distinct points: 0 (during set-up, before any row) and rows that leave cases to do.
        targets = [0, *rng.sample(range(1, N_CASES - 2), KILLS - 1)]
        rows_at_kill = []
        for i, target in enumerate(targets):
            out = tmp_path / f"killed-{i}"
            proc = _cli(["eval", "run", str(suite), "--concurrency", "2", "--out", str(out),
                         "--quiet"])
            try:
                deadline = time.monotonic() + 180  # generous: a loaded machine is slow, not wrong
                while not list(out.glob(f"*/{CONFIG}")):
                    assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
                    time.sleep(0.005)
                rows = next(out.glob(f"*/{CONFIG}")).parent / RESULTS
                while _complete_rows(rows) < target:
                    assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
                    time.sleep(0.005)
                proc.send_signal(signal.SIGKILL)
            finally:
                proc.wait(timeout=30)
            run_dir = next(out.glob(f"*/{CONFIG}")).parent
            rows_at_kill.append(len(read_results(run_dir / RESULTS)))

            resumed = _cli(["eval", "run", str(suite), "--resume", str(run_dir), "--quiet"])
            stdout, stderr = resumed.communicate(timeout=300)
            assert resumed.returncode == 0, stderr
            assert stdout.strip().splitlines()[-1] == str(run_dir)
            assert _outcome(run_dir) == expected, f"kill {i} after {rows_at_kill[-1]} rows"
            raw = read_results(run_dir / RESULTS)
            assert len(raw) == N_CASES, "a case was drafted twice or lost"
            resumed_summary, whole_summary = load_run(run_dir).summary, whole.summary
            assert resumed_summary is not None and whole_summary is not None
            assert resumed_summary.metrics == whole_summary.metrics

    # The kills landed at different points of the run, not all before or after it.
    assert len(set(rows_at_kill)) >= 2 and min(rows_at_kill) < N_CASES, rows_at_kill
    assert all(n >= t for n, t in zip(rows_at_kill, targets, strict=True)), (rows_at_kill, targets)


def _complete_rows(path: Path) -> int:
    """Rows fully written so far (a row is one line; the last may be partial)."""
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_a_second_writer_is_refused_and_a_killed_writer_leaves_no_stale_lock(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """Two processes resuming one run directory both drafted every pending case."""
    from drafting.cli import run as cli
    from tests.evaluation.harness_support import make_cases, write_suite

    monkeypatch.setenv("DRAFTING_EVAL_DRAFT_FN", "tests.evaluation.harness_support:slow_draft")
    monkeypatch.setenv("FAKE_DRAFT_DELAY", "3")
    make_cases(tmp_path / "cases", n=3)
    suite = write_suite(tmp_path / "suite.yaml", tmp_path / "cases", metrics=["structure.disclaimer"])
    out = tmp_path / "runs"
    holder = _cli(["eval", "run", str(suite), "--concurrency", "1", "--out", str(out), "--quiet"])
    try:
        deadline = time.monotonic() + 180
        while not list(out.glob(f"*/{CONFIG}")):
            assert time.monotonic() < deadline and holder.poll() is None, holder.stderr
            time.sleep(0.01)
        run_dir = next(out.glob(f"*/{CONFIG}")).parent
        code = cli(["eval", "run", str(suite), "--resume", str(run_dir), "--quiet"])
        _, err = capsys.readouterr()
        assert code == 1, err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and "another process" in lines[0] and str(holder.pid) in lines[0]
        assert str(run_dir) in lines[0]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    monkeypatch.setenv("FAKE_DRAFT_DELAY", "0")
    code = cli(["eval", "run", str(suite), "--resume", str(run_dir), "--quiet"])
    _, err = capsys.readouterr()
    assert code == 0, err  # the killed holder's lock went with it
    rows = read_results(run_dir / RESULTS)
    assert sorted(r.case_id for r in rows) == ["case-00", "case-01", "case-02"]
