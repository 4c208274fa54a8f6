"""Compare two runs case by case: paired mean differences (B - A) with bootstrap intervals.

Only cases both runs scored for a metric are paired; wins, ties and losses count from B's side and
respect each metric's direction (for a lower-is-better metric a drop is a win).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from drafting.evaluation.rundir import Run, load_run
from drafting.evaluation.stats import paired_bootstrap

#: Differences smaller than this count as ties (float noise, identical replays).
TIE_TOLERANCE = 1e-9
#: Cases listed per metric as the ones that changed most.
TOP_CHANGED = 5


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
    changed: list[dict[str, Any]] = field(default_factory=list)

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
    ra = a if isinstance(a, Run) else load_run(a)
    rb = b if isinstance(b, Run) else load_run(b)
    meta = {**ra.metric_meta(), **rb.metric_meta()}
    names = list(dict.fromkeys([*_metric_names(ra), *_metric_names(rb)]))
    out: list[MetricComparison] = []
    for name in names:
        va, vb = ra.values(name), rb.values(name)
        info = meta.get(name, {})
        hib = bool(info.get("higher_is_better", True))
        pb = paired_bootstrap(va, vb)
        wins = ties = losses = 0
        for d in pb["diffs"].values():
            if abs(d) <= TIE_TOLERANCE:
                ties += 1
            elif (d > 0) == hib:
                wins += 1
            else:
                losses += 1
        changed = sorted(pb["diffs"].items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:top]
        out.append(
            MetricComparison(
                name=name,
                section=str(info.get("section") or "other"),
                higher_is_better=hib,
                n_paired=pb["n"],
                mean_a=_mean(va),
                mean_b=_mean(vb),
                mean_diff=pb["mean_diff"],
                ci_low=pb["ci_low"],
                ci_high=pb["ci_high"],
                wins=wins,
                ties=ties,
                losses=losses,
                only_a=len(set(va) - set(vb)),
                only_b=len(set(vb) - set(va)),
                changed=[
                    {"case_id": cid, "a": va[cid], "b": vb[cid], "diff": round(d, 10)}
                    for cid, d in changed
                    if abs(d) > TIE_TOLERANCE
                ],
            )
        )
    ids_a = {str(r["case_id"]) for r in ra.results}
    ids_b = {str(r["case_id"]) for r in rb.results}
    return Comparison(
        run_a=ra.id,
        run_b=rb.id,
        dir_a=str(ra.dir),
        dir_b=str(rb.dir),
        metrics=out,
        cases_only_a=sorted(ids_a - ids_b),
        cases_only_b=sorted(ids_b - ids_a),
    )


def _metric_names(run: Run) -> list[str]:
    names = list((run.summary.get("metrics") or {}).keys())
    for row in run.results:
        names.extend(m["name"] for m in row.get("metrics") or [])
    return list(dict.fromkeys(names))


def _mean(values: dict[str, float]) -> float | None:
    return round(sum(values.values()) / len(values), 10) if values else None


def comparison_table(comp: Comparison) -> Any:
    """The comparison as a rich table."""
    from rich.box import SIMPLE_HEAD
    from rich.table import Table

    from drafting.cli._common import escape
    from drafting.evaluation.report_html import fmt

    table = Table(title=f"B {escape(comp.run_b)} vs A {escape(comp.run_a)}", title_justify="left",
                  box=SIMPLE_HEAD, pad_edge=False)
    table.add_column("metric", overflow="fold", ratio=1)
    for col in ("n", "mean A", "mean B", "B - A", "95% interval", "W/T/L", "verdict"):
        table.add_column(col, justify="left" if col == "verdict" else "right", no_wrap=True)
    style = {"better": "green", "worse": "red"}
    for m in comp.metrics:
        ci = f"{fmt(m.ci_low)}–{fmt(m.ci_high)}" if m.ci_low is not None else "–"
        v = m.verdict
        table.add_row(
            escape(m.name), str(m.n_paired), fmt(m.mean_a), fmt(m.mean_b),
            _signed(m.mean_diff), ci, f"{m.wins}/{m.ties}/{m.losses}",
            f"[{style[v]}]{v}[/]" if v in style else v,
        )
    return table


def _signed(x: float | None) -> str:
    return "–" if x is None else f"{x:+.3f}"


def render_comparison_html(comp: Comparison) -> str:
    """The comparison as a self-contained HTML page (autoescaped, no scripts)."""
    from drafting.evaluation.report_html import environment

    return environment().get_template("compare.html.j2").render(
        comp=comp, metrics=[(m, m.verdict) for m in comp.metrics], signed=_signed
    )
