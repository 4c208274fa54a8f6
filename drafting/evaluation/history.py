"""Past runs: one line per run directory under a runs folder (suite, date, variant, cases,
failures, headline metrics), read from config.json and summary.json only."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from drafting.errors import ConfigError, RecordFormatError
from drafting.evaluation import rundir
from drafting.evaluation.records import RunConfig, RunSummary

#: Metrics shown for every run when the run has them (else its first three).
HEADLINE = (
    "diagnosis.top1_hit",
    "findings.semantic_similarity",
    "rehabilitation.semantic_similarity",
    "cost.tokens",
)


@dataclass
class RunListing:
    """One past run.

    Attributes:
        run_id: The directory name.
        dir: The run directory.
        suite: The suite's name.
        created_at: When the run started (ISO 8601, UTC).
        variant: Prompt versions and model, e.g. ``findings=v1 diagnosis=v2 rehabilitation=v1
            model=m``.
        cases: Cases in the run.
        failed: Cases that failed.
        finished: Whether summary.json exists (an interrupted run has none yet).
        headline: Headline metric -> mean.
        problem: Why the directory could not be read (then the other fields are empty).
    """

    run_id: str
    dir: str
    suite: str = ""
    created_at: str = ""
    variant: str = ""
    cases: int = 0
    failed: int = 0
    finished: bool = False
    headline: dict[str, float | None] = field(default_factory=dict)
    problem: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return asdict(self)


def _variant(config: RunConfig) -> str:
    parts = [f"{stage}={rec.version}" for stage, rec in config.prompts.items()]
    model = (config.endpoint or {}).get("model") or config.suite.drafter.model
    if model:
        parts.append(f"model={model}")
    if config.draft_fn != "default":
        parts.append(f"draft_fn={config.draft_fn}")
    return " ".join(parts)


def _listing(d: Path) -> RunListing:
    item = RunListing(run_id=d.name, dir=str(d))
    try:
        config = rundir.read_record(d / rundir.CONFIG, RunConfig, what="config")
        summary = (rundir.read_record(d / rundir.SUMMARY, RunSummary, what="summary")
                   if (d / rundir.SUMMARY).exists() else None)
    except (ConfigError, RecordFormatError) as exc:
        item.problem = str(exc)
        return item
    item.suite = config.suite.name
    item.created_at = config.created_at
    item.variant = _variant(config)
    if summary is not None:
        item.finished = True
        item.cases, item.failed = summary.cases.total, summary.cases.failed
        names = [n for n in HEADLINE if n in summary.metrics] or list(summary.metrics)[:3]
        item.headline = {n: summary.metrics[n].mean for n in names}
    else:
        rows = rundir.read_results(d / rundir.RESULTS)
        item.cases = len(rows)
        item.failed = sum(1 for r in rows if r.status == "failed")
    return item


def list_runs(root: str | Path, *, suite: str | None = None) -> list[RunListing]:
    """The run directories under ``root``, newest first.

    Args:
        root: The runs folder (e.g. ``eval/runs``).
        suite: Only runs of this suite.

    Raises:
        ConfigError: ``root`` is not a directory.
    """
    base = Path(root)
    if not base.is_dir():
        raise ConfigError("no runs folder here (give the folder your runs are in)", path=base)
    dirs = [d for d in base.iterdir() if d.is_dir() and (d / rundir.CONFIG).exists()]
    # created_at has whole seconds: two runs started in the same second keep their order by the
    # time their config.json was written.
    keyed = [(_listing(d), (d / rundir.CONFIG).stat().st_mtime_ns) for d in dirs]
    keyed.sort(key=lambda pair: (pair[0].created_at, pair[1], pair[0].run_id), reverse=True)
    return [item for item, _ in keyed if suite is None or item.suite == suite]
