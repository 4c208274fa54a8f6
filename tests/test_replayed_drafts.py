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


def _replay(suite: str, tmp_path: Path, prompts: dict[str, str] | None = None):
    """Replay a suite: the drafts, and the failed cases' error types by case id."""
    run = run_suite(REPO / "eval" / "suites" / suite, fixtures="replay", out=tmp_path,
                    concurrency=4, prompts=prompts)
    failed = {r.case_id: r.error.type if r.error else "" for r in run.results if r.status != "ok"}
    drafts = [r.draft for r in run.results if r.status == "ok" and r.draft is not None]
    return drafts, failed


def test_seed_drafts_replay_without_failures_or_junk(tmp_path, no_network):
    drafts, failed = _replay("seeds.yaml", tmp_path)
    assert failed == {} and len(drafts) == 2
    assert {d.case_id: junk_in(d) for d in drafts} == {d.case_id: [] for d in drafts}


@pytest.mark.parametrize(
    ("suite", "cases"), [("imported-examples.yaml", 3), ("imported-reports.yaml", 2)]
)
def test_a_team_s_imported_data_replays_as_a_suite(suite, cases, tmp_path, no_network):
    # Cases and corpus read on the fly by the tabular (CSV + mapping) and reports (sectioned
    # text + heading map) importers; every case drafted from the recorded embedded-model traffic.
    drafts, failed = _replay(suite, tmp_path)
    assert failed == {} and len(drafts) == cases
    assert all(d.provenance.references for d in drafts)  # the other imported rows as references
    assert {d.case_id: junk_in(d) for d in drafts} == {d.case_id: [] for d in drafts}


@pytest.fixture(scope="module")
def medpix_replay(tmp_path_factory):
    return _replay("medpix-dev.yaml", tmp_path_factory.mktemp("medpix"))


@requires_medpix
def test_medpix_dev_drafts_carry_no_junk(medpix_replay):
    drafts, _failed = medpix_replay
    assert drafts
    assert {d.case_id: junk_in(d) for d in drafts if junk_in(d)} == {}


@requires_medpix
def test_medpix_dev_replays_with_no_failed_case(medpix_replay):
    drafts, failed = medpix_replay
    assert failed == {} and len(drafts) == 67


@requires_medpix
def test_the_diagnosis_v1_variant_replays_for_the_compare_in_the_readme(tmp_path, no_network):
    # The README compares diagnosis v1 with v3 on medpix-dev from recorded traffic: every v1
    # exchange must still be recorded (no FixtureMissError), and its failures are the model's.
    drafts, failed = _replay("medpix-dev.yaml", tmp_path, prompts={"diagnosis": "v1"})
    assert failed == {"MPX1779": "ReplyParseError", "MPX2518": "ReplyParseError"}
    assert len(drafts) == 65
    assert {d.case_id: junk_in(d) for d in drafts if junk_in(d)} == {}


@pytest.mark.parametrize("suite", ["medpix-dev-retrieval.yaml"])
@requires_medpix
def test_the_retrieval_baseline_runs_through_the_harness_offline(suite, tmp_path, no_network):
    run = run_suite(REPO / "eval" / "suites" / suite, out=tmp_path, concurrency=4)
    assert all(r.status == "ok" for r in run.results) and len(run.results) == 67
    assert run.config is not None and run.config.endpoint is None
    assert all(r.draft and r.draft.provenance.backend == "retrieval" for r in run.results)
    assert run.values("diagnosis.top1_hit")  # scored by the same metrics as a model run
    # The contamination guard holds for the baseline too: MPX2046 is MPX2531 under another id.
    (dup,) = [r for r in run.results if r.case_id == "MPX2046"]
    assert dup.draft is not None
    assert "MPX2531" not in [ref.case_id for ref in dup.draft.provenance.references]
