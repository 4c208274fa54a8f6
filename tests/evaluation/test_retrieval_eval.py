import math

import pytest

from drafting.cases import ReferenceStore
from drafting.evaluation.retrieval_eval import (
    evaluate_rankings,
    evaluate_retrieval,
    hit_at,
    ndcg_at,
    normalise_label,
    reciprocal_rank,
)
from drafting.schema import Report
from tests.retrieval_support import tiny_cases


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Arteriovenous Malformation (AVM)", "AVM"),
        ("arteriovenous malformation", "Arteriovenous  malformation."),
        ("Crohn's Disease", "Crohn disease"),
        ("Wilms\u2019 tumor (nephroblastoma)", "Wilms tumor"),
        ("Multiple Sclerosis", "MS"),
        ("Neurofibromatosis type I", "Neurofibromatosis Type 1"),
        ("NF1", "neurofibromatosis type 1"),
        ("Ménière disease", "meniere disease"),
        ("ACL tear", "Anterior cruciate ligament tear"),
    ],
)
def test_labels_that_should_match(a, b):
    assert normalise_label(a) == normalise_label(b)


def test_labels_that_should_not_match():
    assert normalise_label("Meningioma") != normalise_label("Meningitis")
    assert normalise_label("Pulmonary Embolism") != normalise_label("Pulmonary hamartoma")
    # An aside that is the whole label is kept, not erased.
    assert normalise_label("(AVM)") == "arteriovenous malformation"
    assert normalise_label("  ") == ""


def test_metrics_on_a_known_ranking():
    ranking = [False, True, False, True]
    assert [hit_at(ranking, k) for k in (1, 2, 3, 4)] == [0.0, 1.0, 1.0, 1.0]
    assert reciprocal_rank(ranking) == 0.5
    assert reciprocal_rank([False, False]) == 0.0
    # DCG = 1/log2(3) + 1/log2(5); ideal with 2 relevant = 1 + 1/log2(3).
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at(ranking, 4, n_relevant=2) == pytest.approx(expected)
    assert ndcg_at(ranking, 4, n_relevant=2) == pytest.approx(0.6509209298071326)
    # Only one relevant reference exists: found at rank 2 gives 1/log2(3).
    assert ndcg_at(ranking, 2, n_relevant=1) == pytest.approx(1 / math.log2(3))
    assert ndcg_at([True], 1, n_relevant=5) == 1.0
    assert ndcg_at([], 3, n_relevant=0) == 0.0


def test_leave_one_out_counts_and_unlabelled_queries():
    cases = tiny_cases()  # labels: ACL x2 (differently written), meningioma x2, PE, stone
    rankings = {
        "knee-acl-1": ["brain-men-1", "knee-acl-2", "chest-pe-1"],   # hit at rank 2
        "knee-acl-2": ["knee-acl-1", "brain-men-1", "chest-pe-1"],   # hit at rank 1
        "brain-men-1": ["chest-pe-1", "knee-acl-1", "abdo-stone-1"],  # miss
        "brain-men-2": ["brain-men-1", "chest-pe-1", "knee-acl-1"],  # hit at rank 1
    }
    seen = []

    def search(q, k):
        seen.append(q.id)
        return rankings[q.id][:k]

    summary, outcomes = evaluate_rankings("test", cases, cases, search, ks=(1, 3))
    # The PE and the stone have no other case with their label: reported apart, not searched.
    assert summary.no_label_in_corpus == 2 and sorted(seen) == sorted(rankings)
    assert summary.queries == 4
    assert summary.hit_at == {1: 0.5, 3: 0.75}
    assert summary.mrr == pytest.approx((0.5 + 1 + 0 + 1) / 4)
    assert summary.ndcg == pytest.approx((1 / math.log2(3) + 1 + 0 + 1) / 4)
    assert {o.query_id: o.n_relevant for o in outcomes}["knee-acl-1"] == 1
    d = summary.to_dict()
    assert d["hit_at"] == {"hit@1": 0.5, "hit@3": 0.75} and d["ndcg"] == {"ndcg@3": summary.ndcg}


def test_queries_against_a_corpus_and_unlabelled_query():
    corpus = tiny_cases()
    query = corpus[0].model_copy(update={"id": "q-new"})
    blank = corpus[4].model_copy(update={"id": "q-blank", "topic": "", "gold": Report()})
    summary, outcomes = evaluate_rankings(
        "t", [query, blank], corpus, lambda q, k: ["knee-acl-1", "knee-acl-2"][:k], ks=(1, 5))
    assert summary.no_label == 1 and summary.queries == 1
    assert outcomes[0].n_relevant == 2  # both ACL cases count: the query is not in the corpus
    assert summary.ndcg == pytest.approx(1.0)


def test_evaluate_retrieval_runs_each_mode(tmp_path):
    from tests.retrieval_support import HashEmbedder

    store = ReferenceStore(tiny_cases())
    summaries = evaluate_retrieval(
        store, modes=("bm25", "hybrid"), ks=(1, 3), cache_dir=tmp_path,
        retriever_options={"embed_fn": HashEmbedder(), "model_name": "test-hash"},
    )
    assert [s.mode for s in summaries] == ["bm25", "hybrid"]
    for s in summaries:
        assert s.queries == 4 and s.no_label_in_corpus == 2
        assert s.hit_at[1] == 1.0  # each ACL and meningioma case finds its twin first
