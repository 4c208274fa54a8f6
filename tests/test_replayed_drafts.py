"""Every draft replayed from the recorded fixtures is well formed: no failed case, and no field
carrying braces, template markers or the prompt's reference labels."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from drafting.evaluation import run_suite
from drafting.schema import Draft
from tests.support import REPO, requires_medpix

#: What must never appear in a drafted field.
JUNK = re.compile(
    r"[{}\[\]<>]|__|\b(?:reference|case)\s*#?\s*\d+\b|\bother patient\b|lorem ipsum", re.I
)


def draft_texts(draft: Draft) -> list[tuple[str, str]]:
    """Every model-written field of a draft, with where it is."""
    report = draft.report
    dx, rehab = report.diagnosis, report.rehabilitation
    out = [("findings", report.findings), ("diagnosis.primary", dx.primary),
           ("diagnosis.reasoning", dx.reasoning), ("final_diagnosis", report.final_diagnosis)]
    for i, d in enumerate(dx.differentials):
        out += [(f"differentials.{i}.name", d.name), (f"differentials.{i}.reasoning", d.reasoning)]
    for key in ("goals", "precautions", "monitoring"):
        out += [(f"{key}.{i}", t) for i, t in enumerate(getattr(rehab, key))]
    for i, ex in enumerate(rehab.exercises):
        out += [(f"exercises.{i}.{k}", v) for k, v in ex.model_dump().items()]
    return out


def junk_in(draft: Draft) -> list[str]:
    """The fields of a draft that carry junk, as "field: text"."""
    return [f"{where}: {text}" for where, text in draft_texts(draft) if JUNK.search(text)]


def test_the_junk_scan_catches_what_the_issue_reported():
    from drafting.schema import Report

    bad = Draft(case_id="x", report=Report(findings="Case 1 / Reference 2"))
    assert junk_in(bad) == ["findings: Case 1 / Reference 2"]
    bad = Draft(case_id="x", report=Report(final_diagnosis="{{id}}: {{{name}}}"))
    assert junk_in(bad)
    assert not junk_in(Draft(case_id="x", report=Report(findings="No fracture of the femur.")))


def _replay(suite: str, tmp_path: Path):
    run = run_suite(REPO / "eval" / "suites" / suite, fixtures="replay", out=tmp_path, concurrency=4)
    failed = {r["case_id"]: r["error"] for r in run.results if r["status"] != "ok"}
    assert failed == {}
    return [Draft.model_validate(r["draft"]) for r in run.results]


def test_seed_drafts_replay_without_failures_or_junk(tmp_path, no_network):
    drafts = _replay("seeds.yaml", tmp_path)
    assert len(drafts) == 2
    assert {d.case_id: junk_in(d) for d in drafts} == {d.case_id: [] for d in drafts}


@requires_medpix
def test_medpix_dev_drafts_replay_without_failures_or_junk(tmp_path, no_network):
    drafts = _replay("medpix-dev.yaml", tmp_path)
    assert len(drafts) == 67
    junk = {d.case_id: junk_in(d) for d in drafts if junk_in(d)}
    assert junk == {}


@pytest.mark.parametrize("suite", ["medpix-dev-retrieval.yaml"])
@requires_medpix
def test_the_retrieval_baseline_runs_through_the_harness_offline(suite, tmp_path, no_network):
    run = run_suite(REPO / "eval" / "suites" / suite, out=tmp_path, concurrency=4)
    assert all(r["status"] == "ok" for r in run.results) and len(run.results) == 67
    assert run.config["endpoint"] is None
    assert all(r["draft"]["provenance"]["backend"] == "retrieval" for r in run.results)
    assert run.values("diagnosis.top1_hit")  # scored by the same metrics as a model run
