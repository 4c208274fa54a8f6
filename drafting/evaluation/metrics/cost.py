"""Cost metrics: tokens and model seconds per draft, with a per-stage breakdown.

Unbounded and lower-is-better; a draft without stage records (scored from a Markdown file made
elsewhere) is not applicable.
"""

from __future__ import annotations

from drafting.evaluation.metrics.base import Metric, MetricResult
from drafting.schema import Case, Draft


class TokensUsed(Metric):
    """Prompt plus completion tokens over every stage."""

    name = "cost.tokens"
    section = "cost"
    higher_is_better = False
    bounded = False

    def score(self, draft: Draft, gold: Case) -> MetricResult:
        stages = draft.provenance.stages
        if not stages:
            return self.not_applicable("the draft records no stages (made elsewhere?)")
        per_stage = {
            s.stage: {"prompt_tokens": s.prompt_tokens, "completion_tokens": s.completion_tokens}
            for s in stages
        }
        return self.result(float(draft.provenance.total_tokens()), "", stages=per_stage)


class SecondsUsed(Metric):
    """Seconds spent waiting on the model over every stage."""

    name = "cost.seconds"
    section = "cost"
    higher_is_better = False
    bounded = False

    def score(self, draft: Draft, gold: Case) -> MetricResult:
        stages = draft.provenance.stages
        if not stages:
            return self.not_applicable("the draft records no stages (made elsewhere?)")
        per_stage = {s.stage: round(s.latency_s, 4) for s in stages}
        return self.result(round(draft.provenance.total_latency_s(), 4), "", stages=per_stage)
