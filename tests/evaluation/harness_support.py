"""Shared helpers for the harness tests: case sets, a fake drafter and a fake metric.

`slow_draft` is importable by path (``tests.evaluation.harness_support:slow_draft``) so that a
subprocess running ``drafting eval run`` can use it through ``DRAFTING_EVAL_DRAFT_FN``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import yaml

from drafting.cases import load_case, save_case
from drafting.evaluation.metrics import Metric, MetricResult
from drafting.schema import DISCLAIMER, Case, Draft, Provenance, RetrievedReference, StageRecord
from tests.support import SEEDS_DIR


def make_cases(directory: Path, n: int = 6) -> list[Case]:
    """Write n cases (copies of the seed cases under new ids) into ``directory``."""
    seeds = [load_case(p) for p in sorted(SEEDS_DIR.glob("*.yaml"))]
    cases = []
    for i in range(n):
        base = seeds[i % len(seeds)]
        case = base.model_copy(update={"id": f"case-{i:02d}"}, deep=True)
        save_case(case, directory)
        cases.append(case)
    return cases


def make_draft(case: Case, *, quality: float = 1.0) -> Draft:
    """A draft built from the gold report; ``quality`` < 1 truncates the findings."""
    report = case.gold.model_copy(deep=True)
    keep = max(1, int(len(report.findings) * quality))
    report.findings = report.findings[:keep]
    report.disclaimer = DISCLAIMER
    prov = Provenance(
        references=[RetrievedReference(case_id="ref-1", title="a reference", score=0.5)],
        backend="fake",
        model="fake-model",
        stages=[StageRecord(stage="findings", prompt_tokens=100, completion_tokens=20)],
    )
    return Draft(case_id=case.id, report=report, provenance=prov)


class LengthMetric(Metric):
    """A fake deterministic metric: share of the gold findings' length the draft kept."""

    name = "fake.findings_length"
    section = "findings"

    def score(self, draft: Draft, gold: Case) -> MetricResult:
        if not gold.gold.findings:
            return self.not_applicable("gold has no findings")
        return self.result(min(1.0, len(draft.report.findings) / len(gold.gold.findings)))


class TokensMetric(Metric):
    """A fake lower-is-better, unbounded metric, written async (the scorer adapts)."""

    name = "fake.tokens"
    section = "cost"
    higher_is_better = False
    bounded = False

    async def score(self, draft: Draft, gold: Case) -> MetricResult:
        return self.result(float(draft.provenance.total_tokens()))


FAKE_METRICS = [LengthMetric(), TokensMetric()]


def write_suite(path: Path, cases_dir: Path, **extra: Any) -> Path:
    """Write a minimal suite file drafting the cases in ``cases_dir``."""
    data: dict[str, Any] = {
        "name": "test-suite",
        "cases": {"dir": str(cases_dir)},
        "drafter": {"k": 1},
        "fixtures": {"mode": "replay", "dir": str(path.parent / "fixtures")},
    }
    data.update(extra)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


async def slow_draft(case: Case) -> Draft:
    """Fake drafter for subprocess tests: sleeps FAKE_DRAFT_DELAY seconds, fails ids in
    FAKE_DRAFT_FAIL (comma-separated)."""
    await asyncio.sleep(float(os.environ.get("FAKE_DRAFT_DELAY", "0")))
    if case.id in os.environ.get("FAKE_DRAFT_FAIL", "").split(","):
        raise RuntimeError(f"fake failure for {case.id}")
    return make_draft(case, quality=0.5 + 0.05 * (int(case.id[-2:]) % 10))
