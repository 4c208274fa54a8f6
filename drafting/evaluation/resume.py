"""Runs you can come back to: resume a run from its directory alone, and retry its failed cases.

A run directory's ``config.json`` holds the resolved suite the run was started with, so resuming
needs nothing else. An override given with it is accepted only when it leaves the configuration
unchanged; one that would change the results is refused, naming the option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drafting.errors import ConfigError
from drafting.evaluation import rundir
from drafting.evaluation.records import RunConfig
from drafting.evaluation.rundir import Run
from drafting.evaluation.suite import Suite, apply_overrides


def recorded_config(run_dir: str | Path) -> RunConfig:
    """The config.json of a run directory.

    Raises:
        ConfigError: Not a run directory.
    """
    path = Path(run_dir) / rundir.CONFIG
    if not path.exists():
        raise ConfigError("not a run directory (no config.json)", path=run_dir)
    return rundir.read_record(path, RunConfig, what="config")


def recorded_suite(
    run_dir: str | Path,
    *,
    fixtures: str | None = None,
    cases: str | Path | None = None,
    prompts: dict[str, str] | None = None,
    model: str | None = None,
) -> Suite:
    """The suite a run was started with, for resuming it.

    Overrides are allowed when they change nothing (``--model`` naming the recorded model).

    Raises:
        ConfigError: Not a run directory, or an override that would change the run's results
            (naming the option and the recorded value).
    """
    suite = recorded_config(run_dir).suite
    checks: list[tuple[str, dict[str, Any], str]] = [
        ("--fixtures", {"fixtures": fixtures}, suite.fixtures.mode),
        ("--cases", {"cases": cases}, suite.cases.dir or str(suite.cases.path)),
        ("--prompt", {"prompts": prompts}, ", ".join(
            f"{k}={v}" for k, v in sorted(suite.drafter.prompts.items())) or "the defaults"),
        ("--model", {"model": model}, suite.drafter.model or "the endpoint's default"),
    ]
    for option, override, recorded in checks:
        if all(v is None or v == {} for v in override.values()):
            continue
        changed = apply_overrides(suite, **override)
        if changed.config_hash() != suite.config_hash():
            raise ConfigError(
                f"{option} would change the results of the run being resumed (recorded: "
                f"{recorded}); resume without it, or start a new run",
                path=run_dir,
                field=option,
            )
    return suite


def drop_failed_rows(run_dir: str | Path) -> list[str]:
    """Remove the rows of failed cases from a run's results.jsonl (atomically), so that resuming
    drafts them again.

    Returns:
        The ids of the failed cases removed, sorted.
    """
    path = Path(run_dir) / rundir.RESULTS
    rundir.truncate_partial_line(path)
    rows = rundir.read_results(path)
    failed = sorted({row.case_id for row in rows if row.status == "failed"})
    # Load errors (a case file that did not parse) stay: drafting again cannot fix them.
    failed = [cid for cid in failed if not cid.startswith("load-error-")]
    if failed:
        keep = [row for row in rows if row.case_id not in set(failed)]
        rundir.write_text_atomic(path, "".join(row.model_dump_json() + "\n" for row in keep))
    return failed


def retry_failed(run_dir: str | Path, **options: Any) -> tuple[Run, list[str]]:
    """Draft and score again only the failed cases of a run, into the same run directory.

    Args:
        run_dir: The run directory.
        **options: Passed to `run_suite` (concurrency, observer, draft_fn, metrics).

    Returns:
        The run (summary and report rewritten) and the ids of the cases retried.

    Raises:
        ConfigError: Not a run directory.
    """
    from drafting.evaluation.runner import finish_run, run_suite

    suite = recorded_suite(run_dir)
    retried = drop_failed_rows(run_dir)
    if not retried:
        return finish_run(Path(run_dir)), []
    return run_suite(suite, resume=run_dir, **options), retried
