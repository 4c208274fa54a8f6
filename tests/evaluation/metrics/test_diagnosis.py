"""Diagnosis metrics: verdicts from the diagnosis matcher, top-k hits, partial never a hit."""

from __future__ import annotations

import pytest

from drafting.evaluation.metrics import DiagnosisMatcher, build_metrics
from drafting.schema import Diagnosis, Differential
from tests.evaluation.metrics.factories import draft_of, knee_case

NO_EMB = {"use_embeddings": False}


def test_matcher_reports_verdict_rule_and_reason():
    m = DiagnosisMatcher(use_embeddings=False)
    same, partial, conflict, miss = m.match_many(
        [
            ("Right patella fracture, displaced", "Displaced fracture of the right patella"),
            ("Fracture", "Displaced fracture of the right patella"),
            ("Displaced fracture of the left patella", "Displaced fracture of the right patella"),
            ("Osteosarcoma", "Displaced fracture of the right patella"),
        ]
    )
    assert (same.matched, same.rule) == (True, "exact")
    assert (partial.matched, partial.verdict.verdict, partial.rule) == (False, "partial", "generic_parent")
    assert (conflict.verdict.verdict, conflict.rule) == ("different", "conflict:laterality")
    assert "left" in conflict.verdict.reason and "right" in conflict.verdict.reason
    assert miss.verdict.verdict == "different" and miss.verdict.reason


def test_final_match_and_partial_are_separate():
    case = knee_case()
    final, partial = build_metrics([{"name": "diagnosis.final_match", **NO_EMB}, "diagnosis.final_partial"])
    r = final.score(draft_of(case.gold), case)
    assert (r.value, r.details["rule"]) == (1.0, "exact")
    generic = case.gold.model_copy(update={"final_diagnosis": "Fracture"})
    r = final.score(draft_of(generic), case)
    assert r.value == 0.0 and r.reason.startswith("partial match only")
    assert r.details["partial_rank"] == 1
    assert partial.score(draft_of(generic), case).value == 1.0
    assert partial.score(draft_of(case.gold), case).value == 0.0
    wrong = case.gold.model_copy(update={"final_diagnosis": "Septic arthritis"})
    assert final.score(draft_of(wrong), case).value == 0.0
    assert partial.score(draft_of(wrong), case).value == 0.0
    assert final.score(draft_of(wrong), knee_case(final_diagnosis="")).status == "not_applicable"


def test_top_k_counts_primary_then_differentials():
    case = knee_case()
    top1, top3 = build_metrics([{"diagnosis.top1_hit": NO_EMB}, {"name": "diagnosis.top3_hit", **NO_EMB}])
    dx = Diagnosis(
        primary="Septic arthritis",
        differentials=[
            Differential(name="Patellar fracture"),  # partial: not a hit
            Differential(name="Displaced fracture of the right patella"),
            Differential(name="Bipartite patella"),
        ],
    )
    draft = draft_of(case.gold.model_copy(update={"diagnosis": dx}))
    assert top1.score(draft, case).value == 0.0
    r = top3.score(draft, case)
    assert (r.value, r.details["rank"], r.details["partial_rank"]) == (1.0, 3, 2)
    dx.differentials.pop(1)
    r = top3.score(draft, case)
    assert r.value == 0.0 and r.details["partial_rank"] == 2


def test_embedding_tiebreak_never_overrides_a_conflict_or_distinct_terms(monkeypatch):
    import drafting.evaluation.metrics._embedding as emb

    monkeypatch.setattr(DiagnosisMatcher, "embeddings_on", lambda self: True)
    # whole texts are embedded as (gold, candidate), the differing words as (candidate's, gold's)
    cosines = {"Graves orbitopathy": 0.99, "Centrilobular emphysema": 0.7, "early": 0.13}
    monkeypatch.setattr(emb, "batched_similarity", lambda pairs: [cosines.get(g, 0.99) for g, _ in pairs])
    m = DiagnosisMatcher(embedding_threshold=0.9)
    tie, below, sibling, known, conflict = m.match_many(
        [
            ("Thyroid eye disease", "Graves orbitopathy"),
            ("Panacinar emphysema", "Centrilobular emphysema"),  # a tie, cosine below threshold
            ("Early appendicitis", "Ruptured appendicitis"),  # close wholes, distant differences
            ("Colorectal adenoma", "Colorectal adenocarcinoma"),  # distinct ontology terms
            ("Chiari II", "Chiari I malformation"),
        ]
    )
    assert (tie.verdict.verdict, tie.rule, tie.cosine) == ("same", "embedding_tiebreak", 0.99)
    assert (below.verdict.verdict, below.cosine) == ("different", 0.7)
    assert (sibling.verdict.verdict, sibling.rule, sibling.cosine) == ("different", "different_core", 0.99)
    assert sibling.verdict.contrast == ("early", "ruptured")
    assert (known.verdict.verdict, known.rule, known.cosine) == ("different", "different_terms", None)
    assert (conflict.verdict.verdict, conflict.rule, conflict.cosine) == (
        "different",
        "conflict:numeral",
        None,
    )


@pytest.mark.parametrize(
    "spec, message",
    [
        ("diagnosis.nope", "unknown metric 'diagnosis.nope'"),
        ({"name": "diagnosis.final_match", "fuzzy": 3}, "no parameter 'fuzzy'"),
        ({"diagnosis.final_match": {"embedding_threshold": 3}}, "embedding_threshold must be"),
        ("judge.faithfulness", "needs a judge endpoint"),
    ],
)
def test_build_metrics_errors_name_the_problem(spec, message):
    from drafting.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        build_metrics([spec])
