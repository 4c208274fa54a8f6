"""Rehabilitation plan validity: each FITT-VP field and each precaution/monitoring item is judged
on its content, with a reason, so garbage cannot score full marks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from drafting.evaluation.metrics import build_metrics
from drafting.evaluation.metrics._fitt import check_field, sessions_per_week
from drafting.schema import Case, Exercise, Rehabilitation, Report, RetrievedReference
from tests.evaluation.metrics.factories import FULL_EXERCISE, draft_of, knee_case

PLANS = Path(__file__).resolve().parents[2] / "data" / "plans"


def _score(name: str, draft, case, **kwargs):
    (metric,) = build_metrics([name], **kwargs)
    return metric.score(draft, case)


def _plan_draft(rehab: Rehabilitation, **provenance):
    return draft_of(Report(rehabilitation=rehab), **provenance)


@pytest.mark.parametrize(
    "field, text",
    [
        ("type", "aerobic walking"),
        ("type", "Stationary cycling"),
        ("type", "Resistance band exercises for the hip abductors"),
        ("type", "Range of motion exercises"),
        ("type", "Tai chi"),
        ("type", "sit-to-stand practice"),
        ("frequency", "3 sessions per week"),
        ("frequency", "3x/week"),
        ("frequency", "twice daily"),
        ("frequency", "2-3 non-consecutive days per week"),
        ("frequency", "every other day"),
        ("frequency", "Five times a week"),
        ("intensity", "light, RPE 11-13"),
        ("intensity", "40-60% of 1RM"),
        ("intensity", "Moderate, 50-70% of heart rate reserve"),
        ("intensity", "60-75% HRmax"),
        ("intensity", "Borg CR10 3-4"),
        ("intensity", "able to pass the talk test"),
        ("intensity", "10RM load"),
        ("time", "20 minutes"),
        ("time", "20-30 min per session"),
        ("time", "30 s holds"),
        ("time", "1 hour"),
        ("volume", "2 sets of 10 repetitions"),
        ("volume", "3 x 12"),
        ("volume", "150 minutes per week"),
        ("volume", "3 repetitions of a 30-second hold"),
        ("volume", "30 breaths, twice"),
        ("volume", "500 kcal per week"),
        ("intensity", "100 W on the cycle ergometer"),
        ("progression", "add 5 minutes per session every 2 weeks as tolerated"),
        ("progression", "Increase the load by 5% once 12 repetitions feel easy"),
        ("progression", "Progress to a foam pad once 30-second holds are steady"),
    ],
)
def test_valid_fields_score_one(field, text):
    verdict = check_field(field, text)
    assert verdict.score == 1.0, verdict


@pytest.mark.parametrize(
    "field, text, reason_part",
    [
        ("type", "dysfunctional", "no exercise modality"),
        ("type", "dysphagia", "no exercise modality"),
        ("type", "medial deviation of internal carotid artery", "no exercise modality"),
        ("frequency", "30", "not a number of sessions"),
        ("frequency", "4-6 weeks", "not a number of sessions"),
        ("frequency", "20 times per day", "implausible"),
        ("frequency", "); {", "template text"),
        ("intensity", "normal", "no recognised scale"),
        ("intensity", "Median Deviation", "no recognised scale"),
        ("intensity", "RPE 45", "outside the Borg scales"),
        ("intensity", "250% of 1RM", "not a plausible share"),
        ("time", "every 4 days", "not a duration"),
        ("time", "5-7", "not a duration"),
        ("time", "10 hours", "implausible"),
        # a unit pint reads as time but cannot convert (a recorded SmolLM2 reply); once crashed
        ("time", "15min/day/week, 24hrs/day/month, 7d/m/year/decade.", "measures 1 / time"),
        # recorded SmolLM2 replies: "daily" as an adjective, of an amount never stated
        ("frequency", "1.5x the recommended daily exercise for", "unstated amount"),
        ("volume", "1.5 times the recommended daily volume", "unstated amount"),
        ("volume", "3.4Mg/s", "mass per time"),
        ("volume", "4x6g", "not a plausible exercise load"),
        ("volume", "50ml", "fluid volume"),
        ("volume", "Medium", "no amount"),
        ("progression", "Normal", "says no change"),
        ("progression", "RSNA-COTD Infected Dermoid Cyst", "says no change"),
        ("progression", "{{progression}}", "template text"),
        ("type", "", "empty"),
    ],
)
def test_invalid_fields_score_zero_with_the_reason(field, text, reason_part):
    verdict = check_field(field, text)
    assert verdict.score == 0.0, verdict
    assert reason_part in verdict.reason


@pytest.mark.parametrize(
    "field, text", [("intensity", "as tolerated"), ("progression", "Increase gradually")]
)
def test_vague_fields_score_half(field, text):
    assert check_field(field, text).score == 0.5


@pytest.mark.parametrize(
    "text, per_week",
    [("3 sessions per week", 3), ("twice daily", 14), ("every other day", 3.5), ("daily", 7),
     ("3 times per day, 5 days a week", 15), ("once a week", 1), ("2-3 days/week", 2.5)],
)
def test_frequency_parses_to_sessions_per_week(text, per_week):
    assert sessions_per_week(text) == pytest.approx(per_week)


def test_the_issue_garbage_plan_scores_far_below_one():
    # The plan the issue quotes: the presence-only metric gave it 1.0.
    case = knee_case()
    garbage = Rehabilitation(
        exercises=[Exercise(type="dysfunctional", frequency="30", intensity="normal",
                            time="5-7", volume="3.4Mg/s", progression="Normal")],
        precautions=["{{id}} {{{name}}}, {{description}},"],
        monitoring=["Bone marrow", "chest pain"],
    )
    plan = _score("rehabilitation.plan_validity", _plan_draft(garbage), case)
    assert plan.value == 0.0
    assert "3.4Mg/s" in str(plan.details["items"][0]["volume"]["reason"])
    pm = _score("rehabilitation.precautions_monitoring", _plan_draft(garbage), case)
    assert pm.value == 0.0
    assert "template" in pm.reason


@pytest.mark.parametrize("plan_file", sorted(PLANS.glob("*.yaml")), ids=lambda p: p.stem)
def test_clinician_written_plans_score_at_least_0_9(plan_file):
    rehab = Rehabilitation(**yaml.safe_load(plan_file.read_text(encoding="utf-8")))
    case = knee_case()
    for name in ("rehabilitation.plan_validity", "rehabilitation.precautions_monitoring"):
        result = _score(name, _plan_draft(rehab), case)
        assert result.value >= 0.9, (name, result.reason)


def test_a_repeated_item_scores_zero():
    case = knee_case()
    r = _score("rehabilitation.plan_validity",
               _plan_draft(Rehabilitation(exercises=[FULL_EXERCISE, FULL_EXERCISE])), case)
    assert r.value == 0.5
    assert r.details["items"][1]["type"]["reason"] == "repeats item 1"


def test_no_exercise_items_score_zero():
    r = _score("rehabilitation.plan_validity", draft_of(Report()), knee_case())
    assert (r.status, r.value) == ("scored", 0.0)


def _reference_with_plan() -> Case:
    ref = knee_case().model_copy(update={"id": "ref-1"})
    ref.gold.rehabilitation = Rehabilitation(
        precautions=["Avoid high impact loading of the knee for the first six weeks after surgery."],
        exercises=[FULL_EXERCISE.model_copy(
            update={"progression": "Increase walking time by five minutes every week until thirty"})],
    )
    return ref


def test_text_copied_from_a_reference_plan_scores_zero():
    case, ref = knee_case(), _reference_with_plan()
    copied = Rehabilitation(
        exercises=[FULL_EXERCISE.model_copy(update={"progression": ref.gold.rehabilitation
                                                    .exercises[0].progression})],
        precautions=list(ref.gold.rehabilitation.precautions),
        monitoring=["Review pain and swelling weekly"],
    )
    refs = [RetrievedReference(case_id="ref-1", score=1.0)]
    draft = _plan_draft(copied, references=refs)
    with_refs = {"references": {"ref-1": ref}}
    plan = _score("rehabilitation.plan_validity", draft, case, **with_refs)
    assert plan.details["items"][0]["progression"] == {
        "score": 0.0, "reason": "copied from reference case ref-1"}
    assert plan.value == pytest.approx(5 / 6)
    pm = _score("rehabilitation.precautions_monitoring", draft, case, **with_refs)
    assert pm.value == 0.5 and "copied from reference case ref-1" in pm.reason
    # Without the corpus the copy check cannot run, and nothing else is wrong with the plan.
    assert _score("rehabilitation.plan_validity", draft, case).value == 1.0


def test_precautions_and_monitoring_must_be_real_sentences_of_their_kind():
    case = knee_case()
    metric = "rehabilitation.precautions_monitoring"
    good = Rehabilitation(precautions=["Avoid kneeling"], monitoring=["Record pain on a 0-10 scale"])
    assert _score(metric, _plan_draft(good), case).value == 1.0
    finding = Rehabilitation(
        precautions=["Thinning and irregularity of the anterior talofibular ligament"],
        monitoring=["Record pain on a 0-10 scale"],
    )
    r = _score(metric, _plan_draft(finding), case)
    assert r.value == 0.5 and "not a precaution" in r.reason
    words_only = Rehabilitation(precautions=["Dyspnea"], monitoring=["none recorded"])
    assert _score(metric, _plan_draft(words_only), case).value == 0.0
    assert _score(metric, draft_of(Report()), case).value == 0.0
