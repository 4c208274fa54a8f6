"""Diagnosis metrics: the matcher's rules and top-k hits."""

from __future__ import annotations

import pytest

from drafting.evaluation.metrics import DiagnosisMatcher, build_metrics
from drafting.schema import Diagnosis, Differential
from tests.evaluation.metrics.factories import draft_of, knee_case

NO_EMB = {"use_embeddings": False}


def test_matcher_reports_the_rule_that_matched():
    m = DiagnosisMatcher(use_embeddings=False)
    exact, fuzzy, miss = m.match_many(
        [
            ("Displaced Fracture of the Right Patella.", "displaced fracture right patella"),
            ("Right patella fracture, displaced", "Displaced fracture of the right patella"),
            ("Osteosarcoma", "Displaced fracture of the right patella"),
        ]
    )
    assert (exact.matched, exact.rule) == (True, "exact")
    assert (fuzzy.matched, fuzzy.rule) == (True, "fuzzy")
    assert (miss.matched, miss.rule) == (False, None)


def test_final_match_and_thresholds():
    case = knee_case()
    (metric,) = build_metrics([{"name": "diagnosis.final_match", **NO_EMB}])
    r = metric.score(draft_of(case.gold), case)
    assert (r.value, r.details["rule"]) == (1.0, "exact")
    wrong = case.gold.model_copy(update={"final_diagnosis": "Septic arthritis"})
    assert metric.score(draft_of(wrong), case).value == 0.0
    assert metric.score(draft_of(wrong), knee_case(final_diagnosis="")).status == "not_applicable"


def test_top_k_counts_primary_then_differentials():
    case = knee_case()
    top1, top3 = build_metrics([{"diagnosis.top1_hit": NO_EMB}, {"name": "diagnosis.top3_hit", **NO_EMB}])
    dx = Diagnosis(
        primary="Septic arthritis",
        differentials=[
            Differential(name="Gout"),
            Differential(name="Displaced fracture of the right patella"),
            Differential(name="Bipartite patella"),
        ],
    )
    draft = draft_of(case.gold.model_copy(update={"diagnosis": dx}))
    assert top1.score(draft, case).value == 0.0
    r = top3.score(draft, case)
    assert (r.value, r.details["rank"]) == (1.0, 3)
    dx.differentials.pop(1)
    assert top3.score(draft, case).value == 0.0


@pytest.mark.parametrize(
    "spec, message",
    [
        ("diagnosis.nope", "unknown metric 'diagnosis.nope'"),
        ({"name": "diagnosis.final_match", "fuzzy": 3}, "no parameter 'fuzzy'"),
        ({"diagnosis.final_match": {"fuzzy_threshold": 300}}, "fuzzy_threshold must be"),
        ("judge.faithfulness", "needs a judge endpoint"),
    ],
)
def test_build_metrics_errors_name_the_problem(spec, message):
    from drafting.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        build_metrics([spec])
