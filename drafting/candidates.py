"""Candidate diagnoses from the retrieved references, deduplicated.

The grounded diagnosis prompt (diagnosis v3) and the retrieval-only baseline drafter both start
from the same list: each reference's final diagnosis, then the differentials its report
considered, most similar reference first, with names that mean the same diagnosis merged.
`same_diagnosis` is the one place that decides whether two names are the same diagnosis.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drafting.diagnoses import match_diagnosis
from drafting.schema import Case

#: Most candidates a prompt lists (the references' finals come first, so they always fit).
MAX_CANDIDATES = 6


@dataclass
class Candidate:
    """One candidate diagnosis and where it came from.

    Attributes:
        name: The diagnosis as the first reference that names it writes it.
        final_in: Ids of the references whose final diagnosis it is.
        differential_in: Ids of the references whose report considered it as a differential.
    """

    name: str
    final_in: list[str] = field(default_factory=list)
    differential_in: list[str] = field(default_factory=list)

    def support(self) -> str:
        """Where the candidate came from, in words (e.g. "final diagnosis of 2 other patients")."""
        parts = []
        if self.final_in:
            parts.append(_count("final diagnosis of", len(self.final_in)))
        if self.differential_in:
            parts.append(_count("a differential for", len(self.differential_in)))
        return "; ".join(parts)


def _count(what: str, n: int) -> str:
    return f"{what} {n} other patient{'s' if n != 1 else ''}"


def same_diagnosis(a: str, b: str) -> bool:
    """Whether two diagnosis names mean the same diagnosis: the matcher's verdict is "same"."""
    return match_diagnosis(a, b).verdict == "same"


def reference_final_diagnosis(ref: Case) -> str:
    """A reference's final diagnosis (its primary diagnosis when no final one is recorded)."""
    return (ref.gold.final_diagnosis or ref.gold.diagnosis.primary).strip()


def diagnosis_candidates(references: list[Case], limit: int = MAX_CANDIDATES) -> list[Candidate]:
    """The references' final diagnoses, then their differentials, deduplicated, at most ``limit``.

    Args:
        references: Retrieved reference cases, most similar first.
        limit: Most candidates returned.
    """
    out: list[Candidate] = []

    def add(name: str, ref_id: str, *, final: bool) -> None:
        name = " ".join(name.split())
        if not name:
            return
        for cand in out:
            if same_diagnosis(cand.name, name):
                (cand.final_in if final else cand.differential_in).append(ref_id)
                return
        out.append(Candidate(name, [ref_id] if final else [], [] if final else [ref_id]))

    for ref in references:
        add(reference_final_diagnosis(ref), ref.id, final=True)
    for ref in references:
        for diff in ref.gold.diagnosis.differentials:
            add(diff.name, ref.id, final=False)
    return out[:limit]


def format_candidates(candidates: list[Candidate]) -> str:
    """The candidate list as the diagnosis prompt shows it: one name per line, finals first."""
    if not candidates:
        return "(none: the similar cases' records name no diagnosis)"
    # Names only: SmolLM2-135M copied the words around them ("other patient") as a diagnosis.
    return "\n".join(f"- {c.name}" for c in candidates)
