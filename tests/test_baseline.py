"""The retrieval-only baseline drafter and the candidate list it shares with diagnosis v3."""

from __future__ import annotations

import asyncio
import json

from drafting.api import adraft_baseline, draft_baseline
from drafting.baseline import retrieval_report
from drafting.candidates import diagnosis_candidates, format_candidates, same_diagnosis
from drafting.cases import ReferenceStore, load_case
from drafting.cli import run
from drafting.render import render_markdown
from drafting.schema import DISCLAIMER, Case, CaseInput, Diagnosis, Differential, Draft, Report
from tests.support import SEEDS_DIR

SEED0 = SEEDS_DIR / "seed-000.yaml"
SEED3 = SEEDS_DIR / "seed-003.yaml"


def _ref(case_id: str, final: str, differentials: list[str] = ()) -> Case:
    return Case(
        id=case_id,
        input=CaseInput(clinical_history=f"History of {case_id}."),
        gold=Report(
            final_diagnosis=final,
            diagnosis=Diagnosis(primary=final, differentials=[Differential(name=d) for d in differentials]),
        ),
    )


def test_candidates_put_finals_first_and_merge_names_of_the_same_diagnosis():
    refs = [
        _ref("a", "Osteosarcoma", ["Ewing sarcoma", "Osteomyelitis"]),
        _ref("b", "Ewing's sarcoma", ["osteosarcoma"]),
        _ref("c", "Osteosarcoma.", []),
    ]
    cands = diagnosis_candidates(refs)
    assert [c.name for c in cands] == ["Osteosarcoma", "Ewing's sarcoma", "Osteomyelitis"], cands
    assert cands[0].final_in == ["a", "c"] and cands[0].differential_in == ["b"]
    assert cands[1].final_in == ["b"] and cands[1].differential_in == ["a"]
    assert cands[0].support() == "final diagnosis of 2 other patients; a differential for 1 other patient"
    # The prompt shows names only: the words around them were copied as a diagnosis.
    assert format_candidates(cands).splitlines() == ["- Osteosarcoma", "- Ewing's sarcoma", "- Osteomyelitis"]
    assert format_candidates([]).startswith("(none")


def test_same_diagnosis_ignores_case_order_and_punctuation_but_not_content():
    assert same_diagnosis("Osteosarcoma, femur", "femur osteosarcoma")
    assert not same_diagnosis("Osteosarcoma", "Osteomyelitis")
    assert not same_diagnosis("", "")


def test_baseline_report_takes_diagnosis_from_references_and_findings_from_the_case():
    case = load_case(SEED0)
    refs = [_ref("a", "Osteosarcoma", ["Ewing sarcoma"]), _ref("b", "Chondrosarcoma")]
    report = retrieval_report(case, refs)
    assert report.findings == case.input.imaging_text()
    assert report.diagnosis.primary == report.final_diagnosis == "Osteosarcoma"
    assert [d.name for d in report.diagnosis.differentials] == ["Chondrosarcoma", "Ewing sarcoma"]
    assert "(a)" in report.diagnosis.reasoning and "no model" in report.diagnosis.reasoning
    assert report.rehabilitation.text() == ""  # no reference has a plan
    assert report.disclaimer == DISCLAIMER


def test_baseline_draft_on_the_seeds_copies_the_nearest_plan_and_calls_no_model(no_network):
    store = ReferenceStore.load(SEEDS_DIR)
    draft = draft_baseline(SEED0, store=store, k=3, retrieval="bm25")
    ref = load_case(SEED3)
    assert [r.case_id for r in draft.provenance.references] == ["seed-003"]
    assert draft.report.final_diagnosis == ref.gold.final_diagnosis
    assert draft.report.rehabilitation == ref.gold.rehabilitation
    assert draft.provenance.backend == "retrieval" and not draft.provenance.stages
    again = asyncio.run(adraft_baseline(SEED0, store=store, k=3, retrieval="bm25"))
    assert again.report == draft.report
    assert "## Final diagnosis" in render_markdown(draft)


def test_cli_draft_with_the_retrieval_backend(tmp_path, no_network):
    out = tmp_path / "draft.json"
    code = run(["draft", str(SEED0), "--backend", "retrieval", "--corpus", str(SEEDS_DIR),
                "--format", "json", "--out", str(out)])
    assert code == 0
    draft = Draft.model_validate(json.loads(out.read_text(encoding="utf-8")))
    assert draft.provenance.backend == "retrieval"
    assert draft.report.final_diagnosis == load_case(SEED3).gold.final_diagnosis

