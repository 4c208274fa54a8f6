"""Cost metrics: tokens and model seconds per draft, with a per-stage breakdown.

Unbounded and lower-is-better; a draft without stage records (scored from a Markdown file made
elsewhere) is not applicable.
"""

from __future__ import annotations

from typing import Any

from drafting.evaluation.metrics.base import Metric, MetricResult
from drafting.schema import Case, Draft, StageRecord


class _StageCost(Metric):
    """A cost summed over a draft's stages, with the per-stage figures in the details."""

    section = "cost"
    higher_is_better = False
    bounded = False

    def total(self, draft: Draft) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def per_stage(self, stage: StageRecord) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def score(self, draft: Draft, gold: Case) -> MetricResult:
        stages = draft.provenance.stages
        if not stages:
            return self.not_applicable("the draft records no stages (made elsewhere?)")
        return self.result(self.total(draft), "", stages={s.stage: self.per_stage(s) for s in stages})


class TokensUsed(_StageCost):
    """Prompt plus completion tokens over every stage."""

    name = "cost.tokens"

    def total(self, draft: Draft) -> float:
        return float(draft.provenance.total_tokens())

    def per_stage(self, stage: StageRecord) -> dict[str, int]:
        return {"prompt_tokens": stage.prompt_tokens, "completion_tokens": stage.completion_tokens}


class SecondsUsed(_StageCost):
    """Seconds spent waiting on the model over every stage."""

    name = "cost.seconds"

    def total(self, draft: Draft) -> float:
        return round(draft.provenance.total_latency_s(), 4)

    def per_stage(self, stage: StageRecord) -> float:
        return round(stage.latency_s, 4)
