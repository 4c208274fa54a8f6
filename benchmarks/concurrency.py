"""Concurrency against the physical limit: the real runner and chain against a slow fake server.

A loopback OpenAI-compatible server (`benchmarks.slow_server`: aiohttp, keep-alive), in its own
process as a real server would be, answers every request with schema-valid JSON after a fixed
200 ms. A suite of 60 synthetic cases (seed cases
with unique histories), 3 stages each, is run with `run_suite` at concurrency 1, 8 and 32 (live
mode, BM25 retrieval over the two seed cases, deterministic metrics). The limit is
``ceil(cases / concurrency) x stages x delay``; the figure is the wall time of `run_suite`
(loading, retrieval, chain, scoring, writing results, summary and report.html) over that limit.
Target: within 1.25 x the limit at concurrency 32.

Run: ``python -m benchmarks.concurrency [--quick]`` (quick: concurrency 8 and 32 only).
"""

from __future__ import annotations

import logging
import math
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.common import Figure, Timer, module_main

REPO = Path(__file__).resolve().parents[1]
CASES = 60
STAGES = 3
DELAY_S = 0.2


def _run_once(suite: Path, concurrency: int, out: Path) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds (the server runs elsewhere) of one run."""
    from drafting.evaluation import run_suite

    cpu = time.process_time()
    with Timer() as t:
        run = run_suite(suite, concurrency=concurrency, out=out)
    cpu = time.process_time() - cpu
    failed = run.summary.cases.failed
    if failed:
        raise RuntimeError(f"{failed} case(s) failed: {run.summary.failures}")
    return t.seconds, cpu


@contextmanager
def server_process(delay_s: float) -> Iterator[tuple[str, list[int]]]:
    """The fake server in a subprocess: yields its base URL and a list that receives the number
    of requests it served when the block ends."""
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.slow_server", str(delay_s)],
                            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    served: list[int] = []
    try:
        assert proc.stdout is not None and proc.stdin is not None
        yield proc.stdout.readline().strip(), served
        proc.stdin.close()
        served.append(int(proc.stdout.readline().strip() or 0))
    finally:
        proc.wait(timeout=30)


def run(quick: bool = False) -> list[Figure]:
    """Wall time over the limit at each concurrency, and the speed-up curve."""
    from tests.faults.conftest import write_chain_suite

    logging.getLogger("drafting").setLevel(logging.ERROR)
    levels = [8, 32] if quick else [1, 8, 32]
    tmp = Path(tempfile.mkdtemp(prefix="drafting-bench-concurrency-"))
    figures: list[Figure] = []
    try:
        with server_process(DELAY_S) as (base_url, served):
            suite = write_chain_suite(tmp, base_url, CASES, name="concurrency")
            warm = write_chain_suite(tmp / "warm", base_url, 2, name="warm")
            _run_once(warm, 2, tmp / "runs")  # imports and first-call set-up, not timed
            walls: dict[int, float] = {}
            for c in levels:
                walls[c], cpu = _run_once(suite, c, tmp / "runs")
                limit = math.ceil(CASES / c) * STAGES * DELAY_S
                figures.append(Figure(
                    f"concurrency/c{c}/wall_over_limit", walls[c] / limit, "x",
                    1.25 if c == 32 else None,
                    f"{walls[c]:.2f} s vs limit {limit:.1f} s ({CASES} cases x {STAGES} stages, "
                    f"{DELAY_S * 1000:.0f} ms per call)",
                ))
                figures.append(Figure(
                    f"concurrency/c{c}/client_cpu_per_call", cpu / (CASES * STAGES) * 1000, "ms",
                    note="all of the run's CPU in this process (one event loop) over its calls; "
                         "each round of c concurrent calls waits for about c times this",
                ))
        base = walls.get(1, CASES * STAGES * DELAY_S)
        for c in levels:
            ideal = CASES / math.ceil(CASES / c)
            figures.append(Figure(f"concurrency/c{c}/speedup", base / walls[c], "x",
                                  note=f"ideal {ideal:.1f}x"
                                  + ("" if 1 in walls else "; base = the c1 limit (quick)")))
        expected = 2 * STAGES + len(levels) * CASES * STAGES
        figures.append(Figure("concurrency/requests_served", served[0], "count",
                              note=f"expected {expected}: no retries, no lost calls"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: print the figures."""
    return module_main(run, "python -m benchmarks.concurrency", "skip concurrency 1 (36 s)", argv)


if __name__ == "__main__":
    sys.exit(main())
