"""Structure metrics: is every section there, and is the fixed disclaimer there."""

from __future__ import annotations

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
