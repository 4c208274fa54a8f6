"""Corrupted and concurrently written fixtures, at the run level."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from drafting.evaluation import run_suite
from drafting.llm.fixtures import read_fixture
from tests.faults.conftest import write_chain_suite
from tests.faults.fault_server import FaultServer
from tests.support import REPO


def test_truncated_fixture_fails_its_case_naming_the_file(tmp_path: Path) -> None:
    with FaultServer(rate=0.0) as server:
        suite = write_chain_suite(tmp_path, server.base_url, 2, mode="record")
        recorded = run_suite(suite, out=tmp_path / "runs")
    assert recorded.summary is not None and recorded.summary.cases.failed == 0
    files = sorted((tmp_path / "fixtures").rglob("*.json"))
    assert len(files) == 6  # 2 cases x 3 stages
    victim = next(f for f in files if f.stem in recorded.results[0].fixture_keys)
    victim.write_bytes(victim.read_bytes()[:200])  # cut mid-file, as a crashed copy would

    replayed = run_suite(suite, fixtures="replay", out=tmp_path / "runs")
    rows = {r.case_id: r for r in replayed.results}
    bad = rows[recorded.results[0].case_id]
    assert bad.status == "failed" and bad.error is not None
    assert bad.error.type == "FixtureFileError"
    assert str(victim) in bad.error.message and "re-record" in bad.error.message
    assert rows[recorded.results[1].case_id].status == "ok"  # the other case goes on


def test_two_runs_recording_into_one_directory_leave_complete_files(tmp_path: Path) -> None:
    with FaultServer(rate=0.0, delay_s=0.02) as server:
        suite = write_chain_suite(tmp_path, server.base_url, 8, mode="record")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        procs = [
            subprocess.Popen([sys.executable, "-m", "drafting", "eval", "run", str(suite),
                              "--concurrency", "4", "--out", str(tmp_path / f"runs-{i}"), "--quiet"],
                             cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
            for i in range(2)
        ]
        for p in procs:
            _, err = p.communicate(timeout=180)
            assert p.returncode == 0, err
        both_wrote = len(server.requests)
    assert both_wrote == 2 * 8 * 3  # the two runs really did record the same requests at once
    fixtures = tmp_path / "fixtures"
    everything = [p for p in fixtures.rglob("*") if p.is_file()]
    assert all(p.suffix == ".json" and not p.name.startswith(".") for p in everything), everything
    assert len(everything) == 8 * 3
    for path in everything:
        data = read_fixture(path)  # raises FixtureFileError on a partial file
        assert data["key"] == path.stem and data["response"]["status"] == 200
    replayed = run_suite(suite, fixtures="replay", out=tmp_path / "replay")
    assert replayed.summary is not None
    assert replayed.summary.cases.model_dump() == {"total": 8, "ok": 8, "failed": 0}
