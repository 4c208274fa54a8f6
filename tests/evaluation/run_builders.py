"""Build run directories on disk from per-case metric values, without drafting anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drafting.evaluation.metrics.base import MetricMeta, MetricResult
from drafting.evaluation.records import (
    CaseError,
    CaseRow,
    PromptRecord,
    RunConfig,
    Timings,
    TokenCounts,
)
from drafting.evaluation.rundir import CONFIG, RESULTS, ResultsWriter, write_record
from drafting.evaluation.runner import finish_run
from drafting.evaluation.suite import Suite
from drafting.schema import Diagnosis, Draft, Report

META = {
    "quality": MetricMeta(section="findings", kind="deterministic", higher_is_better=True),
    "cost": MetricMeta(section="cost", kind="deterministic", higher_is_better=False,
                       bounded=False),
}


def build_run(
    directory: Path,
    values: dict[str, dict[str, float | None]],
    *,
    thresholds: dict[str, float] | None = None,
    failed: tuple[str, ...] = (),
    gate: dict | None = None,
    drafts: dict[str, str] | None = None,
    drafter: dict[str, Any] | None = None,
    prompts: dict[str, PromptRecord] | None = None,
    endpoint: dict[str, Any] | None = None,
    cases_dir: str | None = None,
) -> Path:
    """A run whose cases score ``values[metric][case_id]`` (None: not applicable).

    ``drafts`` gives case id -> findings text of the case's draft (its primary diagnosis is the
    case id); ``drafter``, ``prompts``, ``endpoint`` and ``cases_dir`` (default: the run
    directory) go into config.json.
    """
    directory.mkdir(parents=True)
    suite = Suite.model_validate({"name": "built", "cases": {"dir": cases_dir or str(directory)},
                                  "thresholds": thresholds or {}, "gate": gate or {},
                                  "drafter": drafter or {}})
    write_record(directory / CONFIG, RunConfig(
        run_id=directory.name,
        suite=suite,
        metrics={k: META[k] for k in values},
        config_hash="x",
        prompts=prompts or {},
        endpoint=endpoint,
    ))
    ids = sorted({cid for per_case in values.values() for cid in per_case} | set(failed))
    writer = ResultsWriter(directory / RESULTS)
    for cid in ids:
        if cid in failed:
            writer.write(CaseRow(case_id=cid, status="failed",
                                 error=CaseError(type="EndpointError", message="down")))
            continue
        metrics = []
        for name, per_case in values.items():
            if cid not in per_case:
                continue
            v = per_case[cid]
            bounded = META[name].bounded
            metrics.append(
                MetricResult(name=name, value=v, bounded=bounded) if v is not None
                else MetricResult(name=name, status="not_applicable", bounded=bounded)
            )
        draft = None
        if drafts and cid in drafts:
            draft = Draft(case_id=cid, report=Report(findings=drafts[cid],
                                                     diagnosis=Diagnosis(primary=cid)))
        writer.write(CaseRow(case_id=cid, status="ok", metrics=metrics, draft=draft,
                             timings=Timings(draft_s=0.1, score_s=0.01),
                             tokens=TokenCounts(total=10)))
    writer.close()
    finish_run(directory, cases={})
    return directory
