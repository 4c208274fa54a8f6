"""The retrieval-only baseline drafter: a report assembled from the nearest references, no model.

What a model-drafted report must beat to be worth its cost (nearest-neighbour baselines are the
standard floor in radiology report generation):

- findings: the case's own imaging descriptions (else its clinical history), one line each;
- diagnosis: the deduplicated candidates of the nearest references (`drafting.candidates`): the
  first is the primary and final diagnosis, the next ones the differentials;
- rehabilitation: the plan of the nearest reference that has one, or an empty plan.

Select it with ``drafter: {backend: retrieval}`` in a suite or ``--backend retrieval`` on
``drafting draft``.
"""

from __future__ import annotations

from drafting.candidates import diagnosis_candidates
from drafting.schema import (
    DISCLAIMER,
    Case,
    Diagnosis,
    Differential,
    Draft,
    Provenance,
    Rehabilitation,
    Report,
    RetrievedReference,
)

#: The backend name that selects this drafter.
BACKEND = "retrieval"
#: Most differentials the baseline lists.
MAX_DIFFERENTIALS = 3


def _findings(case: Case) -> str:
    if case.input.imaging:
        return case.input.imaging_text()
    return case.input.clinical_history


def retrieval_report(case: Case, references: list[Case]) -> Report:
    """The baseline report for ``case`` from its retrieved references (most similar first).

    Args:
        case: The case being drafted; only its input is used.
        references: Retrieved reference cases, never including ``case`` itself.
    """
    candidates = diagnosis_candidates(references, limit=1 + MAX_DIFFERENTIALS)
    by_id = {ref.id: ref for ref in references}
    primary = candidates[0] if candidates else None
    differentials = [
        Differential(
            name=c.name,
            reasoning=f"Retrieved: {c.support()} ({', '.join(c.final_in + c.differential_in)}).",
        )
        for c in candidates[1:]
    ]
    reasoning = ""
    if primary is not None:
        source = by_id[(primary.final_in or primary.differential_in)[0]]
        reasoning = (
            f"Retrieval-only baseline: the diagnosis of the most similar reference case "
            f"({source.id}{': ' + source.title if source.title else ''}); no model read this case."
        )
    plan = next(
        (ref.gold.rehabilitation for ref in references if ref.gold.rehabilitation.text()),
        Rehabilitation(),
    )
    return Report(
        findings=_findings(case),
        diagnosis=Diagnosis(
            primary=primary.name if primary else "",
            reasoning=reasoning,
            differentials=differentials,
        ),
        final_diagnosis=primary.name if primary else "",
        rehabilitation=plan.model_copy(deep=True),
        disclaimer=DISCLAIMER,
    )


def retrieval_draft(
    case: Case, references: list[Case], hits: list[RetrievedReference], mode: str
) -> Draft:
    """The baseline `Draft`, with provenance naming the references and the ``retrieval`` backend.

    Args:
        case: The case being drafted.
        references: The retrieved reference cases, most similar first.
        hits: The same references as provenance records (scores, retrievers).
        mode: The retrieval mode used.
    """
    from drafting import __version__

    return Draft(
        case_id=case.id,
        report=retrieval_report(case, references),
        provenance=Provenance(
            references=hits,
            retrieval_mode=mode,
            backend=BACKEND,
            model="no model",
            drafting_version=__version__,
        ),
    )
