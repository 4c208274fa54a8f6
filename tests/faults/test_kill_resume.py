"""SIGKILL `drafting eval run` at five random points; each resumed run equals an uninterrupted one.

The run drafts through the real chain against a loopback fake server (schema-valid answers after
a fixed delay), so what is compared is deterministic: per-case status and metric values.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def test_kill_at_random_points_then_resume(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    with FaultServer(rate=0.0, delay_s=0.1) as server:
        suite = write_chain_suite(tmp_path, server.base_url, N_CASES, name="killed")
        whole = run_suite(suite, concurrency=2, out=tmp_path / "whole")
        expected = _outcome(whole.dir)
        assert len(expected) == N_CASES and all(status == "ok" for _, status, _ in expected)

        rows_at_kill = []
        for i in range(KILLS):
            out = tmp_path / f"killed-{i}"
            proc = _cli(["eval", "run", str(suite), "--concurrency", "2", "--out", str(out),
                         "--quiet"])
            try:
                deadline = time.monotonic() + 60
                while not list(out.glob(f"*/{CONFIG}")):
                    assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
                    time.sleep(0.01)
                # Imports and set-up take ~3 s from here and drafting ~2-4 s on 2 busy cores:
                # kill anywhere from set-up to the last case.
                time.sleep(rng.uniform(0.5, 7.0))
                proc.send_signal(signal.SIGKILL)
            finally:
                proc.wait(timeout=30)
            run_dir = next(out.glob(f"*/{CONFIG}")).parent
            rows_at_kill.append(len(read_results(run_dir / RESULTS)))

            resumed = _cli(["eval", "run", str(suite), "--resume", str(run_dir), "--quiet"])
            stdout, stderr = resumed.communicate(timeout=120)
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
