"""Rehabilitation metrics: plan validity (FITT-VP field by field), precautions and monitoring
validity, similarity to the gold plan.

Validity is judged on the draft alone (no gold needed: MedPix golds have no plan), plus the
reference cases the draft was given, when the metric has them, to catch copied text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from drafting.evaluation.metrics._defects import (
    SHINGLE,
    CopyDetector,
    not_a_sentence,
    reference_label,
    referenced_cases,
    words,
)
from drafting.evaluation.metrics._embedding import EmbeddingSimilarityMetric
from drafting.evaluation.metrics._fitt import BAD, FieldVerdict, check_field
from drafting.evaluation.metrics.base import Metric, MetricResult
from drafting.schema import Case, Draft

FITT_VP_FIELDS = ("type", "frequency", "intensity", "time", "volume", "progression")
#: Free-text fields long enough for copying to mean something; a short "3 sessions per week"
#: shared with a reference plan is a standard prescription, not a copy.
_COPY_CHECKED = ("volume", "progression")


def copy_detector(draft: Draft, gold: Case, references: Mapping[str, Case] | None) -> CopyDetector:
    """A detector over the references the draft's provenance names (own input excluded)."""
    from drafting.retrieval.text import input_text

    ids = [r.case_id for r in draft.provenance.references]
    return CopyDetector(referenced_cases(ids, references), input_text(gold.input))


def _summarise(problems: list[str], total: int, what: str) -> str:
    if not problems:
        return f"all {total} {what} valid"
    shown = "; ".join(problems[:3])
    more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
    return f"{len(problems)} of {total} {what} not valid: {shown}{more}"


class PlanValidity(Metric):
    """Mean validity of every FITT-VP field of every exercise item (0 with no items).

    Each field scores 1 (valid), 0.5 (usable but vague: "increase as tolerated") or 0 (empty,
    template text, unit nonsense, off its scale, copied from a reference), with a reason per field
    in ``details["items"]``. An item repeating an earlier one scores 0.

    Args:
        references: Reference cases by id (the suite's corpus), to catch text copied from the
            references a draft was given; without them that check is skipped.
    """

    name = "rehabilitation.plan_validity"
    section = "rehabilitation"

    def __init__(self, references: Mapping[str, Case] | None = None):
        self.references = references

    def score(self, draft: Draft, gold: Case) -> MetricResult:
        items = draft.report.rehabilitation.exercises
        if not items:
            return self.result(0.0, "the draft has no exercise items", items=[])
        copies = copy_detector(draft, gold, self.references)
        seen: dict[tuple[str, ...], int] = {}
        per_item: list[dict[str, Any]] = []
        problems: list[str] = []
        total = 0.0
        for i, ex in enumerate(items, start=1):
            key = tuple(" ".join(words(getattr(ex, f))) for f in FITT_VP_FIELDS)
            verdicts: dict[str, FieldVerdict] = {}
            for f in FITT_VP_FIELDS:
                text = getattr(ex, f)
                if key in seen:
                    verdicts[f] = FieldVerdict(BAD, f"repeats item {seen[key]}")
                    continue
                verdict = check_field(f, text)
                copyable = verdict.score > BAD and f in _COPY_CHECKED and len(words(text)) >= SHINGLE
                if copyable and (ref := copies.copied_from(text)):
                    verdict = FieldVerdict(BAD, f"copied from reference case {ref}")
                verdicts[f] = verdict
            seen.setdefault(key, i)
            per_item.append({f: {"score": v.score, "reason": v.reason} for f, v in verdicts.items()})
            for f, v in verdicts.items():
                total += v.score
                if v.score < 1:
                    problems.append(f"item {i} {f} {_quote(getattr(ex, f))}: {v.reason}")
        n = len(items) * len(FITT_VP_FIELDS)
        return self.result(total / n, _summarise(problems, n, "FITT-VP fields"), items=per_item)

    def params(self) -> dict[str, Any]:
        return {"references": self.references is not None}


class PrecautionsMonitoring(Metric):
    """Validity of the plan's precautions and monitoring: half the score each.

    Each part scores the share of its items that are real sentences (not template text, not a
    bare word list, not a reference label, not copied from a reference, not a repeat); a missing
    part scores 0.

    Args:
        references: Reference cases by id, to catch copied text (see `PlanValidity`).
    """

    name = "rehabilitation.precautions_monitoring"
    section = "rehabilitation"

    def __init__(self, references: Mapping[str, Case] | None = None):
        self.references = references

    def score(self, draft: Draft, gold: Case) -> MetricResult:
        rehab = draft.report.rehabilitation
        copies = copy_detector(draft, gold, self.references)
        parts: dict[str, float] = {}
        problems: list[str] = []
        per_part: dict[str, list[dict[str, Any]]] = {}
        for part in ("precautions", "monitoring"):
            items = [t for t in getattr(rehab, part) if t.strip()]
            if not items:
                parts[part] = 0.0
                problems.append(f"{part} missing")
                per_part[part] = []
                continue
            seen: set[str] = set()
            verdicts = []
            for text in items:
                key = " ".join(words(text))
                why = (
                    not_a_sentence(text)
                    or ("" if _PART_CUES[part].search(text) else _PART_MISSING[part])
                    or (f"reference label {lbl!r}" if (lbl := reference_label(text)) else "")
                    or (f"repeats an earlier {part} item" if key in seen else "")
                    or (f"copied from reference case {ref}" if (ref := copies.copied_from(text)) else "")
                )
                seen.add(key)
                verdicts.append({"text": text[:200], "valid": not why, "reason": why or "a sentence"})
                if why:
                    problems.append(f"{part} {_quote(text)}: {why}")
            per_part[part] = verdicts
            parts[part] = sum(v["valid"] for v in verdicts) / len(verdicts)
        value = sum(parts.values()) / 2
        reason = "precautions and monitoring are valid sentences" if not problems else "; ".join(
            problems[:3]
        ) + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else "")
        return self.result(value, reason, parts=parts, items=per_part)

    def params(self) -> dict[str, Any]:
        return {"references": self.references is not None}


#: What makes a sentence a precaution (a caution or an instruction) or a monitoring item (what
#: to observe, measure or review, or when to seek review). A finding copied into the plan has none.
_PART_CUES = {
    "precautions": re.compile(
        r"\b(?:avoid\w*|stop\w*|do not|don't|never|no\b|not\b|limit\w*|caution\w*|careful\w*|"
        r"risk\w*|watch|ensure|should|must|until|if|unless|contraindicat\w*|restrict\w*|reduc\w*|"
        r"prevent\w*|protect\w*|refrain|only|without|pause|rest|supervis\w*|gradual\w*|"
        r"seek|consult\w*|report)\b",
        re.I,
    ),
    "monitoring": re.compile(
        r"\b(?:monitor\w*|check\w*|record\w*|measur\w*|review\w*|assess\w*|track\w*|watch\w*|"
        r"report\w*|follow[- ]?up|observ\w*|inspect\w*|evaluat\w*|re-?evaluat\w*|test\w*|"
        r"seek|consult\w*|every|weekly|daily|monthly|each|visit|scale|score|level\w*|signs?|"
        r"symptoms?|heart rate|blood pressure|saturation|pain|swelling|strength|function)\b",
        re.I,
    ),
}
_PART_MISSING = {
    "precautions": "no caution or instruction: not a precaution",
    "monitoring": "names nothing to observe, measure or review: not a monitoring item",
}


def _quote(text: str, limit: int = 40) -> str:
    t = " ".join(text.split())
    return repr(t if len(t) <= limit else t[: limit - 1] + "…")


class RehabilitationSemanticSimilarity(EmbeddingSimilarityMetric):
    """Cosine similarity of the draft plan to the gold plan (flattened with `text()`)."""

    name = "rehabilitation.semantic_similarity"
    section = "rehabilitation"

    def texts(self, draft: Draft, gold: Case) -> tuple[str, str] | MetricResult:
        reference = gold.gold.rehabilitation.text().strip()
        if not reference:
            return self.not_applicable("the gold case has no rehabilitation plan")
        return reference, draft.report.rehabilitation.text().strip()
