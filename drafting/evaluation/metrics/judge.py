"""Judge metrics: ragas LLM metrics, run only when a judge endpoint is configured.

- ``judge.faithfulness``: ragas Faithfulness of the draft findings to the case input text;
- ``judge.factual_correctness``: ragas FactualCorrectness of the draft's diagnosis (primary and
  final) against the gold final diagnosis.

Any exception from the judge, and any reply that does not parse (ragas raises, or gives NaN),
becomes an ``unscored`` result with the reason, never 0. The judge goes through the same
endpoint layer, so its calls are recorded and replayed like the drafting calls.
"""

from __future__ import annotations

import math
from typing import Any

from drafting.evaluation.metrics.base import Metric, MetricResult, error_reason
from drafting.evaluation.metrics.findings import input_text
from drafting.schema import Case, Draft


class JudgeMetric(Metric):
    """Base of the ragas LLM metrics.

    Args:
        llm: A ragas LLM (what `drafting.llm.judge_llm` returns); tests pass a stub.
        endpoint: A judge `Endpoint`; used to build the llm lazily when ``llm`` is not given.
    """

    kind = "judge"
    section = "judge"

    def __init__(self, llm: Any = None, endpoint: Any = None):
        if llm is None and endpoint is None:
            raise ValueError("a judge metric needs a judge endpoint (or an llm object)")
        self._llm = llm
        self.endpoint = endpoint

    def params(self) -> dict[str, Any]:
        model = getattr(self.endpoint, "model", None) or getattr(self._llm, "model", None)
        return {"judge_model": str(model) if model else None}

    @property
    def llm(self) -> Any:
        """The ragas LLM, built on first use from the endpoint."""
        if self._llm is None:
            from drafting.llm import judge_llm

            self._llm = judge_llm(self.endpoint)
        return self._llm

    def inputs(self, draft: Draft, gold: Case) -> dict[str, Any] | MetricResult:
        """The keyword arguments of the ragas metric's ``ascore``, or a result without a score."""
        raise NotImplementedError  # pragma: no cover

    def ragas_metric(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    async def score(self, draft: Draft, gold: Case) -> MetricResult:
        got = self.inputs(draft, gold)
        if isinstance(got, MetricResult):
            return got
        try:
            result = await self.ragas_metric().ascore(**got)
            value = float(result.value)
        except Exception as exc:  # noqa: BLE001 - any judge failure is "unscored", by design
            return self.unscored(f"judge gave no usable verdict: {error_reason(exc)}")
        if math.isnan(value):
            return self.unscored("judge gave no usable verdict: the score is NaN (no statements?)")
        reason = getattr(result, "reason", None) or ""
        return self.result(max(0.0, min(1.0, value)), str(reason)[:500])


class JudgeFaithfulness(JudgeMetric):
    """ragas Faithfulness of the draft findings to the case input."""

    name = "judge.faithfulness"

    def ragas_metric(self) -> Any:
        from ragas.metrics.collections import Faithfulness

        return Faithfulness(llm=self.llm)

    def inputs(self, draft: Draft, gold: Case) -> dict[str, Any] | MetricResult:
        if not draft.report.findings.strip():
            return self.not_applicable("the draft has no findings to check")
        return {
            "user_input": "Describe the imaging findings of this case.",
            "response": draft.report.findings,
            "retrieved_contexts": [input_text(gold)],
        }


class JudgeFactualCorrectness(JudgeMetric):
    """ragas FactualCorrectness of the draft diagnosis against the gold final diagnosis."""

    name = "judge.factual_correctness"

    def ragas_metric(self) -> Any:
        from ragas.metrics.collections import FactualCorrectness

        return FactualCorrectness(llm=self.llm)

    def inputs(self, draft: Draft, gold: Case) -> dict[str, Any] | MetricResult:
        reference = gold.gold.final_diagnosis.strip()
        if not reference:
            return self.not_applicable("the gold case has no final diagnosis")
        report = draft.report
        response = "\n".join(p for p in (report.diagnosis.primary, report.final_diagnosis) if p.strip())
        if not response:
            return self.result(0.0, "the draft gives no diagnosis")
        return {"response": response, "reference": reference}
