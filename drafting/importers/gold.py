"""The gold report an importer fills from a source's fields."""

from __future__ import annotations

from collections.abc import Iterable

from drafting.schema import Diagnosis, Differential, Rehabilitation, Report


def gold_report(
    primary: str,
    *,
    reasoning: str = "",
    differentials: Iterable[str] = (),
    final_diagnosis: str = "",
    findings: str = "",
    goals: Iterable[str] = (),
    precautions: Iterable[str] = (),
    monitoring: Iterable[str] = (),
) -> Report:
    """A gold report from plain fields.

    Args:
        primary: The primary diagnosis.
        reasoning: Why (a discussion, an impression's prose).
        differentials: Differential diagnoses, by name.
        final_diagnosis: The final diagnosis; the primary one when empty.
        findings: The imaging findings.
        goals: Rehabilitation goals.
        precautions: Rehabilitation precautions.
        monitoring: What to monitor during rehabilitation.

    Raises:
        pydantic.ValidationError: A field the schema refuses (importers turn it into a
            `CaseFileError` naming the record).
    """
    return Report(
        findings=findings,
        diagnosis=Diagnosis(
            primary=primary,
            reasoning=reasoning,
            differentials=[Differential(name=name) for name in differentials],
        ),
        final_diagnosis=final_diagnosis or primary,
        rehabilitation=Rehabilitation(
            goals=list(goals), precautions=list(precautions), monitoring=list(monitoring)
        ),
    )
