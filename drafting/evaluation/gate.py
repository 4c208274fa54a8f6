"""The CI gate: a run passes when it meets its thresholds and is not significantly worse than a
baseline.

- Threshold: the metric's mean must be at least the threshold (at most, for a lower-is-better
  metric). ``case_failure_rate`` is the largest share of cases allowed to fail drafting.
- Baseline, paired (the run and the baseline share cases): fail when the paired-bootstrap 95%
  interval of the difference (run - baseline) lies entirely on the worse side of 0.
- Baseline, unpaired (no shared cases): fail when the mean is worse than the baseline mean by more
  than ``tolerance``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drafting.errors import ConfigError
from drafting.evaluation.rundir import Run, load_run, read_json, write_json
from drafting.evaluation.stats import paired_bootstrap
from drafting.evaluation.suite import CASE_FAILURE_RATE

#: Allowed drop of an unpaired mean below the baseline mean.
DEFAULT_TOLERANCE = 0.02
BASELINE_FORMAT = 1


@dataclass
class Check:
    """One gate check."""

    metric: str
    kind: str  # "threshold" or "baseline"
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
        """A readable multi-line verdict naming each failing metric."""
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
    r = _as_run(run)
    metrics: dict[str, Any] = {}
    for name, m in (r.summary.get("metrics") or {}).items():
        metrics[name] = {
            "mean": m.get("mean"),
            "ci_low": m.get("ci_low"),
            "ci_high": m.get("ci_high"),
            "n": m.get("n"),
            "section": m.get("section"),
            "higher_is_better": m.get("higher_is_better", True),
            "values": r.values(name),
        }
    data = {
        "format": BASELINE_FORMAT,
        "suite": r.suite_name,
        "run_id": r.id,
        "config_hash": r.config.get("config_hash", ""),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cases": r.summary.get("cases", {}),
        "metrics": metrics,
    }
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, data)
    return path


def load_baseline(path: str | Path) -> dict[str, Any]:
    """Read a baseline file.

    Raises:
        ConfigError: Missing, not JSON, or not a baseline.
    """
    data = read_json(Path(path))
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise ConfigError("not a baseline file (no 'metrics' mapping)", path=path)
    return data


def check_run(
    run: Run | str | Path,
    *,
    thresholds: Mapping[str, float] | None = None,
    baseline: str | Path | Mapping[str, Any] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> GateResult:
    """Gate a run on thresholds and, optionally, a baseline.

    Args:
        run: The run or its directory.
        thresholds: metric -> limit; default: the suite's thresholds recorded in the run.
        baseline: A baseline file (or its loaded data).
        tolerance: Allowed drop below the baseline mean when no case pairs.

    Returns:
        The checks and the verdict.
    """
    r = _as_run(run)
    summary = r.summary or {}
    metrics = summary.get("metrics") or {}
    if thresholds is None:
        thresholds = summary.get("thresholds") or (r.config.get("suite") or {}).get("thresholds", {})
    result = GateResult(run=r.id)
    for name, limit in (thresholds or {}).items():
        result.checks.append(_threshold_check(name, float(limit), metrics, summary))
    if baseline is not None:
        base = baseline if isinstance(baseline, Mapping) else load_baseline(baseline)
        for name, b in (base.get("metrics") or {}).items():
            result.checks.append(_baseline_check(name, b, r, metrics, tolerance))
    return result


def _threshold_check(
    name: str, limit: float, metrics: Mapping[str, Any], summary: Mapping[str, Any]
) -> Check:
    if name == CASE_FAILURE_RATE:
        cases = summary.get("cases") or {}
        total = int(cases.get("total") or 0)
        rate = (int(cases.get("failed") or 0) / total) if total else 1.0
        ok = rate <= limit
        return Check(name, "threshold", ok,
                     f"{rate:.3f} of cases failed (at most {limit:.3f} allowed)")
    m = metrics.get(name)
    if not m or m.get("mean") is None:
        return Check(name, "threshold", False, "no scored values in this run")
    mean = float(m["mean"])
    hib = m.get("higher_is_better", True)
    ok = mean >= limit if hib else mean <= limit
    rel = "at least" if hib else "at most"
    return Check(name, "threshold", ok, f"mean {mean:.3f} (threshold: {rel} {limit:.3f})")


def _baseline_check(
    name: str, b: Mapping[str, Any], r: Run, metrics: Mapping[str, Any], tolerance: float
) -> Check:
    hib = bool(b.get("higher_is_better", True))
    base_values = {str(k): float(v) for k, v in (b.get("values") or {}).items()}
    values = r.values(name)
    m = metrics.get(name)
    if not values or not m or m.get("mean") is None:
        if b.get("mean") is None:
            return Check(name, "baseline", True, "not scored in the run or the baseline")
        return Check(name, "baseline", False, "scored in the baseline but not in this run")
    paired = sorted(set(values) & set(base_values))
    if len(paired) >= 2:
        pb = paired_bootstrap(base_values, values)
        sign = 1 if hib else -1
        lo, hi = sorted((sign * pb["ci_low"], sign * pb["ci_high"]))
        worse = hi < 0
        text = (f"mean difference {pb['mean_diff']:+.3f} vs baseline over {pb['n']} paired cases, "
                f"95% interval {pb['ci_low']:+.3f} to {pb['ci_high']:+.3f}")
        return Check(name, "baseline", not worse,
                     text + (" (significantly worse)" if worse else ""))
    base_mean = b.get("mean")
    if base_mean is None:
        return Check(name, "baseline", True, "no baseline mean to compare with")
    mean = float(m["mean"])
    drop = (base_mean - mean) if hib else (mean - base_mean)
    ok = drop <= tolerance
    return Check(name, "baseline", ok,
                 f"mean {mean:.3f} vs baseline {base_mean:.3f} (unpaired; tolerance {tolerance})")


def assert_run_passes(
    run: Run | str | Path,
    thresholds: Mapping[str, float] | None = None,
    baseline: str | Path | Mapping[str, Any] | None = None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> GateResult:
    """Assert that a run passes its gate, for use in a user's own pytest suite.

    Args:
        run: A run or its directory.
        thresholds: metric -> limit; default: the suite's thresholds.
        baseline: A baseline file or its data.
        tolerance: Allowed unpaired drop below the baseline mean.

    Returns:
        The gate result, when it passed.

    Raises:
        AssertionError: Naming each failing metric with its mean, limit or interval.
    """
    result = check_run(run, thresholds=thresholds, baseline=baseline, tolerance=tolerance)
    if not result.passed:
        raise AssertionError(result.message())
    return result
