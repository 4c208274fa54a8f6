"""Aggregates over a run's rows: per-metric mean, counts and a bootstrap 95% interval.

Every bootstrap here uses a fixed seed so that the same values always give the same interval:
rerunning a suite in replay must reproduce ``summary.json`` exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

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


def metric_summary(results: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Summary of one metric over cases.

    Args:
        results: MetricResult dicts (``value``, ``status``), one per case.

    Returns:
        mean, ci_low, ci_high, n (scored), not_applicable, unscored, failed, min, max, std.
    """
    counts = {"scored": 0, "not_applicable": 0, "unscored": 0, "failed": 0}
    values: list[float] = []
    for r in results:
        status = r.get("status", "scored")
        if status == "scored" and r.get("value") is not None:
            values.append(float(r["value"]))
            counts["scored"] += 1
        elif status in counts and status != "scored":
            counts[status] += 1
        else:
            counts["failed"] += 1
    low, high = bootstrap_ci(values)
    arr = np.asarray(values, dtype=float)
    return {
        "mean": _clean(arr.mean()) if values else None,
        "ci_low": low,
        "ci_high": high,
        "n": counts["scored"],
        "not_applicable": counts["not_applicable"],
        "unscored": counts["unscored"],
        "failed": counts["failed"],
        "min": _clean(arr.min()) if values else None,
        "max": _clean(arr.max()) if values else None,
        "std": _clean(arr.std(ddof=1)) if len(values) > 1 else None,
    }


def summarise_rows(
    rows: Sequence[Mapping[str, Any]], metric_meta: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The metric part of ``summary.json`` for a run's rows.

    Args:
        rows: results.jsonl rows (any order; they are sorted by case id here).
        metric_meta: name -> {section, kind, higher_is_better}; metrics seen only in rows get
            section "other" and higher_is_better True.

    Returns:
        ``cases`` (total, ok, failed), ``metrics`` (name -> metric_summary + meta, in suite
        order then name order), ``sections`` (section -> metric names), ``failures`` (case id ->
        error type), ``tokens`` and ``timings`` totals.
    """
    meta = dict(metric_meta or {})
    ordered = sorted(rows, key=lambda r: str(r.get("case_id", "")))
    per_metric: dict[str, list[Mapping[str, Any]]] = {name: [] for name in meta}
    for row in ordered:
        for m in row.get("metrics") or []:
            per_metric.setdefault(m["name"], []).append(m)
    metrics: dict[str, Any] = {}
    sections: dict[str, list[str]] = {}
    for name, results in per_metric.items():
        info = meta.get(name, {})
        section = info.get("section") or "other"
        metrics[name] = {
            "section": section,
            "kind": info.get("kind", ""),
            "higher_is_better": bool(info.get("higher_is_better", True)),
            **metric_summary(results),
        }
        sections.setdefault(section, []).append(name)
    failed = [r for r in ordered if r.get("status") == "failed"]
    tokens = [int((r.get("tokens") or {}).get("total", 0)) for r in ordered]
    draft_s = [float((r.get("timings") or {}).get("draft_s", 0.0)) for r in ordered]
    score_s = [float((r.get("timings") or {}).get("score_s", 0.0)) for r in ordered]
    return {
        "cases": {"total": len(ordered), "ok": len(ordered) - len(failed), "failed": len(failed)},
        "metrics": metrics,
        "sections": sections,
        "failures": {str(r["case_id"]): (r.get("error") or {}).get("type", "") for r in failed},
        "tokens": {"total": sum(tokens), "per_case_mean": _mean(tokens)},
        "timings": {
            "draft_s_total": round(sum(draft_s), 3),
            "score_s_total": round(sum(score_s), 3),
            "draft_s_mean": _mean(draft_s, 3),
            "score_s_mean": _mean(score_s, 3),
        },
    }


def _mean(xs: Sequence[float], digits: int = 2) -> float | None:
    return round(sum(xs) / len(xs), digits) if xs else None


def metric_values(rows: Iterable[Mapping[str, Any]], name: str) -> dict[str, float]:
    """case id -> scored value of one metric (cases where it was not scored are left out)."""
    out: dict[str, float] = {}
    for row in rows:
        for m in row.get("metrics") or []:
            if m.get("name") == name and m.get("status") == "scored" and m.get("value") is not None:
                out[str(row["case_id"])] = float(m["value"])
    return out


def paired_bootstrap(
    a: Mapping[str, float],
    b: Mapping[str, float],
    *,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> dict[str, Any]:
    """Mean difference (b - a) over the cases both scored, with a paired-bootstrap interval.

    Returns:
        n (paired cases), mean_diff, ci_low, ci_high, and ``diffs`` (case id -> b - a, sorted by id).
    """
    ids = sorted(set(a) & set(b))
    diffs = {i: b[i] - a[i] for i in ids}
    arr = [diffs[i] for i in ids]
    low, high = bootstrap_ci(arr, confidence=confidence, seed=seed)
    return {
        "n": len(ids),
        "mean_diff": _clean(float(np.mean(arr))) if arr else None,
        "ci_low": low,
        "ci_high": high,
        "diffs": diffs,
    }
