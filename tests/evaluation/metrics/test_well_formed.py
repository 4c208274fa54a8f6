"""structure.well_formed: template text, non-diagnoses, reference labels and copied reference
text, each counted by kind with a reason."""

from __future__ import annotations

import pytest

from drafting.evaluation.metrics import build_metrics
from drafting.evaluation.metrics._defects import template_defect
from drafting.evaluation.metrics.structure import diagnosis_defect
from drafting.schema import Case, Differential, Report, RetrievedReference
from tests.evaluation.metrics.factories import draft_of, knee_case


def _score(draft, case, **kwargs):
    (metric,) = build_metrics(["structure.well_formed"], **kwargs)
    return metric.score(draft, case)


@pytest.mark.parametrize(
    "text",
    ["{{id}} {{{name}}}, {{description}},", "Patient {name} has pain", "<placeholder>",
     "[insert exercise here]", "Dose TBD", "{% if x %}", "{'Sarcoidosis'}", "</p>"],
)
def test_template_text_is_found(text):
    assert template_defect(text)


@pytest.mark.parametrize(
    "text",
    ["Pain below 3/10 during exercise", "HR < 120 bpm", "Displaced fracture [right side]",
     "Left > right effusion", "Dermatomyositis with calcinosis (calcinosis cutis)"],
)
def test_ordinary_clinical_text_is_not_template_text(text):
    assert not template_defect(text)


@pytest.mark.parametrize(
    "text",
    ["48-year-old unknown", "unknown", "38-year-old female", "N/A", "Case Report",
     "The patient presents with global aphasia of unspecified duration.",
     "This is a 5-year female with suspected tuberous sclerosis.",
     "Acute Cortical Necrosis (ACN) is a rare and aggressive disease that affects the kidneys",
     "Premiere diagnosis", "Most likely diagnosis:",
     "Beneficial for the patient's case, beneficial to their case"],
)
def test_non_diagnoses_are_found(text):
    assert diagnosis_defect(text)


@pytest.mark.parametrize(
    "text",
    ["Dermatomyositis with Widespread Soft Tissue Calcinosis (Calcinosis Cutis)",
     "myositis ossificans and panniculitis ossificans related to dermatomyositis, accompanied "
     "by chronic inflammatory changes", "Chiari I malformation", "RA", "Type 2 diabetes",
     "Right aortic arch with aberrant left subclavian artery",
     "Endocardial cushion defect (no other shunt or defect is present)",
     "The primary diagnosis is endometrioma.", "Acute Appendicitis in Cystic Fibrosis Patient",
     "Optic Neuritis (imaging and clinical findings combined to verify diagnosis)"],
)
def test_diagnoses_pass(text):
    assert diagnosis_defect(text) == ""


def test_a_clean_report_is_well_formed():
    case = knee_case()
    r = _score(draft_of(case.gold), case)
    assert r.value == 1.0
    assert r.details["counts"] == dict.fromkeys(r.details["counts"], 0)


def test_defects_are_counted_by_kind_with_reasons():
    case = knee_case()
    report = case.gold.model_copy(deep=True)
    report.diagnosis.primary = "48-year-old unknown"
    report.findings = "As in Reference 2, a displaced patellar fracture."
    report.rehabilitation.precautions = ["{{id}} {{{name}}}, {{description}},"]
    r = _score(draft_of(report), case)
    assert r.value == pytest.approx(6 / 9)
    assert r.details["counts"] == {
        "template_text": 1, "not_a_diagnosis": 1, "reference_label": 1, "copied_reference": 0}
    assert "diagnosis.primary: an age or a patient description" in r.reason


def _reference() -> Case:
    ref = knee_case().model_copy(update={"id": "MPX-REF", "gold": Report()}, deep=True)
    ref.input.imaging = []
    ref.input.clinical_history = (
        "Skiing injury two weeks ago. Radiographs show a comminuted fracture of the tibial "
        "plateau with depression of the lateral articular surface by eight millimetres."
    )
    return ref


def test_findings_copied_from_a_retrieved_reference_are_caught():
    case, ref = knee_case(), _reference()
    report = case.gold.model_copy(deep=True)
    report.findings += (
        "\nComminuted fracture of the tibial plateau with depression of the lateral articular "
        "surface by eight millimetres."
    )
    draft = draft_of(report, references=[RetrievedReference(case_id="MPX-REF", score=1.0)])
    r = _score(draft, case, references={"MPX-REF": ref})
    assert r.details["counts"]["copied_reference"] == 1
    assert "findings: copied from reference case MPX-REF" in r.reason
    # Restating the case's own input is not copying, even when a reference says it too.
    own = knee_case().model_copy(deep=True)
    own.input.clinical_history += " " + ref.input.clinical_history
    assert _score(draft, own, references={"MPX-REF": ref}).details["counts"]["copied_reference"] == 0


def test_differential_names_are_checked_as_diagnoses():
    case = knee_case()
    report = case.gold.model_copy(deep=True)
    report.diagnosis.differentials = [Differential(name="unknown", reasoning="Could be anything.")]
    r = _score(draft_of(report), case)
    assert r.details["counts"]["not_a_diagnosis"] == 1
