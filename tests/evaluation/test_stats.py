"""Bootstrap intervals and per-metric summaries on known data."""

from __future__ import annotations

import numpy as np
import pytest

from drafting.evaluation.metrics.base import MetricMeta, MetricResult
from drafting.evaluation.records import CaseError, CaseRow, TokenCounts
from drafting.evaluation.stats import bootstrap_ci, metric_summary, paired_bootstrap, summarise_rows


def test_interval_brackets_the_mean_and_is_reproducible() -> None:
    rng = np.random.default_rng(0)
    data = list(rng.normal(0.6, 0.1, size=200))
    low, high = bootstrap_ci(data)
    assert low < float(np.mean(data)) < high
    # Normal-theory half width is 1.96 * sd / sqrt(n) ~= 0.0139; the bootstrap is close to it.
    assert (high - low) / 2 == pytest.approx(1.96 * np.std(data, ddof=1) / np.sqrt(200), rel=0.15)
    assert bootstrap_ci(data) == (low, high)


def test_interval_edge_cases() -> None:
    assert bootstrap_ci([]) == (None, None)
    assert bootstrap_ci([0.3]) == (0.3, 0.3)
    assert bootstrap_ci([1.0, 1.0, 1.0]) == (1.0, 1.0)
    low, high = bootstrap_ci([0.0, 1.0] * 10)
    assert 0.2 < low < 0.5 < high < 0.8


def test_metric_summary_counts_statuses() -> None:
    results = [
        MetricResult(name="m", value=1.0),
        MetricResult(name="m", value=0.0),
        MetricResult(name="m", status="not_applicable"),
        MetricResult(name="m", status="unscored"),
        MetricResult(name="m", status="failed"),
    ]
    s = metric_summary(results, MetricMeta(section="findings"))
    assert (s.n, s.not_applicable, s.unscored, s.failed) == (2, 1, 1, 1)
    assert s.mean == 0.5 and s.min == 0.0 and s.max == 1.0 and s.section == "findings"


def test_summarise_rows_order_independent_and_grouped() -> None:
    meta = {"a": MetricMeta(section="findings"),
            "b": MetricMeta(section="cost", higher_is_better=False, bounded=False)}
    rows = [
        CaseRow(case_id=f"c{i}", status="ok", tokens=TokenCounts(total=5),
                metrics=[MetricResult(name="a", value=i / 10),
                         MetricResult(name="b", value=float(i), bounded=False)])
        for i in range(8)
    ] + [CaseRow(case_id="zz", status="failed", error=CaseError(type="X"))]
    s1 = summarise_rows(rows, meta)
    s2 = summarise_rows(list(reversed(rows)), meta)
    assert s1 == s2
    assert s1.sections == {"findings": ["a"], "cost": ["b"]}
    assert s1.cases.model_dump() == {"total": 9, "ok": 8, "failed": 1}
    assert s1.failures == {"zz": "X"}
    assert s1.metrics["b"].higher_is_better is False
    assert s1.metrics["a"].mean == pytest.approx(0.35)


def test_paired_bootstrap_detects_a_shift() -> None:
    a = {f"c{i}": 0.5 + 0.01 * i for i in range(20)}
    b = {k: v + 0.1 for k, v in a.items()}
    pb = paired_bootstrap(a, b)
    assert pb.n == 20 and pb.mean_diff == pytest.approx(0.1)
    assert pb.ci_low == pytest.approx(0.1) and pb.ci_high == pytest.approx(0.1)
    b["c0"] = 0.0
    pb = paired_bootstrap(a, {**b, "extra": 1.0})
    assert pb.n == 20 and pb.ci_low < pb.mean_diff < pb.ci_high
