"""Findings metrics: support (negation, laterality), ROUGE-L, BLEU, semantic similarity."""

from __future__ import annotations

import asyncio

import pytest

from drafting.embeddings import available as embeddings_available
from drafting.evaluation.metrics import build_metrics
from drafting.evaluation.metrics._text import analyse_sentence
from drafting.evaluation.scoring import score_draft
from tests.evaluation.metrics.factories import knee_case, with_findings


def _support(findings: str, case=None):
    case = case or knee_case()
    (metric,) = build_metrics(["findings.support"])
    return metric.score(with_findings(case, findings), case)


def test_negation_and_laterality_are_read_per_term():
    s = analyse_sentence("No fracture of the left patella, but a right knee effusion.")
    uses = {u.term: u for u in s.uses}
    assert uses["fracture"].negated and uses["patella"].negated
    assert not uses["effusion"].negated  # "but" ends the negation's scope
    assert uses["patella"].laterality == "left" and uses["knee"].laterality == "right"


def test_supported_statements_score_one():
    r = _support("Displaced fracture of the right patella.\nJoint effusion.\nNo dislocation.")
    assert r.value == 1.0, r.details


def test_flipped_negation_is_unsupported():
    r = _support("Displaced fracture of the right patella.\nThere is a dislocation.")
    assert r.value == 0.5
    assert r.details["unsupported"][0]["negation_conflicts"] == ["dislocation"]
    # and the reverse: denying what the input reports
    assert _support("No fracture of the right patella.").value == 0.0


def test_negation_with_words_between_cue_and_term():
    case = knee_case()
    case.input.imaging[0].description += " There were no associated abscess collections."
    assert _support("No abscess.", case).value == 1.0


def test_swapped_laterality_is_unsupported():
    r = _support("Displaced fracture of the left patella.")
    assert r.value == 0.0
    assert r.details["unsupported"][0]["laterality_conflicts"] == ["left: the input gives right"]
    # the side the input gives for this finding, and a side-less statement, are supported
    assert _support("Displaced fracture of the right patella.\nThe left patella is intact.").value == 1.0


def test_invented_findings_are_unsupported():
    r = _support("Large osteosarcoma with periosteal reaction.")
    assert r.value == 0.0
    assert "osteosarcoma" in r.details["unsupported"][0]["missing_terms"]


def test_empty_findings_are_not_applicable():
    r = _support("")
    assert r.status == "not_applicable" and r.value is None


def test_rouge_and_bleu_against_gold():
    case = knee_case()
    metrics = build_metrics(["findings.rouge_l", "findings.bleu"])
    same = with_findings(case, case.gold.findings)
    assert [r.value for r in score_draft(same, case, metrics)] == [pytest.approx(1.0)] * 2
    other = with_findings(case, "Normal knee radiograph.")
    assert all(r.value < 0.3 for r in score_draft(other, case, metrics))
    no_gold = knee_case(findings="")
    assert score_draft(same, no_gold, metrics)[0].status == "not_applicable"


@pytest.mark.skipif(not embeddings_available(), reason="needs the embeddings extra")
def test_semantic_similarity_batched_equals_ragas_one_by_one():
    case = knee_case()
    (metric,) = build_metrics(["findings.semantic_similarity"])
    drafts = [
        with_findings(case, case.gold.findings),
        with_findings(case, "The right kneecap is broken and the joint is swollen."),
        with_findings(case, "Normal chest radiograph."),
    ]
    one_by_one = [asyncio.run(metric.score(d, case)) for d in drafts]  # the ragas path
    batched = metric.score_many([(d, case) for d in drafts])
    for a, b in zip(one_by_one, batched, strict=True):
        assert a.value == pytest.approx(b.value, abs=1e-5)
    assert batched[0].value == pytest.approx(1.0, abs=1e-5)
    assert batched[1].value > batched[2].value
