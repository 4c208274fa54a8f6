"""``report.html``: one self-contained page per run (inline CSS and SVG; no scripts, no CDN).

Rendered with jinja2 with autoescaping on, so case text, drafts and model replies are inert text
in the page whatever they contain. The plots are SVG built here from numbers only.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from drafting.evaluation.formatting import fmt
from drafting.evaluation.records import MetricSummary, RunSummary
from drafting.evaluation.rundir import Run
from drafting.schema import Case

log = logging.getLogger(__name__)

PLOT_WIDTH = 1100
ROW_HEIGHT = 46
LABEL_WIDTH = 290
PAD = 20


@lru_cache(maxsize=1)
def environment() -> Any:
    """The jinja2 environment over ``drafting/evaluation/templates`` (autoescape on).

    One per process: it keeps the compiled template (compiling costs ~50 ms per run otherwise).
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("drafting.evaluation", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    return env


def strip_plot(
    metrics: Sequence[tuple[str, Mapping[str, float], MetricSummary]],
) -> dict[str, Any]:
    """Geometry of one section's plot: a row per metric, a dot per case, box and mean with CI.

    Args:
        metrics: (name, case id -> value, summary entry) per metric.

    Returns:
        width, height and rows (label, axis ticks, points, box, mean, ci), numbers only.
    """
    import numpy as np

    inner = PLOT_WIDTH - LABEL_WIDTH - 2 * PAD
    rows = []
    for i, (name, values, summ) in enumerate(metrics):
        vals = [values[k] for k in sorted(values)]
        lo, hi = 0.0, 1.0
        if vals and (min(vals) < 0 or max(vals) > 1):
            lo, hi = float(min(vals)), float(max(vals))
            if hi == lo:
                hi = lo + 1.0

        def x(v: float, lo: float = lo, hi: float = hi) -> float:
            return round(LABEL_WIDTH + PAD + (v - lo) / (hi - lo) * inner, 2)

        y0 = PAD + i * ROW_HEIGHT
        mid = y0 + ROW_HEIGHT / 2
        points = []
        for case_id in sorted(values):
            # Deterministic vertical jitter from the case id, so reruns draw the same picture.
            j = int(hashlib.sha256(case_id.encode()).hexdigest()[:4], 16) / 0xFFFF - 0.5
            points.append({"x": x(values[case_id]), "y": round(mid + j * 10, 2), "id": case_id,
                           "v": fmt(values[case_id])})
        box = None
        if len(vals) >= 2:
            q1, med, q3 = (float(q) for q in np.quantile(vals, [0.25, 0.5, 0.75]))
            box = {"x1": x(q1), "x2": x(q3), "med": x(med), "y": mid - 9, "h": 18}
        mean = summ.mean
        ci = None
        if summ.ci_low is not None and summ.ci_high is not None:
            ci = {"x1": x(summ.ci_low), "x2": x(summ.ci_high)}
        rows.append({
            "name": name,
            "y": y0,
            "mid": mid,
            "x0": x(lo),
            "x1": x(hi),
            "lo": fmt(lo, 2),
            "hi": fmt(hi, 2),
            "points": points,
            "box": box,
            "mean": x(mean) if mean is not None else None,
            "ci": ci,
        })
    height = 2 * PAD + ROW_HEIGHT * max(1, len(rows)) + 12
    return {"width": PLOT_WIDTH, "height": height, "rows": rows}


def render_report(run: Run, *, cases: Mapping[str, Case] | None = None) -> str:
    """The report page of a run as HTML text.

    Args:
        run: The run (with its summary).
        cases: The cases by id for the input and gold columns; loaded from the suite's case
            source when not given (cases that cannot be found show the draft only).
    """
    if cases is None:
        cases = _load_cases(run)
    summary = run.summary if run.summary is not None else RunSummary()
    plots = []
    for section, names in summary.sections.items():
        data = [(n, run.values(n), summary.metrics.get(n, MetricSummary())) for n in names]
        if any(values for _, values, _ in data):
            plots.append({"section": section, "plot": strip_plot(data)})
    case_views = [
        {
            "row": row,
            "case": cases.get(row.case_id),
            "draft": row.draft.report if row.draft is not None else None,
            "provenance": row.draft.provenance if row.draft is not None else None,
        }
        for row in run.results
    ]
    suite = run.config.suite if run.config is not None else None
    return environment().get_template("report.html.j2").render(
        run_id=run.id,
        suite_name=suite.name if suite is not None else "?",
        drafter=suite.drafter if suite is not None else None,
        fixtures_mode=suite.fixtures.mode if suite is not None else "",
        config=run.config,
        summary=summary,
        metrics=summary.metrics,
        thresholds=summary.thresholds,
        gate=_threshold_marks(summary.metrics, summary.thresholds),
        plots=plots,
        cases=case_views,
    )


def _threshold_marks(
    metrics: Mapping[str, MetricSummary], thresholds: Mapping[str, float]
) -> dict[str, str]:
    marks: dict[str, str] = {}
    for name, limit in thresholds.items():
        summ = metrics.get(name)
        if summ is None or summ.mean is None:
            continue
        ok = summ.mean >= limit if summ.higher_is_better else summ.mean <= limit
        marks[name] = "pass" if ok else "fail"
    return marks


def write_report(run: Run, path: str | Path, *, cases: Mapping[str, Case] | None = None) -> Path:
    """Render the report and write it to ``path``."""
    out = Path(path)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_report(run, cases=cases), encoding="utf-8")
    tmp.replace(out)
    return out


def _load_cases(run: Run) -> dict[str, Case]:
    if run.config is None:
        return {}
    from drafting.errors import InputError
    from drafting.evaluation.suite import load_case_source

    try:
        cases, _ = load_case_source(run.config.suite.cases)
    except (InputError, ValueError) as exc:
        log.warning("report without case input and gold: %s", exc)
        return {}
    return {c.id: c for c in cases}
