"""Judge metrics: a judge that fails or gives no verdict is "unscored", never 0."""

from __future__ import annotations

import asyncio

import pytest

from drafting.evaluation.metrics import build_metrics
from drafting.evaluation.metrics.judge import JudgeFaithfulness
from drafting.evaluation.scoring import score_draft
from tests.evaluation.metrics.factories import draft_of, knee_case


class RaisingLLM:
    """Stands in for a ragas LLM whose replies never parse."""

    model = "stub-judge"

    def __getattr__(self, name):
        raise RuntimeError("judge reply did not validate against the schema")


class FakeResult:
    def __init__(self, value):
        self.value = value


def test_judge_failure_is_unscored_with_reason():
    case = knee_case()
    results = score_draft(
        draft_of(case.gold),
        case,
        build_metrics(["judge.faithfulness", "judge.factual_correctness"], judge_llm=RaisingLLM()),
    )
    for r in results:
        assert r.status == "unscored" and r.value is None
        assert "judge gave no usable verdict" in r.reason


async def test_nan_and_success_from_the_judge(monkeypatch):
    case = knee_case()
    metric = JudgeFaithfulness(llm=RaisingLLM())

    class Fake:
        def __init__(self, value):
            self.value = value

        async def ascore(self, **kwargs):
            assert kwargs["retrieved_contexts"][0].startswith("Fall onto the right knee")
            return FakeResult(self.value)

    monkeypatch.setattr(metric, "ragas_metric", lambda: Fake(float("nan")))
    assert (await metric.score(draft_of(case.gold), case)).status == "unscored"
    monkeypatch.setattr(metric, "ragas_metric", lambda: Fake(0.75))
    r = await metric.score(draft_of(case.gold), case)
    assert (r.status, r.value) == ("scored", pytest.approx(0.75))


def test_judge_built_from_an_endpoint_reaches_a_keep_alive_server_from_every_event_loop(tmp_path):
    # `score` runs each case in a new asyncio.run; a client pooled by an earlier loop cannot
    # drive its kept-alive sockets, and every other judge call used to fail.
    from pydantic import BaseModel

    from drafting.llm import resolve_endpoint
    from tests.llm.fake_server import FakeOpenAIServer

    class Verdict(BaseModel):
        score: int
        reason: str

    with FakeOpenAIServer() as server:
        endpoint = resolve_endpoint(
            backend="openai", base_url=server.base_url, model="fake-model", api_key="sk-test",
            fixtures="live", structured_output="json_object_schema",
        )
        metric = JudgeFaithfulness(endpoint=endpoint)

        async def ask() -> Verdict:
            return await metric.llm.agenerate("Rate this.", Verdict)

        verdicts = [asyncio.run(ask()) for _ in range(3)]
    assert [v.score for v in verdicts] == [1, 1, 1]
    assert len(server.requests) == 3
