"""Structure, rehabilitation (deterministic) and cost metrics."""

from __future__ import annotations

from drafting.evaluation.metrics import build_metrics
from drafting.schema import Exercise, Rehabilitation, Report
from tests.evaluation.metrics.factories import FULL_EXERCISE, STAGES, draft_of, knee_case


def _score(name: str, draft, case):
    (metric,) = build_metrics([name])
    return metric.score(draft, case)


def test_sections_present_counts_empty_sections():
    case = knee_case()
    assert _score("structure.sections_present", draft_of(case.gold), case).value == 1.0
    partial = case.gold.model_copy(update={"final_diagnosis": "", "findings": "  "})
    r = _score("structure.sections_present", draft_of(partial), case)
    assert r.value == 7 / 9
    assert r.details["missing"] == ["findings", "final_diagnosis"]


def test_disclaimer_must_be_the_fixed_text():
    case = knee_case()
    assert _score("structure.disclaimer", draft_of(case.gold), case).value == 1.0
    other = case.gold.model_copy(update={"disclaimer": "Not medical advice."})
    r = _score("structure.disclaimer", draft_of(other), case)
    assert (r.value, r.reason) == (0.0, "disclaimer differs from the fixed text")


def test_plan_validity_scores_each_field_of_each_item():
    # Blank fields are invalid fields: the presence check is part of validity.
    case = knee_case()
    half = Exercise(type="stretching", frequency="daily", intensity="gentle")
    rehab = Rehabilitation(exercises=[FULL_EXERCISE, half])
    r = _score("rehabilitation.plan_validity", draft_of(Report(rehabilitation=rehab)), case)
    assert r.value == 9 / 12
    assert [f for f, v in r.details["items"][1].items() if v["score"] == 0] == [
        "time", "volume", "progression"]
    assert r.details["items"][1]["time"]["reason"] == "empty"


def test_precautions_and_monitoring():
    case = knee_case()
    metric = "rehabilitation.precautions_monitoring"
    assert _score(metric, draft_of(case.gold), case).value == 1.0
    one = Report(rehabilitation=Rehabilitation(monitoring=["Record pain before each session"]))
    assert _score(metric, draft_of(one), case).value == 0.5
    assert _score(metric, draft_of(Report()), case).value == 0.0


def test_cost_metrics_are_unbounded_and_lower_is_better():
    case = knee_case()
    tokens, seconds = build_metrics(["cost.tokens", "cost.seconds"])
    draft = draft_of(case.gold, stages=STAGES)
    r = tokens.score(draft, case)
    assert r.value == 360 and not tokens.higher_is_better
    assert r.details["stages"]["diagnosis"] == {"prompt_tokens": 200, "completion_tokens": 40}
    assert seconds.score(draft, case).value == 4.0
    assert tokens.score(draft_of(case.gold), case).status == "not_applicable"
