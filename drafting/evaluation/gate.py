"""The CI gate: a run passes when its cases drafted, it meets its thresholds and it is not worse
than a baseline by a real margin.

- Cases: a run with no scored case always fails; a run with failed cases fails unless the suite
  allows a failure rate (``gate: {max_failure_rate: 0.1}``). The failing cases are named.
- Threshold: the metric's mean must be at least the threshold (at most, for a lower-is-better
  metric). ``case_failure_rate`` is also accepted as a threshold (the older spelling).
- Baseline, paired (the run and the baseline share cases): fail when the paired-bootstrap 95%
  interval of the difference (run - baseline) lies entirely on the worse side of 0 AND the mean
  difference is worse by at least the metric's minimum effect (default 0.02 on [0, 1] metrics).
- Baseline, unpaired (no shared cases): fail when the mean is worse than the baseline mean by more
  than the minimum effect.
- Cost metrics (tokens, seconds) are gated by explicit thresholds only, never by the baseline,
  unless the suite sets ``gate: {baseline_cost: true}``: recorded latency is not a regression.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from drafting.evaluation.records import Baseline, BaselineMetric, MetricSummary, RunSummary
from drafting.evaluation.rundir import Run, load_run, read_record, write_record
from drafting.evaluation.stats import paired_bootstrap
from drafting.evaluation.suite import CASE_FAILURE_RATE, GateConfig

#: Failed cases named in a gate message before "and N more".
NAMED_FAILURES = 10


@dataclass
class Check:
    """One gate check."""

    metric: str
    kind: Literal["cases", "threshold", "baseline"]
    passed: bool
    message: str


@dataclass
class GateResult:
    """All checks of a run; `passed` when every one passed."""

    run: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when no check failed."""
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if not c.passed]

    def message(self) -> str:
        """A readable multi-line verdict naming each failing check."""
        if self.passed:
            return f"run {self.run} passed {len(self.checks)} check(s)"
        lines = [f"run {self.run} failed {len(self.failures)} of {len(self.checks)} check(s):"]
        lines += [f"  - {c.metric}: {c.message}" for c in self.failures]
        return "\n".join(lines)


def _as_run(run: Run | str | Path) -> Run:
    return run if isinstance(run, Run) else load_run(run)


def write_baseline(run: Run | str | Path, out: str | Path) -> Path:
    """Write a baseline file from a run: per metric mean, interval, n and per-case values.

    Returns:
        The file written.
    """
    source = _as_run(run)
    summary = source.summary if source.summary is not None else RunSummary()
    baseline = Baseline(
        suite=source.suite_name,
        run_id=source.id,
        config_hash=source.config.config_hash if source.config is not None else "",
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        cases=summary.cases,
        metrics={
            name: BaselineMetric(
                mean=summ.mean,
                ci_low=summ.ci_low,
                ci_high=summ.ci_high,
                n=summ.n,
                section=summ.section,
                higher_is_better=summ.higher_is_better,
                bounded=summ.bounded,
                values=source.values(name),
            )
            for name, summ in summary.metrics.items()
        },
    )
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_record(path, baseline)
    return path


def load_baseline(path: str | Path) -> Baseline:
    """Read a baseline file.

    Raises:
        ConfigError: Missing, not JSON, or not a baseline.
        RecordFormatError: A baseline format this drafting does not read.
    """
    return read_record(Path(path), Baseline, what="baseline")


def check_run(
    run: Run | str | Path,
    *,
    thresholds: Mapping[str, float] | None = None,
    baseline: str | Path | Baseline | None = None,
    gate: GateConfig | None = None,
    min_effect: float | None = None,
) -> GateResult:
    """Gate a run on its cases, thresholds and, optionally, a baseline.

    Args:
        run: The run or its directory.
        thresholds: metric -> limit; default: the suite's thresholds recorded in the run.
        baseline: A baseline file (or a loaded `Baseline`).
        gate: Gate settings; default: the suite's, recorded in the run.
        min_effect: Overrides the gate's default minimum effect on [0, 1] metrics.

    Returns:
        The checks and the verdict.
    """
    source = _as_run(run)
    summary = source.summary if source.summary is not None else RunSummary()
    if gate is None:
        gate = source.config.suite.gate if source.config is not None else GateConfig()
    if min_effect is not None:
        gate = gate.model_copy(update={"min_effect": min_effect})
    if thresholds is None:
        thresholds = summary.thresholds or (
            source.config.suite.thresholds if source.config is not None else {}
        )
    result = GateResult(run=source.id)
    result.checks += _case_checks(source, gate)
    for name, limit in thresholds.items():
        result.checks.append(_threshold_check(name, float(limit), summary))
    if baseline is not None:
        base = baseline if isinstance(baseline, Baseline) else load_baseline(baseline)
        for name, base_metric in base.metrics.items():
            result.checks.append(_baseline_check(name, base_metric, source, gate))
    return result


def _case_checks(run: Run, gate: GateConfig) -> list[Check]:
    """No scored case always fails; failed cases fail beyond the allowed rate. Names them."""
    total = len(run.results)
    failed = [row for row in run.results if row.status == "failed"]
    scored = [
        row for row in run.results
        if row.status == "ok" and any(m.status == "scored" for m in row.metrics)
    ]
    named = ", ".join(
        f"{row.case_id} ({row.error.type if row.error else 'failed'})"
        for row in failed[:NAMED_FAILURES]
    )
    if len(failed) > NAMED_FAILURES:
        named += f" and {len(failed) - NAMED_FAILURES} more"
    checks = [
        Check(
            "scored cases", "cases", bool(scored),
            f"{len(scored)} of {total} cases scored"
            + ("" if scored else f"; nothing to judge the run by{': ' + named if named else ''}"),
        )
    ]
    rate = len(failed) / total if total else 0.0
    allowed = gate.max_failure_rate
    ok = rate <= allowed + 1e-12
    message = f"{len(failed)} of {total} cases failed (at most {allowed:.0%} allowed)"
    if failed:
        message += f": {named}"
    checks.append(Check("failed cases", "cases", ok, message))
    return checks


def _threshold_check(name: str, limit: float, summary: RunSummary) -> Check:
    if name == CASE_FAILURE_RATE:
        total = summary.cases.total
        rate = summary.cases.failed / total if total else 1.0
        return Check(name, "threshold", rate <= limit,
                     f"{rate:.3f} of cases failed (at most {limit:.3f} allowed)")
    summ = summary.metrics.get(name)
    if summ is None or summ.mean is None:
        return Check(name, "threshold", False, "no scored values in this run")
    higher = summ.higher_is_better
    ok = summ.mean >= limit if higher else summ.mean <= limit
    relation = "at least" if higher else "at most"
    return Check(name, "threshold", ok, f"mean {summ.mean:.3f} (threshold: {relation} {limit:.3f})")


def metric_min_effect(name: str, bounded: bool, gate: GateConfig) -> float:
    """The smallest worsening that can fail a metric: per metric, else the default on [0, 1]
    metrics, else 0 (significance alone)."""
    if name in gate.metric_min_effect:
        return gate.metric_min_effect[name]
    return gate.min_effect if bounded else 0.0


def _baseline_check(name: str, base: BaselineMetric, run: Run, gate: GateConfig) -> Check:
    summary = run.summary if run.summary is not None else RunSummary()
    summ: MetricSummary | None = summary.metrics.get(name)
    section = summ.section if summ is not None else base.section
    if section == "cost" and not gate.baseline_cost:
        return Check(name, "baseline", True,
                     "not compared with the baseline (cost metrics are gated by thresholds only)")
    values = run.values(name)
    if not values or summ is None or summ.mean is None:
        if base.mean is None:
            return Check(name, "baseline", True, "not scored in the run or the baseline")
        return Check(name, "baseline", False, "scored in the baseline but not in this run")
    effect = metric_min_effect(name, base.bounded and summ.bounded, gate)
    sign = 1 if base.higher_is_better else -1
    paired_ids = set(values) & set(base.values)
    paired = paired_bootstrap(base.values, values) if len(paired_ids) >= 2 else None
    if paired is not None and paired.ci_low is not None and paired.ci_high is not None:
        diff = paired.mean_diff or 0.0
        significant = max(sign * paired.ci_low, sign * paired.ci_high) < 0
        worse = significant and -sign * diff >= effect
        text = (f"mean difference {diff:+.3f} vs baseline over {paired.n} paired cases, "
                f"95% interval {paired.ci_low:+.3f} to {paired.ci_high:+.3f}, "
                f"minimum effect {effect:g}")
        if worse:
            text += " (significantly worse)"
        elif significant:
            text += " (below the minimum effect)"
        return Check(name, "baseline", not worse, text)
    if base.mean is None:
        return Check(name, "baseline", True, "no baseline mean to compare with")
    drop = sign * (base.mean - summ.mean)
    return Check(name, "baseline", drop <= effect,
                 f"mean {summ.mean:.3f} vs baseline {base.mean:.3f} "
                 f"(unpaired; minimum effect {effect:g})")


def assert_run_passes(
    run: Run | str | Path,
    thresholds: Mapping[str, float] | None = None,
    baseline: str | Path | Baseline | None = None,
    *,
    min_effect: float | None = None,
) -> GateResult:
    """Assert that a run passes its gate, for use in a user's own pytest suite.

    Args:
        run: A run or its directory.
        thresholds: metric -> limit; default: the suite's thresholds.
        baseline: A baseline file or a loaded `Baseline`.
        min_effect: Overrides the suite's default minimum effect on [0, 1] metrics.

    Returns:
        The gate result, when it passed.

    Raises:
        AssertionError: Naming each failing check with its mean, limit, interval or cases.
    """
    result = check_run(run, thresholds=thresholds, baseline=baseline, min_effect=min_effect)
    if not result.passed:
        raise AssertionError(result.message())
    return result
