"""Compare two runs case by case: paired mean differences (B - A) with bootstrap intervals.

Only cases both runs scored for a metric are paired; wins, ties and losses count from B's side and
respect each metric's direction (for a lower-is-better metric a drop is a win).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from drafting.evaluation.formatting import signed
from drafting.evaluation.metrics.base import MetricMeta
from drafting.evaluation.rundir import Run, load_run
from drafting.evaluation.stats import paired_bootstrap

#: Differences smaller than this count as ties (float noise, identical replays).
TIE_TOLERANCE = 1e-9
#: Cases listed per metric as the ones that changed most.
TOP_CHANGED = 5


@dataclass
class ChangedCase:
    """A case whose value changed: A's value, B's and the difference B - A."""

    case_id: str
    a: float
    b: float
    diff: float


@dataclass
class MetricComparison:
    """One metric across two runs."""

    name: str
    section: str
    higher_is_better: bool
    n_paired: int
    mean_a: float | None
    mean_b: float | None
    mean_diff: float | None
    ci_low: float | None
    ci_high: float | None
    wins: int
    ties: int
    losses: int
    only_a: int
    only_b: int
    changed: list[ChangedCase] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """``better``/``worse`` when the interval excludes 0 (in the metric's direction), else ``same``."""
        if self.ci_low is None or self.ci_high is None or self.n_paired < 2:
            return "n/a" if self.n_paired == 0 else "same"
        sign = 1 if self.higher_is_better else -1
        lo, hi = sorted((sign * self.ci_low, sign * self.ci_high))
        if lo > 0:
            return "better"
        if hi < 0:
            return "worse"
        return "same"


@dataclass
class Comparison:
    """Run B compared with run A."""

    run_a: str
    run_b: str
    dir_a: str
    dir_b: str
    metrics: list[MetricComparison]
    cases_only_a: list[str]
    cases_only_b: list[str]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (with each metric's verdict)."""
        d = asdict(self)
        for m, obj in zip(d["metrics"], self.metrics, strict=True):
            m["verdict"] = obj.verdict
        return d

    def metric(self, name: str) -> MetricComparison:
        """The comparison of one metric.

        Raises:
            KeyError: The metric is in neither run.
        """
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)


def compare_runs(a: Run | str | Path, b: Run | str | Path, *, top: int = TOP_CHANGED) -> Comparison:
    """Compare run B against run A.

    Args:
        a: The reference run (or its directory).
        b: The new run (or its directory).
        top: Cases listed per metric as those that changed most.

    Returns:
        Per metric: means, the paired mean difference B - A with its 95% interval, wins/ties/losses
        and the cases that changed most.
    """
    run_a = a if isinstance(a, Run) else load_run(a)
    run_b = b if isinstance(b, Run) else load_run(b)
    meta = {**run_a.metric_meta(), **run_b.metric_meta()}
    names = list(dict.fromkeys([*_metric_names(run_a), *_metric_names(run_b)]))
    out: list[MetricComparison] = []
    for name in names:
        values_a, values_b = run_a.values(name), run_b.values(name)
        info = meta.get(name, MetricMeta())
        paired = paired_bootstrap(values_a, values_b)
        wins = ties = losses = 0
        for diff in paired.diffs.values():
            if abs(diff) <= TIE_TOLERANCE:
                ties += 1
            elif (diff > 0) == info.higher_is_better:
                wins += 1
            else:
                losses += 1
        changed = sorted(paired.diffs.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:top]
        out.append(
            MetricComparison(
                name=name,
                section=info.section or "other",
                higher_is_better=info.higher_is_better,
                n_paired=paired.n,
                mean_a=_mean(values_a),
                mean_b=_mean(values_b),
                mean_diff=paired.mean_diff,
                ci_low=paired.ci_low,
                ci_high=paired.ci_high,
                wins=wins,
                ties=ties,
                losses=losses,
                only_a=len(set(values_a) - set(values_b)),
                only_b=len(set(values_b) - set(values_a)),
                changed=[
                    ChangedCase(case_id=cid, a=values_a[cid], b=values_b[cid], diff=round(d, 10))
                    for cid, d in changed
                    if abs(d) > TIE_TOLERANCE
                ],
            )
        )
    ids_a = {row.case_id for row in run_a.results}
    ids_b = {row.case_id for row in run_b.results}
    return Comparison(
        run_a=run_a.id,
        run_b=run_b.id,
        dir_a=str(run_a.dir),
        dir_b=str(run_b.dir),
        metrics=out,
        cases_only_a=sorted(ids_a - ids_b),
        cases_only_b=sorted(ids_b - ids_a),
    )


def _metric_names(run: Run) -> list[str]:
    names = list(run.summary.metrics) if run.summary is not None else []
    for row in run.results:
        names.extend(result.name for result in row.metrics)
    return list(dict.fromkeys(names))


def _mean(values: dict[str, float]) -> float | None:
    return round(sum(values.values()) / len(values), 10) if values else None


def render_comparison_html(comp: Comparison) -> str:
    """The comparison as a self-contained HTML page (autoescaped, no scripts)."""
    from drafting.evaluation.report_html import environment

    return environment().get_template("compare.html.j2").render(
        comp=comp, metrics=[(m, m.verdict) for m in comp.metrics], signed=signed
    )
