"""Small cases and drafts for metric tests."""

from __future__ import annotations

from typing import Any

from drafting.schema import (
    DISCLAIMER,
    Case,
    CaseInput,
    Diagnosis,
    Differential,
    Draft,
    Exercise,
    ImagingStudy,
    Provenance,
    Rehabilitation,
    Report,
    StageRecord,
)

FULL_EXERCISE = Exercise(
    type="aerobic walking",
    frequency="3 sessions per week",
    intensity="light, RPE 11-13",
    time="20 minutes",
    volume="60 minutes per week",
    progression="add 5 minutes per session every 2 weeks as tolerated",
)


def knee_case(**gold: Any) -> Case:
    """A small case with laterality and a pertinent negative in its input."""
    report = Report(
        findings="Displaced fracture of the right patella.\nModerate joint effusion.",
        diagnosis=Diagnosis(
            primary="Right patellar fracture",
            reasoning="Fall onto the right knee with a displaced patellar fracture line.",
            differentials=[Differential(name="Bipartite patella", reasoning="No trauma needed.")],
        ),
        final_diagnosis="Displaced fracture of the right patella",
        rehabilitation=Rehabilitation(
            goals=["Restore knee range of motion"],
            exercises=[FULL_EXERCISE],
            precautions=["Avoid kneeling"],
            monitoring=["Review pain and swelling weekly"],
        ),
    )
    report = report.model_copy(update=gold)
    return Case(
        id="knee-1",
        input=CaseInput(
            age=40,
            sex="female",
            clinical_history="Fall onto the right knee. No previous knee surgery.",
            imaging=[
                ImagingStudy(
                    modality="X-ray",
                    region="right knee",
                    description=(
                        "Displaced transverse fracture of the right patella with a moderate joint "
                        "effusion. The left patella is intact. There is no dislocation."
                    ),
                )
            ],
        ),
        gold=report,
    )


def draft_of(report: Report, case_id: str = "knee-1", **provenance: Any) -> Draft:
    """A draft holding ``report`` (disclaimer set to the fixed text unless given)."""
    if not report.disclaimer:
        report = report.model_copy(update={"disclaimer": DISCLAIMER})
    return Draft(case_id=case_id, report=report, provenance=Provenance(**provenance))


def with_findings(case: Case, findings: str) -> Draft:
    """A draft of the case's gold with other findings."""
    return draft_of(case.gold.model_copy(update={"findings": findings}), case.id)


STAGES = [
    StageRecord(stage="findings", prompt_tokens=100, completion_tokens=20, latency_s=1.5),
    StageRecord(stage="diagnosis", prompt_tokens=200, completion_tokens=40, latency_s=2.5),
]
