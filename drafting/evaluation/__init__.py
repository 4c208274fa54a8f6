"""The evaluation harness: suites, metrics, runner, statistics, comparison, HTML report, CI gate.

Public API (imported lazily so that ``import drafting.evaluation`` stays cheap)::

    run = run_suite("eval/suites/seeds.yaml", fixtures="replay")   # -> Run (typed records)
    run.summary.metrics["diagnosis.final_match"].mean; run.results[0].draft; run.to_pandas()
    run = load_run("eval/runs/<run-id>")
    comp = compare_runs(run_a, run_b)                                # -> Comparison
    assert_run_passes(run, baseline="eval/baselines/seeds.json")    # for a user's pytest
    match_diagnosis("RCC", "Renal cell carcinoma")                   # -> DiagnosisVerdict

Modules, one job each: ``suite`` (suite files), ``setup`` (a suite resolved into endpoints,
metrics and a draft function), ``case_rows`` (one case drafted into a row), ``scoring`` (the
one scoring path), ``runner`` (a run end to end), ``records`` (the typed, versioned files),
``rundir`` (reading and writing them), ``stats``, ``compare``, ``gate``, ``report_html``,
``formatting`` (numbers for display), ``metrics/`` (the metrics and their contract). The
harness never imports the command line; presentation (rich tables, progress) is in
``drafting.cli``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drafting.lazy import lazy_attributes

_LAZY = {
    "run_suite": "drafting.evaluation.runner",
    "arun_suite": "drafting.evaluation.runner",
    "finish_run": "drafting.evaluation.runner",
    "Run": "drafting.evaluation.rundir",
    "load_run": "drafting.evaluation.rundir",
    "Suite": "drafting.evaluation.suite",
    "load_suite": "drafting.evaluation.suite",
    "compare_runs": "drafting.evaluation.compare",
    "Comparison": "drafting.evaluation.compare",
    "check_run": "drafting.evaluation.gate",
    "write_baseline": "drafting.evaluation.gate",
    "assert_run_passes": "drafting.evaluation.gate",
    "GateResult": "drafting.evaluation.gate",
    "match_diagnosis": "drafting.diagnoses",
    "DiagnosisVerdict": "drafting.diagnoses",
    "RunSummary": "drafting.evaluation.records",
    "CaseRow": "drafting.evaluation.records",
    "Baseline": "drafting.evaluation.records",
}

__all__ = [
    "Baseline",
    "CaseRow",
    "Comparison",
    "DiagnosisVerdict",
    "GateResult",
    "Run",
    "RunSummary",
    "Suite",
    "arun_suite",
    "assert_run_passes",
    "check_run",
    "compare_runs",
    "finish_run",
    "load_run",
    "load_suite",
    "match_diagnosis",
    "run_suite",
    "write_baseline",
]

if TYPE_CHECKING:  # pragma: no cover
    from drafting.diagnoses import DiagnosisVerdict, match_diagnosis
    from drafting.evaluation.compare import Comparison, compare_runs
    from drafting.evaluation.gate import GateResult, assert_run_passes, check_run, write_baseline
    from drafting.evaluation.records import Baseline, CaseRow, RunSummary
    from drafting.evaluation.rundir import Run, load_run
    from drafting.evaluation.runner import arun_suite, finish_run, run_suite
    from drafting.evaluation.suite import Suite, load_suite


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
