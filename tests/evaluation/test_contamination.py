"""The contamination guard: near-duplicate inputs under other ids are found, reported in the run,
and excluded from that case's retrieval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drafting.cases import ReferenceStore, load_case, save_case
from drafting.cli import run as cli_run
from drafting.evaluation import run_suite
from drafting.evaluation.contamination import (
    DEFAULT_THRESHOLD,
    ContaminationIndex,
    exclusions,
    find_near_duplicates,
)
from drafting.schema import Case, Report
from tests.evaluation.harness_support import make_cases, make_draft, write_suite
from tests.support import SEEDS_DIR, medpix_file, requires_medpix


def seeds() -> list[Case]:
    return [load_case(p) for p in sorted(SEEDS_DIR.glob("*.yaml"))]


def refiled(case: Case, new_id: str) -> Case:
    """The same patient filed again: another id, the history lightly edited, one study dropped
    (as MedPix filed MPX2046 / MPX2531)."""
    copy = case.model_copy(update={"id": new_id}, deep=True)
    copy.input.clinical_history = copy.input.clinical_history.replace(
        "presenting with", "who presented with").replace("known", "previously established")
    copy.input.imaging = copy.input.imaging[:1] + [
        s.model_copy(update={"description": s.description + " Follow-up imaging was advised."})
        for s in copy.input.imaging[1:]
    ]
    return copy


def test_the_same_patient_under_another_id_is_found():
    s000, s003 = seeds()
    corpus = [s000, s003, refiled(s000, "archive-17")]
    pairs = find_near_duplicates([s000, s003], corpus)
    assert [(p.case_id, p.reference_id) for p in pairs] == [("seed-000", "archive-17")]
    assert DEFAULT_THRESHOLD <= pairs[0].similarity < 1
    assert exclusions(pairs) == {"seed-000": ["archive-17"]}


def test_two_patients_with_one_disease_are_not_duplicates():
    # The seeds: two dermatomyositis patients with soft-tissue calcification.
    s000, s003 = seeds()
    assert find_near_duplicates([s000], [s003]) == []
    assert ContaminationIndex([s003]).near_duplicates(s000) == []


@requires_medpix
def test_medpix_dev_against_train_lists_mpx2046_and_mpx2531():
    from drafting.importers import import_cases

    dev, _ = import_cases("medpix", medpix_file("dev"))
    train, _ = import_cases("medpix", medpix_file("train"))
    pairs = find_near_duplicates(dev, train)
    assert [(p.case_id, p.reference_id) for p in pairs] == [("MPX2046", "MPX2531")]
    assert pairs[0].similarity > 2 * DEFAULT_THRESHOLD


def test_retrieval_never_returns_an_excluded_id():
    from drafting.api import prepare
    from drafting.llm import resolve_endpoint

    s000, s003 = seeds()
    store = ReferenceStore([s000, s003, refiled(s003, "archive-3")])
    endpoint = resolve_endpoint(backend="local", fixtures="replay")
    args = {"store": store, "endpoint": endpoint, "k": 2, "prompts": None, "retrieval": "bm25"}
    _, _, refs, _ = prepare(s000, **args)
    assert {r.case_id for r in refs} == {"seed-003", "archive-3"}
    _, _, refs, _ = prepare(s000, **args, exclude_ids=["archive-3"])
    assert [r.case_id for r in refs] == ["seed-003"]


@pytest.fixture
def contaminated_suite(tmp_path: Path) -> Path:
    # Cases case-00.. are the seeds under new ids; the corpus is the seeds: every case nearly
    # repeats one reference (identical input under another id).
    cases_dir = tmp_path / "cases"
    make_cases(cases_dir, n=3)
    return write_suite(tmp_path / "suite.yaml", cases_dir,
                       drafter={"k": 1, "retrieval_mode": "bm25", "corpus": {"dir": str(SEEDS_DIR)}},
                       metrics=["structure.well_formed"])


def _notes(run, kind: str) -> list:
    return [n for n in run.summary.notes if n.kind == kind]


def _capture_exclusions(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    import drafting.api

    seen: dict[str, list[str]] = {}

    async def fake_adraft_report(case, **kwargs):
        seen[case.id] = list(kwargs.get("exclude_ids", ()))
        return make_draft(case)

    monkeypatch.setattr(drafting.api, "adraft_report", fake_adraft_report)
    return seen


def test_a_run_reports_near_duplicates_and_excludes_them(
    contaminated_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _capture_exclusions(monkeypatch)
    run = run_suite(contaminated_suite, out=tmp_path / "runs")
    assert seen == {"case-00": ["seed-000"], "case-01": ["seed-003"], "case-02": ["seed-000"]}
    (note,) = _notes(run, "contamination")
    contamination = note.details
    assert contamination["excluded"] is True
    assert [(p["case_id"], p["reference_id"], p["similarity"]) for p in contamination["pairs"]] == [
        ("case-00", "seed-000", 1.0), ("case-01", "seed-003", 1.0), ("case-02", "seed-000", 1.0)]
    assert "case-01 ~ seed-003 (1.000)" in note.message and "excluded" in note.message
    summary = json.loads((run.dir / "summary.json").read_text(encoding="utf-8"))
    assert [n for n in summary["notes"] if n["kind"] == "contamination"][0]["details"] == contamination
    html = (run.dir / "report.html").read_text(encoding="utf-8")
    assert "case-01 ~ seed-003" in html


def test_exclusion_can_be_turned_off_and_is_still_reported(
    contaminated_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    data = yaml.safe_load(contaminated_suite.read_text(encoding="utf-8"))
    data["drafter"]["contamination"] = {"exclude": False}
    contaminated_suite.write_text(yaml.safe_dump(data), encoding="utf-8")
    seen = _capture_exclusions(monkeypatch)
    run = run_suite(contaminated_suite, out=tmp_path / "runs")
    assert seen == {"case-00": [], "case-01": [], "case-02": []}
    (note,) = _notes(run, "contamination")
    assert note.details["excluded"] is False
    assert len(note.details["pairs"]) == 3
    assert "NOT excluded" in (run.dir / "report.html").read_text(encoding="utf-8")


def test_metrics_get_the_suite_corpus(
    contaminated_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # make_draft's provenance names "ref-1"; a corpus case of that id whose input is the draft's
    # findings makes the findings a copy, which structure.well_formed can only see with the corpus.
    _capture_exclusions(monkeypatch)
    corpus = tmp_path / "corpus"
    s000 = seeds()[0]
    ref = s000.model_copy(update={"id": "ref-1", "gold": Report()}, deep=True)
    ref.input.clinical_history = seeds()[1].gold.findings
    ref.input.imaging = []
    save_case(ref, corpus)
    import yaml

    data = yaml.safe_load(contaminated_suite.read_text(encoding="utf-8"))
    data["drafter"]["corpus"] = {"dir": str(corpus)}
    contaminated_suite.write_text(yaml.safe_dump(data), encoding="utf-8")
    run = run_suite(contaminated_suite, out=tmp_path / "runs")
    by_case = {r.case_id: r.metrics[0] for r in run.results}
    assert by_case["case-01"].details["counts"]["copied_reference"] >= 1
    assert by_case["case-00"].details["counts"]["copied_reference"] == 0


def test_cli_lists_near_duplicates(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    s000, s003 = seeds()
    corpus = tmp_path / "corpus"
    for case in (s003, refiled(s000, "archive-17")):
        save_case(case, corpus)
    code = cli_run(["eval", "contamination", "--cases", str(SEEDS_DIR), "--corpus", str(corpus)])
    out, err = capsys.readouterr()
    assert code == 0
    assert out.split()[:2] == ["seed-000", "archive-17"]
    assert "1 near-duplicate pair(s) among 2 cases and 2 reference cases" in err
    code = cli_run(["eval", "contamination", "--cases", str(SEEDS_DIR), "--corpus",
                    str(corpus), "--json"])
    pairs = json.loads(capsys.readouterr().out)
    assert code == 0 and pairs[0]["reference_id"] == "archive-17"


def test_cli_names_a_dataset_file_without_an_importer(tmp_path: Path, capsys) -> None:
    data = tmp_path / "cases.jsonl"
    data.write_text("{}\n", encoding="utf-8")
    code = cli_run(["eval", "contamination", "--cases", str(data), "--corpus", str(SEEDS_DIR)])
    assert code == 1
    assert "give --importer" in capsys.readouterr().err


def test_the_summary_counts_drafts_by_form_defect(
    contaminated_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import drafting.api

    async def templated(case, **kwargs):
        draft = make_draft(case)
        if case.id == "case-01":
            draft.report.rehabilitation.precautions = ["{{id}} {{{name}}}"]
        return draft

    monkeypatch.setattr(drafting.api, "adraft_report", templated)
    run = run_suite(contaminated_suite, out=tmp_path / "runs")
    (note,) = _notes(run, "form_defects")
    assert note.details["drafts"] == 3
    assert note.details["with"]["template_text"] == 1
    assert "of 3 scored drafts: 1 with template text" in note.message
    assert "1 with template text" in (run.dir / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("method", ["exact", "minhash"])
def test_exact_and_minhash_search_find_the_same_pairs(method: str) -> None:
    s000, s003 = seeds()
    corpus = [s000, s003, refiled(s000, "archive-17"), refiled(s003, "archive-3")]
    pairs = find_near_duplicates([s000, s003], corpus, method=method)
    assert [(p.case_id, p.reference_id) for p in pairs] == [
        ("seed-000", "archive-17"), ("seed-003", "archive-3")]
    assert ContaminationIndex(corpus, method=method).method == method
