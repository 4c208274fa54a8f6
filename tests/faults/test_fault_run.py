"""A 50-case suite run against a server that faults on 30% of requests: nothing lost or invented."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from drafting.evaluation import run_suite
from drafting.evaluation.rundir import RESULTS, read_results
from tests.faults.conftest import FAST_METRICS, write_chain_suite
from tests.faults.fault_server import FAULT_KINDS, FaultServer

N_CASES = 50
RETRY_AFTER = 0.3


def test_fault_mix_run_completes_and_reconciles(tmp_path: Path, short_waits) -> None:
    short_waits(timeout_s=0.5)
    with FaultServer(rate=0.3, seed=11, retry_after=RETRY_AFTER, stall_s=1.0) as server:
        suite = write_chain_suite(tmp_path, server.base_url, N_CASES)
        run = run_suite(suite, concurrency=8, out=tmp_path / "runs")
        served = list(server.served)

    # Every fault kind was actually served, at roughly the set rate.
    counts = Counter(s.kind for s in served)
    assert set(FAULT_KINDS) <= set(counts), counts
    fault_share = 1 - counts["ok"] / len(served)
    assert 0.2 < fault_share < 0.4, counts

    # One row per case, each scored or failed with a reason; nothing duplicated or invented.
    raw_rows = read_results(run.dir / RESULTS)
    ids = [r.case_id for r in raw_rows]
    assert len(ids) == len(set(ids)) == N_CASES
    assert set(ids) == {f"case-{i:02d}" for i in range(N_CASES)}
    ok = [r for r in raw_rows if r.status == "ok"]
    failed = [r for r in raw_rows if r.status == "failed"]
    assert len(ok) + len(failed) == N_CASES and ok and failed
    for r in ok:
        assert r.error is None and r.draft is not None
        assert [m.name for m in r.metrics] == FAST_METRICS
        assert all(m.status in ("scored", "not_applicable") for m in r.metrics)
    errors = []
    for r in failed:
        assert r.draft is None and r.metrics == [] and r.error is not None
        assert r.error.type in ("EndpointError", "ReplyParseError"), r.error
        assert r.error.message.strip()
        errors.append(r.error)
    # Each typed error names what went wrong. Which case meets which fault depends on the order
    # requests arrive in at concurrency 8, so every failure is checked against the known kinds.
    known = ("HTTP 500", "HTTP 429", "not valid JSON", "does not match", "cut off",
             "empty 'choices'", "timed out")
    for error in errors:
        assert any(k in error.message for k in known), error

    # summary.json reconciles with results.jsonl.
    summary = json.loads((run.dir / "summary.json").read_text())
    assert summary["cases"] == {"total": N_CASES, "ok": len(ok), "failed": len(failed)}
    assert summary["failures"] == {r.case_id: r.error.type for r in failed if r.error}
    for name in FAST_METRICS:
        statuses = Counter(m.status for r in ok for m in r.metrics if m.name == name)
        m = summary["metrics"][name]
        assert (m["n"], m["not_applicable"]) == (statuses["scored"], statuses["not_applicable"])

    # Retries honour Retry-After: the retry of a 429'd request arrived no sooner than asked.
    gaps = []
    for i, s in enumerate(served):
        if s.kind != "rate_limited":
            continue
        later = [t for t in served[i + 1:] if t.body_sha == s.body_sha]
        if later:
            gaps.append(later[0].at - s.at)
    assert gaps, "no 429 was retried"
    assert min(gaps) >= RETRY_AFTER - 0.01, gaps
