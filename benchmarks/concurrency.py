"""Concurrency against the physical limit: the real runner and chain against a slow fake server.

A loopback OpenAI-compatible server (``tests/faults/fault_server.py``, no faults) answers every
request with schema-valid JSON after a fixed 200 ms. A suite of 60 synthetic cases (seed cases
with unique histories), 3 stages each, is run with `run_suite` at concurrency 1, 8 and 32 (live
mode, BM25 retrieval over the two seed cases, deterministic metrics). The limit is
``ceil(cases / concurrency) x stages x delay``; the figure is the wall time of `run_suite`
(loading, retrieval, chain, scoring, writing results, summary and report.html) over that limit.
Target: within 1.25 x the limit at concurrency 32.

Run: ``python -m benchmarks.concurrency [--quick]`` (quick: concurrency 8 and 32 only).
"""

from __future__ import annotations

import argparse
import logging
import math
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.common import Figure, Timer, print_figures

CASES = 60
STAGES = 3
DELAY_S = 0.2


def _run_once(suite: Path, concurrency: int, out: Path) -> float:
    from drafting.evaluation import run_suite

    with Timer() as t:
        run = run_suite(suite, concurrency=concurrency, out=out)
    failed = run.summary["cases"]["failed"]
    if failed:
        raise RuntimeError(f"{failed} case(s) failed: {run.summary['failures']}")
    return t.seconds


def run(quick: bool = False) -> list[Figure]:
    """Wall time over the limit at each concurrency, and the speed-up curve."""
    from tests.faults.conftest import write_chain_suite
    from tests.faults.fault_server import FaultServer

    logging.getLogger("drafting").setLevel(logging.ERROR)
    levels = [8, 32] if quick else [1, 8, 32]
    tmp = Path(tempfile.mkdtemp(prefix="drafting-bench-concurrency-"))
    figures: list[Figure] = []
    try:
        with FaultServer(rate=0.0, delay_s=DELAY_S) as server:
            suite = write_chain_suite(tmp, server.base_url, CASES, name="concurrency")
            warm = write_chain_suite(tmp / "warm", server.base_url, 2, name="warm")
            _run_once(warm, 2, tmp / "runs")  # imports and first-call set-up, not timed
            walls: dict[int, float] = {}
            for c in levels:
                walls[c] = _run_once(suite, c, tmp / "runs")
                limit = math.ceil(CASES / c) * STAGES * DELAY_S
                figures.append(Figure(
                    f"concurrency/c{c}/wall_over_limit", walls[c] / limit, "x",
                    1.25 if c == 32 else None,
                    f"{walls[c]:.2f} s vs limit {limit:.1f} s ({CASES} cases x {STAGES} stages, "
                    f"{DELAY_S * 1000:.0f} ms per call)",
                ))
            requests = len(server.requests)
        base = walls.get(1, CASES * STAGES * DELAY_S)
        for c in levels:
            ideal = CASES / math.ceil(CASES / c)
            figures.append(Figure(f"concurrency/c{c}/speedup", base / walls[c], "x",
                                  note=f"ideal {ideal:.1f}x"
                                  + ("" if 1 in walls else "; base = the c1 limit (quick)")))
        expected = 2 * STAGES + len(levels) * CASES * STAGES
        figures.append(Figure("concurrency/requests_served", requests, "count",
                              note=f"expected {expected}: no retries, no lost calls"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: print the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.concurrency")
    parser.add_argument("--quick", action="store_true", help="skip concurrency 1 (36 s)")
    args = parser.parse_args(argv)
    figures = run(quick=args.quick)
    print_figures(figures)
    return 1 if any(f.ok is False for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
