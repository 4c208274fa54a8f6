"""Rehabilitation metrics: FITT-VP completeness, precautions and monitoring, similarity to gold."""

from __future__ import annotations

from drafting.evaluation.metrics._embedding import EmbeddingSimilarityMetric
from drafting.evaluation.metrics.base import Metric, MetricResult
from drafting.schema import Case, Draft

FITT_VP_FIELDS = ("type", "frequency", "intensity", "time", "volume", "progression")


class FittVpCompleteness(Metric):
    """Share of FITT-VP fields filled over all the draft's exercise items (0 with no items)."""

    name = "rehabilitation.fitt_vp_completeness"
    section = "rehabilitation"

    def score(self, draft: Draft, gold: Case) -> MetricResult:
        items = draft.report.rehabilitation.exercises
        if not items:
            return self.result(0.0, "the draft has no exercise items")
        blanks: dict[str, list[str]] = {}
        filled = 0
        for i, ex in enumerate(items, start=1):
            empty = [f for f in FITT_VP_FIELDS if not getattr(ex, f).strip()]
            filled += len(FITT_VP_FIELDS) - len(empty)
            if empty:
                blanks[str(i)] = empty
        total = len(items) * len(FITT_VP_FIELDS)
        reason = "every FITT-VP field filled" if not blanks else f"{total - filled} of {total} fields blank"
        return self.result(filled / total, reason, blank_fields=blanks, items=len(items))


class PrecautionsMonitoring(Metric):
    """1 when the plan has precautions and monitoring, 0.5 with one of them, 0 with neither."""

    name = "rehabilitation.precautions_monitoring"
    section = "rehabilitation"

    def score(self, draft: Draft, gold: Case) -> MetricResult:
        rehab = draft.report.rehabilitation
        has = {
            "precautions": any(p.strip() for p in rehab.precautions),
            "monitoring": any(m.strip() for m in rehab.monitoring),
        }
        missing = [k for k, ok in has.items() if not ok]
        reason = "both present" if not missing else f"missing: {', '.join(missing)}"
        return self.result(sum(has.values()) / 2, reason, missing=missing)


class RehabilitationSemanticSimilarity(EmbeddingSimilarityMetric):
    """Cosine similarity of the draft plan to the gold plan (flattened with `text()`)."""

    name = "rehabilitation.semantic_similarity"
    section = "rehabilitation"

    def texts(self, draft: Draft, gold: Case) -> tuple[str, str] | MetricResult:
        reference = gold.gold.rehabilitation.text().strip()
        if not reference:
            return self.not_applicable("the gold case has no rehabilitation plan")
        return reference, draft.report.rehabilitation.text().strip()
