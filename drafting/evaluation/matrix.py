"""Matrix runs: every combination of prompt versions and models run as one variant each, and one
table of metrics by variant with the best variant per metric marked (as promptfoo's matrix does).

Variants run one after the other, each into its own run directory. They share what does not
change: recorded exchanges are keyed by request bytes, so a stage whose prompt a variant does not
change replays (or records once) the same fixtures, and query embeddings come from the on-disk
embedding cache after the first variant.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from drafting.errors import ConfigError
from drafting.evaluation.compare_context import SMALL_PAIRING
from drafting.evaluation.rundir import Run, load_run
from drafting.evaluation.suite import Suite

#: More variants than this is almost surely a typo (and hours of drafting).
MAX_VARIANTS = 24


@dataclass
class Variant:
    """One combination: stage -> prompt version overrides and a model override (None: the
    suite's)."""

    prompts: dict[str, str] = field(default_factory=dict)
    model: str | None = None

    @property
    def label(self) -> str:
        """``diagnosis=v2 model=x``; ``suite config`` when nothing is overridden."""
        parts = [f"{stage}={version}" for stage, version in self.prompts.items()]
        if self.model:
            parts.append(f"model={self.model}")
        return " ".join(parts) or "suite config"


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def expand_variants(prompt_items: Sequence[str], models: Sequence[str] = ()) -> list[Variant]:
    """Every combination of ``stage=v1,v2`` items and comma-separated models.

    Args:
        prompt_items: ``stage=version[,version...]`` items (a stage given twice is an error).
        models: Model names, each item possibly comma-separated.

    Returns:
        The variants in a stable order (prompt stages in the order given, then models).

    Raises:
        ConfigError: A malformed item, a repeated stage or version, or too many variants.
    """
    axes: list[tuple[str, list[str]]] = []
    for item in prompt_items:
        stage, sep, versions = item.partition("=")
        stage = stage.strip()
        values = _split(versions)
        if not sep or not stage or not values:
            raise ConfigError(f"expected stage=version[,version...], got '{item}'", field="--prompt")
        if any(stage == s for s, _ in axes):
            raise ConfigError(f"stage '{stage}' given twice; list its versions once, comma-separated",
                              field="--prompt")
        if len(set(values)) != len(values):
            raise ConfigError(f"a version is repeated in '{item}'", field="--prompt")
        axes.append((stage, values))
    model_values = [m for item in models for m in _split(item)]
    if len(set(model_values)) != len(model_values):
        raise ConfigError("a model is repeated", field="--model")
    prompt_combos = list(itertools.product(*(values for _, values in axes))) or [()]
    model_axis: list[str | None] = list(model_values) or [None]
    variants = [
        Variant(prompts={stage: v for (stage, _), v in zip(axes, combo, strict=True)}, model=m)
        for combo in prompt_combos
        for m in model_axis
    ]
    if len(variants) > MAX_VARIANTS:
        raise ConfigError(f"{len(variants)} variants is more than {MAX_VARIANTS}; run fewer at once")
    return variants


def run_matrix(suite: str | Path | Suite, variants: Sequence[Variant], **options: Any) -> list[Run]:
    """Run a suite once per variant, one after the other (see `run_suite` for ``options``).

    Returns:
        The runs, in variant order.
    """
    from drafting.evaluation.runner import run_suite

    if options.get("resume") is not None:
        raise ConfigError("--resume finishes one run; it cannot be combined with a matrix")
    return [
        run_suite(suite, prompts=v.prompts or None, model=v.model, **options) for v in variants
    ]


@dataclass
class Cell:
    """One metric of one variant: mean, 95% interval, scored cases and whether it is the best."""

    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    best: bool = False


@dataclass
class MatrixRow:
    """One metric across the variants."""

    name: str
    section: str
    higher_is_better: bool
    cells: list[Cell]


@dataclass
class Matrix:
    """Metrics by variant.

    Attributes:
        labels: One label per run: the settings that differ between the runs (run id when none).
        runs: The run ids, in the same order.
        run_dirs: The run directories.
        cases: Cases per run (total, failed).
        rows: One row per metric.
        warnings: Why the table may mislead (different case sets, a run with no scored case).
    """

    labels: list[str]
    runs: list[str]
    run_dirs: list[str]
    cases: list[tuple[int, int]]
    rows: list[MatrixRow]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return asdict(self)


def _settings(run: Run) -> dict[str, str]:
    if run.config is None:
        return {}
    out = {stage: rec.version for stage, rec in sorted(run.config.prompts.items())}
    model = (run.config.endpoint or {}).get("model") or run.config.suite.drafter.model or ""
    out["model"] = str(model)
    out["k"] = str(run.config.suite.drafter.k)
    out["retrieval"] = run.config.suite.drafter.retrieval_mode
    return out


def variant_labels(runs: Sequence[Run]) -> list[str]:
    """A label per run naming only the settings that differ between the runs."""
    settings = [_settings(r) for r in runs]
    keys = sorted({k for s in settings for k in s})
    varying = [k for k in keys if len({s.get(k, "") for s in settings}) > 1]
    labels = [" ".join(f"{k}={s.get(k, '?')}" for k in varying) or r.id
              for r, s in zip(runs, settings, strict=True)]
    # Two runs with the same settings (a rerun) keep apart by their ids.
    return [lab if labels.count(lab) == 1 else f"{lab} ({r.id})" for lab, r in zip(labels, runs,
                                                                                 strict=True)]


def build_matrix(runs: Sequence[Run | str | Path]) -> Matrix:
    """One table of metrics by variant from finished runs.

    The best variant per metric (highest mean, or lowest for a lower-is-better metric) is marked;
    equal means are all marked. Metrics are in the first run's order, then any others.

    Raises:
        ConfigError: Fewer than one run, or a run directory that cannot be read.
    """
    loaded = [r if isinstance(r, Run) else load_run(r) for r in runs]
    if not loaded:
        raise ConfigError("give at least one run directory")
    names: list[str] = []
    for run in loaded:
        if run.summary is not None:
            names.extend(n for n in run.summary.metrics if n not in names)
    rows: list[MatrixRow] = []
    for name in names:
        summaries = [r.summary.metrics.get(name) if r.summary else None for r in loaded]
        first = next(s for s in summaries if s is not None)
        cells = [
            Cell(s.mean, s.ci_low, s.ci_high, s.n) if s is not None else Cell(None, None, None, 0)
            for s in summaries
        ]
        means = [c.mean for c in cells if c.mean is not None]
        if len(means) > 1:
            best = max(means) if first.higher_is_better else min(means)
            if not all(abs(m - best) <= 1e-9 for m in means):  # all equal: no best
                for c in cells:
                    c.best = c.mean is not None and abs(c.mean - best) <= 1e-9
        rows.append(MatrixRow(name, first.section, first.higher_is_better, cells))
    warnings = []
    case_sets = {frozenset(row.case_id for row in r.results) for r in loaded}
    if len(case_sets) > 1:
        warnings.append("the runs drafted different case sets: means are not directly comparable")
    for label, run in zip(variant_labels(loaded), loaded, strict=True):
        if run.summary is None or not any(m.n for m in run.summary.metrics.values()):
            warnings.append(f"{label} ({run.id}) has no scored case")
    scored = [c.n for row in rows for c in row.cells if c.n]
    if scored and max(scored) < SMALL_PAIRING:
        warnings.append(f"at most {max(scored)} scored case(s) per variant: means and intervals "
                        f"this small a sample are unreliable (want at least {SMALL_PAIRING})")
    return Matrix(
        labels=variant_labels(loaded),
        runs=[r.id for r in loaded],
        run_dirs=[str(r.dir) for r in loaded],
        cases=[(r.summary.cases.total, r.summary.cases.failed) if r.summary else (len(r.results), 0)
               for r in loaded],
        rows=rows,
        warnings=warnings,
    )


def render_matrix_html(matrix: Matrix) -> str:
    """The matrix as a self-contained HTML page (autoescaped, no scripts)."""
    from drafting.evaluation.report_html import environment

    return environment().get_template("matrix.html.j2").render(m=matrix)
