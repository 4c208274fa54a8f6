"""Aggregates over a run's rows: per-metric mean, counts and a bootstrap 95% interval.

Every bootstrap here uses a fixed seed so that the same values always give the same interval:
rerunning a suite in replay must reproduce ``summary.json`` exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from drafting.evaluation.metrics.base import MetricMeta, MetricResult
from drafting.evaluation.records import (
    CaseCounts,
    CaseRow,
    MetricSummary,
    RunSummary,
    TimingTotals,
    TokenTotals,
)

#: Seed of every bootstrap (reproducible summaries).
SEED = 20240611
#: Bootstrap resamples.
N_RESAMPLES = 2000
CONFIDENCE = 0.95


def bootstrap_ci(
    values: Sequence[float],
    *,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> tuple[float | None, float | None]:
    """Percentile-bootstrap interval of the mean.

    Args:
        values: The sample (one value per case).
        confidence: Interval coverage.
        n_resamples: Bootstrap resamples.
        seed: Random seed (fixed: equal inputs give equal intervals).

    Returns:
        (low, high); both None for an empty sample, the value itself for one value.
    """
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return None, None
    if arr.size == 1 or np.all(arr == arr[0]):
        v = float(arr[0])
        return v, v
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(n_resamples, arr.size))
    means = arr[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return _clean(low), _clean(high)


def _clean(x: float) -> float:
    # Round away float noise so that JSON output is stable across numpy builds.
    return round(float(x), 10)


def metric_summary(results: Iterable[MetricResult], meta: MetricMeta) -> MetricSummary:
    """Summary of one metric over cases.

    Args:
        results: The metric's results, one per case.
        meta: How to read the metric (section, direction, bounds).

    Returns:
        Its meta with mean, ci_low, ci_high, n (scored), not_applicable, unscored, failed, min,
        max and std.
    """
    counts = {"scored": 0, "not_applicable": 0, "unscored": 0, "failed": 0}
    values: list[float] = []
    for result in results:
        if result.status == "scored" and result.value is not None:
            values.append(float(result.value))
            counts["scored"] += 1
        else:
            counts[result.status if result.status != "scored" else "failed"] += 1
    low, high = bootstrap_ci(values)
    arr = np.asarray(values, dtype=float)
    return MetricSummary(
        section=meta.section or "other",
        kind=meta.kind,
        higher_is_better=meta.higher_is_better,
        bounded=meta.bounded,
        mean=_clean(arr.mean()) if values else None,
        ci_low=low,
        ci_high=high,
        n=counts["scored"],
        not_applicable=counts["not_applicable"],
        unscored=counts["unscored"],
        failed=counts["failed"],
        min=_clean(arr.min()) if values else None,
        max=_clean(arr.max()) if values else None,
        std=_clean(arr.std(ddof=1)) if len(values) > 1 else None,
    )


def summarise_rows(
    rows: Sequence[CaseRow], metric_meta: Mapping[str, MetricMeta] | None = None
) -> RunSummary:
    """The aggregates of ``summary.json`` for a run's rows (run id, suite and thresholds are the
    caller's to fill in).

    Args:
        rows: results.jsonl rows (any order; they are sorted by case id here).
        metric_meta: name -> how to read the metric; metrics seen only in rows get section
            "other" and higher_is_better True.

    Returns:
        ``cases`` (total, ok, failed), ``metrics`` (in suite order then name order),
        ``sections`` (section -> metric names), ``failures`` (case id -> error type), ``tokens``
        and ``timings`` totals.
    """
    meta = dict(metric_meta or {})
    ordered = sorted(rows, key=lambda row: row.case_id)
    per_metric: dict[str, list[MetricResult]] = {name: [] for name in meta}
    for row in ordered:
        for result in row.metrics:
            per_metric.setdefault(result.name, []).append(result)
    metrics: dict[str, MetricSummary] = {}
    sections: dict[str, list[str]] = {}
    for name, results in per_metric.items():
        summary = metric_summary(results, meta.get(name, MetricMeta()))
        metrics[name] = summary
        sections.setdefault(summary.section, []).append(name)
    failed = [row for row in ordered if row.status == "failed"]
    tokens = [row.tokens.total for row in ordered]
    draft_s = [row.timings.draft_s for row in ordered]
    score_s = [row.timings.score_s for row in ordered]
    return RunSummary(
        cases=CaseCounts(total=len(ordered), ok=len(ordered) - len(failed), failed=len(failed)),
        metrics=metrics,
        sections=sections,
        failures={row.case_id: row.error.type if row.error else "" for row in failed},
        tokens=TokenTotals(total=sum(tokens), per_case_mean=_mean(tokens)),
        timings=TimingTotals(
            draft_s_total=round(sum(draft_s), 3),
            score_s_total=round(sum(score_s), 3),
            draft_s_mean=_mean(draft_s, 3),
            score_s_mean=_mean(score_s, 3),
        ),
    )


def _mean(xs: Sequence[float], digits: int = 2) -> float | None:
    return round(sum(xs) / len(xs), digits) if xs else None


def metric_values(rows: Iterable[CaseRow], name: str) -> dict[str, float]:
    """case id -> scored value of one metric (cases where it was not scored are left out)."""
    out: dict[str, float] = {}
    for row in rows:
        value = row.scored_value(name)
        if value is not None:
            out[row.case_id] = float(value)
    return out


@dataclass(frozen=True)
class PairedDifference:
    """The paired difference (b - a) of one metric over the cases both runs scored.

    Attributes:
        n: Paired cases.
        mean_diff: Mean of b - a (None without pairs).
        ci_low: Lower end of its bootstrap interval.
        ci_high: Upper end.
        diffs: case id -> b - a, sorted by id.
    """

    n: int
    mean_diff: float | None
    ci_low: float | None
    ci_high: float | None
    diffs: dict[str, float]


def paired_bootstrap(
    a: Mapping[str, float],
    b: Mapping[str, float],
    *,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> PairedDifference:
    """Mean difference (b - a) over the cases both scored, with a paired-bootstrap interval."""
    ids = sorted(set(a) & set(b))
    diffs = {i: b[i] - a[i] for i in ids}
    arr = [diffs[i] for i in ids]
    low, high = bootstrap_ci(arr, confidence=confidence, seed=seed)
    return PairedDifference(
        n=len(ids),
        mean_diff=_clean(float(np.mean(arr))) if arr else None,
        ci_low=low,
        ci_high=high,
        diffs=diffs,
    )
