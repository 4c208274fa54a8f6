"""Concurrency against realistic latency: the real runner and chain against a loopback server whose
per-call delay follows a log-normal (median 1.5 s, p95 6 s), as hosted models answer.

A suite of 200 synthetic cases (seed cases with unique histories), 3 stages each, runs with
`run_suite` at concurrency 64 against `benchmarks.slow_server` in its own process (live mode,
BM25 retrieval over the two seed cases, deterministic metrics). Each request's delay is a seeded
function of its body, so every run and every client meets the same delays.

- **Wall over limit** (target within 1.10x): the limit is the schedule the actual delays allow.
  The runner starts cases in order as slots free up, and a case's stages run one after another,
  so the limit is the makespan of that list schedule on 64 slots with each case taking the sum of
  its three logged delays (no client time at all).
- **Client CPU per call, our chain vs the raw client** (target <= 1.5x): the same 600 requests
  (bodies as the server logged them), sent by ``AsyncOpenAI.chat.completions.create`` alone with the
  same structure (64 cases at once, 3 calls in turn), against `adraft_report` for the same cases
  (retrieval, prompts, chain, parsing). CPU is this process's (the server runs elsewhere).
  Each timed pass starts on a collected heap (`_timed_cpu`): the passes share one process, and
  a full garbage collection owed to an earlier phase's garbage (the suite run's results and
  report, ~0.4 s at this heap size) otherwise fell in whichever pass crossed the threshold,
  most often the chain's, which comes right after the suite run (0.7 ms per call of its figure).

This replaces the earlier figure (60 cases x 3 stages, a fixed 200 ms per call, within 1.25x of
``ceil(cases / c) x stages x delay`` at c32), which measured the client's few milliseconds of
CPU per call against an unrealistically fast model.

Run: ``python -m benchmarks.concurrency [--quick]`` (quick: 64 cases).
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.common import Figure, Timer, module_main

REPO = Path(__file__).resolve().parents[1]
CASES = 200
QUICK_CASES = 64
STAGES = 3
CONCURRENCY = 64
MEDIAN_S, P95_S, SEED = 1.5, 6.0, 14


@contextmanager
def server_process(*args: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The slow server in a subprocess: yields its base URL and a dict that receives its log
    (``served``, ``log``) when the block ends."""
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.slow_server", *args], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    result: dict[str, Any] = {}
    try:
        assert proc.stdout is not None and proc.stdin is not None
        yield proc.stdout.readline().strip(), result
        proc.stdin.close()
        result.update(json.loads(proc.stdout.readline() or "{}"))
    finally:
        proc.wait(timeout=60)


def list_schedule(durations: list[float], slots: int) -> float:
    """Makespan of starting jobs in order, each on the first slot to free up."""
    free = [0.0] * slots
    end = 0.0
    for d in durations:
        start = heapq.heappop(free)
        heapq.heappush(free, start + d)
        end = max(end, start + d)
    return end


def _per_case(log: list[list]) -> dict[str, list[list]]:
    by_case: dict[str, list[list]] = defaultdict(list)
    for case_id, delay, body in log:
        by_case[case_id].append([delay, body])
    return by_case


def _timed_cpu() -> float:
    """The process CPU clock, read after a full collection: a timed pass pays for its own
    garbage, not for a collection the garbage of earlier phases has made due."""
    gc.collect()
    return time.process_time()


def _run_suite(suite: Path, out: Path) -> tuple[float, float, Any]:
    from drafting.evaluation import run_suite

    cpu = _timed_cpu()
    with Timer() as t:
        run = run_suite(suite, concurrency=CONCURRENCY, out=out)
    cpu = time.process_time() - cpu
    failed = run.summary.cases.failed
    if failed:
        raise RuntimeError(f"{failed} case(s) failed: {run.summary.failures}")
    return t.seconds, cpu, run


def _chain_only(suite: Path) -> tuple[float, float, int]:
    """`adraft_report` for every case of the suite at the same concurrency: wall, CPU, cases."""
    from drafting.evaluation.setup import build_endpoint, default_draft_fn
    from drafting.evaluation.suite import load_case_source, load_suite

    s = load_suite(suite)
    cases, _ = load_case_source(s.cases)
    draft = default_draft_fn(s, build_endpoint(s))

    async def all_cases() -> None:
        from drafting.llm import connection_pool

        sem = asyncio.Semaphore(CONCURRENCY)

        async def one(case: Any) -> None:
            async with sem:
                await draft(case)

        async with connection_pool():  # as run_suite drafts: one aiohttp pool for the block
            await asyncio.gather(*(one(c) for c in cases))

    cpu = _timed_cpu()
    with Timer() as t:
        asyncio.run(all_cases())
    return t.seconds, time.process_time() - cpu, len(cases)


def _raw_client(base_url: str, per_case: list[list[dict]]) -> tuple[float, float, int]:
    """The logged bodies sent by the bare AsyncOpenAI client, same structure: wall, CPU, calls."""
    from openai import AsyncOpenAI

    async def all_cases() -> int:
        sem = asyncio.Semaphore(CONCURRENCY)
        async with AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0) as client:

            async def one(bodies: list[dict]) -> int:
                async with sem:
                    for body in bodies:
                        extra = {k: v for k, v in body.items() if k not in ("model", "messages")}
                        await client.chat.completions.create(model=body["model"],
                                                             messages=body["messages"],
                                                             extra_body=extra)
                return len(bodies)

            return sum(await asyncio.gather(*(one(b) for b in per_case)))

    cpu = _timed_cpu()
    with Timer() as t:
        calls = asyncio.run(all_cases())
    return t.seconds, time.process_time() - cpu, calls


def run(quick: bool = False) -> list[Figure]:
    """Wall over the delay-schedule limit, and client CPU per call against the raw client."""
    from tests.faults.conftest import write_chain_suite

    logging.getLogger("drafting").setLevel(logging.ERROR)
    n = QUICK_CASES if quick else CASES
    tmp = Path(tempfile.mkdtemp(prefix="drafting-bench-concurrency-"))
    figures: list[Figure] = []
    try:
        with server_process("--lognormal", str(MEDIAN_S), str(P95_S), "--seed", str(SEED)) as (
                base_url, served):
            suite = write_chain_suite(tmp, base_url, n, name="concurrency")
            warm = write_chain_suite(tmp / "warm", base_url, 2, name="warm")
            _run_suite(warm, tmp / "runs")  # imports and first-call set-up, not timed
            wall, cpu, run_ = _run_suite(suite, tmp / "runs")
            chain_wall, chain_cpu, chain_cases = _chain_only(suite)
        by_case = _per_case(served["log"])
        ids = sorted(r.case_id for r in run_.results)
        durations = [sum(d for d, _ in by_case[c][:STAGES]) for c in ids]
        limit = list_schedule(durations, CONCURRENCY)
        delays = sorted(d for c in ids for d, _ in by_case[c][:STAGES])
        with server_process("--lognormal", str(MEDIAN_S), str(P95_S), "--seed", str(SEED)) as (
                base_url, raw_served):
            raw_wall, raw_cpu, raw_calls = _raw_client(
                base_url, [[b for _, b in by_case[c][:STAGES]] for c in ids])
        calls = n * STAGES
        raw_delays = sorted(d for _, d, _ in raw_served["log"])
        same = raw_delays == delays
        ours_per_call = chain_cpu / (chain_cases * STAGES) * 1000
        raw_per_call = raw_cpu / raw_calls * 1000
        figures += [
            Figure("concurrency/c64/wall_over_limit", wall / limit, "x", 1.10,
                   f"{wall:.1f} s vs limit {limit:.1f} s: {n} cases x {STAGES} stages on "
                   f"{CONCURRENCY} slots, list schedule of the logged delays"),
            Figure("concurrency/c64/delay_median", delays[len(delays) // 2], "s",
                   note=f"log-normal, seed {SEED}: p95 {delays[int(0.95 * len(delays))]:.2f} s, "
                        f"max {delays[-1]:.1f} s over {len(delays)} calls"),
            Figure("concurrency/c64/run_cpu_per_call", cpu / calls * 1000, "ms",
                   note="all of run_suite's CPU (load, retrieval, chain, scoring, writing, "
                        "report.html) over its calls"),
            Figure("concurrency/c64/chain_cpu_per_call", ours_per_call, "ms",
                   note=f"adraft_report alone, same cases and concurrency ({chain_wall:.1f} s wall)"),
            Figure("concurrency/c64/raw_client_cpu_per_call", raw_per_call, "ms",
                   note=f"AsyncOpenAI.create alone, the same {raw_calls} request bodies "
                        f"({raw_wall:.1f} s wall; same delays: {same})"),
            Figure("concurrency/c64/chain_over_raw_cpu", ours_per_call / raw_per_call, "x", 1.5,
                   "client CPU per call: our chain / the raw openai client"),
            Figure("concurrency/requests_served", served["served"], "count",
                   note=f"expected {2 * STAGES + 2 * calls}: warm-up, run, chain-only; "
                        "no retries, no lost calls"),
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: print the figures."""
    return module_main(run, "python -m benchmarks.concurrency", f"{QUICK_CASES} cases", argv)


if __name__ == "__main__":
    sys.exit(main())
