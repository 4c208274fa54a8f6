"""Structure metrics: is every section there, is the fixed disclaimer there, and is every
section well formed (no template text, labels, copied text, or diagnoses that are not ones)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from drafting.evaluation.metrics._defects import reference_label, template_defect
from drafting.evaluation.metrics.base import Metric, MetricResult
from drafting.schema import DISCLAIMER, Case, Draft, Report


def section_presence(report: Report) -> dict[str, bool]:
    """Which report sections are present and non-empty, by name."""
    dx, rehab = report.diagnosis, report.rehabilitation
    return {
        "findings": bool(report.findings.strip()),
        "diagnosis.primary": bool(dx.primary.strip()),
        "diagnosis.reasoning": bool(dx.reasoning.strip()),
        "diagnosis.differentials": any(d.name.strip() for d in dx.differentials),
        "final_diagnosis": bool(report.final_diagnosis.strip()),
        "rehabilitation.goals": any(g.strip() for g in rehab.goals),
        "rehabilitation.exercises": any(
            any(v.strip() for v in ex.model_dump().values()) for ex in rehab.exercises
        ),
        "rehabilitation.precautions": any(p.strip() for p in rehab.precautions),
        "rehabilitation.monitoring": any(m.strip() for m in rehab.monitoring),
    }


class SectionsPresent(Metric):
    """Share of the nine report sections that are present and non-empty."""

    name = "structure.sections_present"
    section = "structure"

    def score(self, draft: Draft, gold: Case) -> MetricResult:
        present = section_presence(draft.report)
        missing = [k for k, ok in present.items() if not ok]
        value = sum(present.values()) / len(present)
        reason = "all sections present" if not missing else f"missing: {', '.join(missing)}"
        return self.result(value, reason, missing=missing)


class DisclaimerPresent(Metric):
    """1 when the report carries the fixed disclaimer text exactly (whitespace aside), else 0."""

    name = "structure.disclaimer"
    section = "structure"

    def score(self, draft: Draft, gold: Case) -> MetricResult:
        text = " ".join(draft.report.disclaimer.split())
        if text == " ".join(DISCLAIMER.split()):
            return self.result(1.0, "fixed disclaimer present")
        if not text:
            return self.result(0.0, "disclaimer missing")
        return self.result(0.0, "disclaimer differs from the fixed text")


# --- well-formedness ------------------------------------------------------------------------------

#: Defect kinds `WellFormed` counts, so a summary can say "n drafts contained template text".
DEFECT_KINDS = ("template_text", "not_a_diagnosis", "reference_label", "copied_reference")

_UNKNOWN = re.compile(
    r"^(?:unknown|unclear|uncertain|undetermined|indeterminate|not (?:determined|known|"
    r"available|applicable|specified)|none|n/?a|nil|no diagnosis|(?:primary|final|working)?\s*"
    r"diagnosis|primary|secondary|final|case(?: report)?|report|[-–?.]+)$",
    re.I,
)
#: An age or sex where the diagnosis should be ("48-year-old unknown", "a 44-year-old male").
_AGE_OR_SEX = re.compile(
    r"^(?:(?:this\s+is\s+)?an?\s+)?\d{1,3}\s*-?\s*(?:year|yr|month|week|day)s?\s*-?\s*"
    r"(?:old\b|(?:white\s+|black\s+)?(?:male|female|man|woman|boy|girl)\b)|"
    r"^\d{1,3}\s*(?:y/?o|yo)\b|^(?:an?\s+)?(?:male|female|man|woman|boy|girl|patient)\b",
    re.I,
)
_ABOUT_PATIENT = re.compile(
    r"^(?:the|this|a|our)\s+(?:patient|case|man|woman|child|boy|girl|subject)\b|"
    r"^(?:he|she|they|patient|this is)\b|\b(?:presents|presented|complains?|complained|"
    r"was admitted|is suffering|has been|is being)\b",
    re.I,
)
#: A phrase about the patient's case rather than a disease ("Beneficial for the patient's case").
_PATIENTS_CASE = re.compile(
    r"\bpatient's\b|\b(?:for|to)\s+(?:the|this|their|his|her)\s+(?:patient|case)\b|"
    r"\b(?:their|his|her)\s+case\b",
    re.I,
)
#: A label ending in "diagnosis" ("Premiere diagnosis", "Most likely diagnosis"): the field's
#: name, not its content.
_DIAGNOSIS_LABEL = re.compile(r"\bdiagnos[ie]s\W*$", re.I)
#: A diagnosis is a name: long sentences are reasoning put in the wrong field.
_MAX_DIAGNOSIS_WORDS = 25
#: A name with a finite verb past a few words is a sentence ("X is a rare disease that ...";
#: "The primary diagnosis is X" stays a name).
_CLAUSE_VERB = re.compile(r"\b(?:is|are|was|were|can be|may be|shows?|showing|demonstrat\w*|"
                          r"consists?|occurs?|affects?)\b", re.I)
_MAX_NAME_WITH_VERB_WORDS = 6


def diagnosis_defect(text: str) -> str:
    """Why ``text`` is not a diagnosis ("an age, not a diagnosis"), or "" when it may be one."""
    t = " ".join(text.split()).strip(" .;:")
    if not t:
        return ""
    if _UNKNOWN.match(t) or re.fullmatch(r"(?:unknown|unclear|undetermined)\b.*", t, re.I):
        return f"{t!r} names no diagnosis"
    if _AGE_OR_SEX.search(t):
        return "an age or a patient description, not a diagnosis"
    if _ABOUT_PATIENT.search(t):
        return "a sentence about the patient, not a diagnosis"
    bare = re.sub(r"\([^)]*\)", " ", t).strip()  # a parenthetical remark does not make a sentence
    if _PATIENTS_CASE.search(bare):
        return "a phrase about the patient's case, not a diagnosis"
    if _DIAGNOSIS_LABEL.search(bare):
        return "a label ('... diagnosis'), not a diagnosis"
    if len(bare.split()) > _MAX_NAME_WITH_VERB_WORDS and _CLAUSE_VERB.search(bare):
        return "a sentence, not a diagnosis name"
    if len(t.split()) > _MAX_DIAGNOSIS_WORDS:
        return f"{len(t.split())} words: a sentence, not a diagnosis name"
    if not re.search(r"[A-Za-z]{2,}", t):
        return "no words"
    return ""


class WellFormed(Metric):
    """Share of the nine report sections free of form defects.

    Defects, by kind (`DEFECT_KINDS`): template text or placeholders anywhere (``{{id}}``,
    ``{name}``, ``<placeholder>``, ``[insert ...]``, TBD); a primary, final or differential
    diagnosis that is not a diagnosis (an age, "unknown", a sentence about the patient);
    reference-case labels ("Reference 2") in the report; findings or reasoning copied from a
    reference case the draft was given (needs ``references``, the suite's corpus; skipped
    without it). ``details["counts"]`` holds the number of defects by kind.

    Args:
        references: Reference cases by id, to catch text copied from a draft's references.
    """

    name = "structure.well_formed"
    section = "structure"

    def __init__(self, references: Mapping[str, Case] | None = None):
        self.references = references

    def params(self) -> dict[str, Any]:
        return {"references": self.references is not None}

    def score(self, draft: Draft, gold: Case) -> MetricResult:
        from drafting.evaluation.metrics.rehabilitation import copy_detector

        report = draft.report
        copies = copy_detector(draft, gold, self.references)
        defects: list[dict[str, str]] = []

        def add(section: str, kind: str, why: str, text: str) -> None:
            defects.append({"section": section, "kind": kind, "reason": why, "text": text[:120]})

        for section, text, is_name in _section_texts(report):
            if why := template_defect(text):
                add(section, "template_text", why, text)
            if label := reference_label(text):
                add(section, "reference_label", f"reference label {label!r}", text)
            if is_name and (why := diagnosis_defect(text)):
                add(section, "not_a_diagnosis", why, text)
            if section in _COPY_SECTIONS:
                for sentence in _split_sentences(text):
                    if ref := copies.copied_from(sentence):
                        add(section, "copied_reference", f"copied from reference case {ref}",
                            sentence)
        bad_sections = {d["section"] for d in defects}
        value = 1 - len(bad_sections) / len(_SECTIONS)
        counts = {k: sum(d["kind"] == k for d in defects) for k in DEFECT_KINDS}
        if not defects:
            reason = "no template text, labels, copied text or non-diagnoses"
        else:
            shown = "; ".join(f"{d['section']}: {d['reason']}" for d in defects[:3])
            more = f" (+{len(defects) - 3} more)" if len(defects) > 3 else ""
            reason = f"{len(bad_sections)} of {len(_SECTIONS)} sections ill-formed: {shown}{more}"
        return self.result(
            value, reason, counts=counts, defects=defects[:20],
            copy_check=bool(copies.references) or not draft.provenance.references,
        )


_SECTIONS = (
    "findings", "diagnosis.primary", "diagnosis.reasoning", "diagnosis.differentials",
    "final_diagnosis", "rehabilitation.goals", "rehabilitation.exercises",
    "rehabilitation.precautions", "rehabilitation.monitoring",
)
_DIAGNOSIS_SECTIONS = {"diagnosis.primary", "final_diagnosis", "diagnosis.differentials"}
_COPY_SECTIONS = {"findings", "diagnosis.reasoning"}


def _section_texts(report: Report) -> list[tuple[str, str, bool]]:
    """(section, text, is a diagnosis name) for every non-empty text of the report."""
    dx, rehab = report.diagnosis, report.rehabilitation
    out: list[tuple[str, str, bool]] = [
        ("findings", report.findings, False),
        ("diagnosis.primary", dx.primary, True),
        ("diagnosis.reasoning", dx.reasoning, False),
        ("final_diagnosis", report.final_diagnosis, True),
    ]
    for d in dx.differentials:
        out += [("diagnosis.differentials", d.name, True),
                ("diagnosis.differentials", d.reasoning, False)]
    out += [("rehabilitation.goals", g, False) for g in rehab.goals]
    out += [("rehabilitation.exercises", v, False)
            for ex in rehab.exercises for v in ex.model_dump().values()]
    out += [("rehabilitation.precautions", p, False) for p in rehab.precautions]
    out += [("rehabilitation.monitoring", m, False) for m in rehab.monitoring]
    return [(sec, text, is_name) for sec, text, is_name in out if text.strip()]


def _split_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?;])\s+|\n+", text) if s.strip()]


def form_defect_notes(rows: Sequence[Any]) -> list[Any]:
    """How many drafted cases of a run have each kind of form defect, as a run note (kind
    ``form_defects``) so a summary can say "n drafts contained template text"; none when the run
    did not score ``structure.well_formed``.

    Args:
        rows: The run's `CaseRow` records.
    """
    from drafting.evaluation.records import RunNote

    scored = [m for row in rows for m in row.metrics
              if m.name == WellFormed.name and m.status == "scored"]
    if not scored:
        return []
    with_kind = {k: sum(bool(m.details.get("counts", {}).get(k)) for m in scored)
                 for k in DEFECT_KINDS}
    listed = ", ".join(f"{n} with {_KIND_WORDS[k]}" for k, n in with_kind.items())
    return [RunNote(kind="form_defects", message=f"of {len(scored)} scored drafts: {listed}",
                    details={"drafts": len(scored), "with": with_kind})]


_KIND_WORDS = {
    "template_text": "template text",
    "not_a_diagnosis": "a non-diagnosis where a diagnosis belongs",
    "reference_label": "a reference-case label",
    "copied_reference": "text copied from a reference",
}
