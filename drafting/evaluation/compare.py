"""Compare two runs case by case: paired mean differences (B - A) with bootstrap intervals.

Only cases both runs scored for a metric are paired; wins, ties and losses count from B's side and
respect each metric's direction (for a lower-is-better metric a drop is a win). A comparison also
states what differs between the two runs' configs, warns when it cannot be trusted (a side with no
scored case, a small pairing) and carries the drafts of the cases that changed most
(`drafting.evaluation.compare_context`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from drafting.evaluation.compare_context import (
    ConfigItem,
    DraftPair,
    changed_drafts,
    comparison_warnings,
    config_items,
)
from drafting.evaluation.formatting import fmt, signed
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
    bounded: bool
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
    diffs: dict[str, float] = field(default_factory=dict)

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
    config: list[ConfigItem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    drafts: list[DraftPair] = field(default_factory=list)

    @property
    def changed_config(self) -> list[ConfigItem]:
        """The settings that differ between the two runs."""
        return [item for item in self.config if item.differs]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (with each metric's verdict)."""
        d = asdict(self)
        for m, metric in zip(d["metrics"], self.metrics, strict=True):
            m["verdict"] = metric.verdict
        for item, setting in zip(d["config"], self.config, strict=True):
            item["differs"] = setting.differs
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
                bounded=info.bounded,
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
                diffs={cid: round(d, 10) for cid, d in sorted(paired.diffs.items())},
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
        config=config_items(run_a.config, run_b.config),
        warnings=comparison_warnings(run_a, run_b, max((m.n_paired for m in out), default=0)),
        drafts=changed_drafts(
            run_a, run_b, {m.name: m.diffs for m in out}, [m.name for m in out if m.bounded]
        ),
    )


def _metric_names(run: Run) -> list[str]:
    names = list(run.summary.metrics) if run.summary is not None else []
    for row in run.results:
        names.extend(result.name for result in row.metrics)
    return list(dict.fromkeys(names))


def _mean(values: dict[str, float]) -> float | None:
    return round(sum(values.values()) / len(values), 10) if values else None


PLOT_WIDTH = 1100
ROW_HEIGHT = 44
LABEL_WIDTH = 300
STATS_WIDTH = 150
PAD = 16


def difference_plot(metrics: list[MetricComparison]) -> dict[str, Any]:
    """Geometry of the comparison plot, numbers only: a row per metric with the per-case
    differences B - A as dots, the mean difference as a diamond and its interval as a bar, on an
    axis symmetric around 0 (right of 0 is an increase, whatever the metric's direction).

    Args:
        metrics: The compared metrics (those with no paired case are left out).

    Returns:
        width, height and rows (name, zero, x0/x1, axis labels, points, mean, ci, colour).
    """
    inner = PLOT_WIDTH - LABEL_WIDTH - STATS_WIDTH - 2 * PAD
    rows: list[dict[str, Any]] = []
    for m in (m for m in metrics if m.n_paired):
        values = [*m.diffs.values(), m.ci_low or 0.0, m.ci_high or 0.0]
        span = max(abs(v) for v in values) or 1.0
        if m.bounded:
            span = min(max(span, 0.05), 1.0)

        def x(v: float, span: float = span) -> float:
            return round(LABEL_WIDTH + PAD + (v + span) / (2 * span) * inner, 2)

        mid = PAD + len(rows) * ROW_HEIGHT + ROW_HEIGHT / 2
        points = [
            {"x": x(d), "y": round(mid + ((i * 7) % 13 - 6), 2), "id": cid, "v": signed(d)}
            for i, (cid, d) in enumerate(sorted(m.diffs.items()))
        ]
        verdict = m.verdict
        rows.append({
            "name": m.name + ("" if m.higher_is_better else " (lower is better)"),
            "mid": mid,
            "zero": x(0.0),
            "x0": x(-span),
            "x1": x(span),
            "lo": fmt(-span, 2),
            "hi": fmt(span, 2),
            "points": points,
            "mean": x(m.mean_diff) if m.mean_diff is not None else None,
            "ci": {"x1": x(m.ci_low), "x2": x(m.ci_high)}
            if m.ci_low is not None and m.ci_high is not None else None,
            "colour": {"better": "#1a7f37", "worse": "#c62828"}.get(verdict, "#5b6575"),
            "stats": f"{signed(m.mean_diff)}   W/T/L {m.wins}/{m.ties}/{m.losses}",
            "stats_x": PLOT_WIDTH - STATS_WIDTH + 4,
        })
    height = 2 * PAD + ROW_HEIGHT * max(1, len(rows)) + 10
    return {"width": PLOT_WIDTH, "height": height, "rows": rows}


def render_comparison_html(comp: Comparison) -> str:
    """The comparison as a self-contained HTML page (autoescaped, no scripts)."""
    from drafting.evaluation.report_html import environment

    return environment().get_template("compare.html.j2").render(
        comp=comp, metrics=[(m, m.verdict) for m in comp.metrics], signed=signed,
        plot=difference_plot(comp.metrics),
    )
