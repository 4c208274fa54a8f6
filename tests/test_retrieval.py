import logging

import pytest

from drafting import embeddings
from drafting.cases import ReferenceStore
from drafting.errors import ConfigError
from drafting.retrieval import RRF_K, WEIGHTS, Filters, Hit, Retriever, reference_text
from drafting.schema import CaseInput, ImagingStudy, Report, RetrievedReference
from tests.retrieval_support import HashEmbedder, tiny_cases
from tests.support import medpix_file, requires_medpix


@pytest.fixture
def store() -> ReferenceStore:
    return ReferenceStore(tiny_cases())


def make(store, mode="hybrid", tmp_path=None, **kw) -> Retriever:
    kw.setdefault("embed_fn", HashEmbedder())
    kw.setdefault("model_name", "test-hash")
    return Retriever.from_store(store, mode=mode, cache_dir=tmp_path,
                                use_cache=tmp_path is not None, **kw)


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_each_mode_finds_the_expected_neighbour_and_never_the_query(store, mode):
    r = make(store, mode)
    assert r.mode == mode
    for query_id, expected in [("knee-acl-1", "knee-acl-2"), ("brain-men-1", "brain-men-2")]:
        hits = r.search(store.get(query_id), k=3)
        assert hits[0].case_id == expected
        assert query_id not in [h.case_id for h in hits]
        assert [h.rank for h in hits] == [1, 2, 3]
        assert all(h.mode == mode for h in hits)
        assert hits[0].score >= hits[1].score >= hits[2].score


def test_a_dense_retriever_built_without_embeddings_says_so(store):
    bm25_only = make(store, "bm25")
    hand_built = Retriever(
        store, bm25_only.index, mode="dense", fields=bm25_only.fields, embed_fn=HashEmbedder()
    )
    with pytest.raises(ConfigError, match="needs embeddings"):
        hand_built.search(store.get("knee-acl-1"), k=1)


def test_hybrid_records_which_retrievers_found_each_hit(store):
    hits = make(store, "hybrid").search(store.get("knee-acl-1"), k=5)
    top = hits[0]
    assert top.retrievers == ["bm25", "dense"]
    assert top.ranks == {"bm25": 1, "dense": 1}
    # Rank 1 in both lists: the weighted reciprocal ranks add up.
    assert top.score == pytest.approx((WEIGHTS["bm25"] + WEIGHTS["dense"]) / (RRF_K + 1))
    equal = make(store, "hybrid", rrf_k=60, weights={"dense": 1.0})
    assert equal.search(store.get("knee-acl-1"), k=1)[0].score == pytest.approx(2 / 61)
    # BM25 only lists cases sharing a term; dense lists every case.
    assert all("dense" in h.retrievers for h in hits)


def test_exclude_ids_and_queries_by_input_or_text(store):
    r = make(store, "bm25")
    case = store.get("knee-acl-1")
    hits = r.search(case, k=5, exclude_ids=["knee-acl-2"])
    assert {"knee-acl-1", "knee-acl-2"}.isdisjoint(h.case_id for h in hits)
    # A bare CaseInput has no id: the identical reference is found first.
    assert r.search(case.input, k=1)[0].case_id == "knee-acl-1"
    assert r.search("pulmonary arteries filling defects", k=1)[0].case_id == "chest-pe-1"
    assert r.search("zzzz qqqq", k=3) == []  # no shared term: BM25 finds nothing


def test_query_gold_is_never_used(store):
    r = make(store, "hybrid")
    query = store.get("knee-acl-1")
    misleading = query.model_copy(update={
        "id": "q-1", "topic": "Meningioma",
        "gold": Report(findings="dural-based extra-axial mass meningioma falx dural tail",
                       final_diagnosis="Meningioma"),
    })
    plain = query.model_copy(update={"id": "q-1"})
    assert r.search(misleading, k=5) == r.search(plain, k=5)


def test_filters(store):
    r = make(store, "bm25")
    q = "mass pain injury flight seizure headaches knee"
    ids = lambda f: {h.case_id for h in r.search(q, k=10, filters=f)}  # noqa: E731
    assert ids(Filters(modality="CT")) == {"brain-men-2", "chest-pe-1", "abdo-stone-1"}
    assert ids({"modality": "mr"}) == {"knee-acl-1", "knee-acl-2", "brain-men-1"}
    assert ids({"region": "knee"}) == {"knee-acl-1", "knee-acl-2"}
    assert ids({"sex": "male"}) == {"knee-acl-2", "chest-pe-1", "abdo-stone-1"}
    # Age band is inclusive; unknown ages never match a band.
    assert ids({"age": (30, 60)}) == {"knee-acl-2", "brain-men-2", "chest-pe-1"}
    assert ids({"age": (None, 30)}) == {"knee-acl-1"}
    assert ids({"sex": "female", "modality": "MRI", "age": (50, None)}) == {"brain-men-1"}
    with pytest.raises(ConfigError, match="unknown retrieval filter"):
        r.search(q, filters={"colour": "red"})


def test_hit_converts_to_retrieved_reference(store):
    hit = make(store, "bm25").search(store.get("chest-pe-1"), k=1)[0]
    assert isinstance(hit, Hit)
    ref = hit.to_reference()
    assert isinstance(ref, RetrievedReference)
    assert (ref.case_id, ref.title, ref.score, ref.retrievers) == (
        hit.case_id, hit.title, hit.score, ["bm25"])


def test_fields_are_explicit(store):
    assert "Meningioma" not in reference_text(store.get("brain-men-1"))
    assert "Meningioma" in reference_text(store.get("brain-men-1"), ("input", "diagnosis"))
    with_dx = make(store, "bm25", fields=("input", "diagnosis"))
    assert with_dx.search("meningioma", k=5)[0].case_id in {"brain-men-1", "brain-men-2"}
    assert make(store, "bm25").search("meningioma", k=5) == []
    with pytest.raises(ConfigError, match="unknown retrieval field"):
        make(store, "bm25", fields=("input", "discussion"))
    with pytest.raises(ConfigError, match="must include 'input'"):
        make(store, "bm25", fields=("diagnosis",))


def test_auto_mode_and_missing_embeddings(store, monkeypatch):
    assert make(store, "auto").mode == "hybrid"
    monkeypatch.setattr(embeddings, "available", lambda: False)
    r = Retriever.from_store(store, mode="auto", use_cache=False)
    assert r.mode == "bm25"
    assert r.search(store.get("knee-acl-1"), k=1)[0].mode == "bm25"
    with pytest.raises(ConfigError, match="embeddings"):
        Retriever.from_store(store, mode="dense", use_cache=False)
    with pytest.raises(ConfigError, match="unknown retrieval mode"):
        Retriever.from_store(store, mode="fuzzy", use_cache=False)


def test_cache_hit_and_invalidation(store, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="drafting.retrieval")
    first = HashEmbedder()
    r1 = make(store, "hybrid", tmp_path, embed_fn=first)
    assert not r1.from_cache and first.texts == len(store)
    assert "retrieval index built" in caplog.text
    caplog.clear()
    second = HashEmbedder()
    r2 = make(store, "hybrid", tmp_path, embed_fn=second)
    assert r2.from_cache and second.calls == 0  # nothing re-embedded
    assert "retrieval index loaded from cache" in caplog.text
    assert "Twisting" not in caplog.text  # ids and paths only, never case text
    q = store.get("knee-acl-1")
    assert r2.search(q, k=5) == r1.search(q, k=5)

    # Any change to a case's indexed text gives a new key: rebuilt, not reused.
    cases = tiny_cases()
    changed = CaseInput(clinical_history="Flank pain.",
                        imaging=[ImagingStudy(modality="CT", description="Stone.")])
    cases[5] = cases[5].model_copy(update={"input": changed})
    third = HashEmbedder()
    r3 = make(ReferenceStore(cases), "hybrid", tmp_path, embed_fn=third)
    assert not r3.from_cache and third.texts == len(store)
    # Another embedding model or field set is another entry too.
    assert not make(store, "hybrid", tmp_path, model_name="other-model").from_cache
    assert not make(store, "bm25", tmp_path, fields=("input", "diagnosis")).from_cache
    # BM25-only entries gain embeddings later without rebuilding BM25.
    assert make(store, "bm25", tmp_path, fields=("input", "diagnosis")).from_cache


def test_damaged_cache_entry_is_rebuilt(store, tmp_path):
    r = make(store, "bm25", tmp_path)
    (r.index.directory / "meta.json").write_text("{not json", encoding="utf-8")
    again = make(store, "bm25", tmp_path)
    assert not again.from_cache
    assert make(store, "bm25", tmp_path).from_cache


def test_langchain_retriever_documents(store):
    from langchain_core.retrievers import BaseRetriever

    lc = make(store, "hybrid").as_langchain_retriever(k=2)
    assert isinstance(lc, BaseRetriever)
    docs = lc.invoke("football knee injury anterior cruciate ligament tear")
    assert len(docs) == 2
    assert {d.metadata["case_id"] for d in docs} == {"knee-acl-1", "knee-acl-2"}
    meta = docs[0].metadata
    assert set(meta) >= {"case_id", "score", "title", "retrievers"}
    assert meta["retrievers"] == ["bm25", "dense"] and meta["score"] > 0
    assert docs[0].page_content == reference_text(store.get(meta["case_id"]))
    assert "Anterior cruciate ligament tear" not in docs[0].page_content  # gold not included
    ct = make(store, "bm25").as_langchain_retriever(k=3, filters={"modality": "CT"})
    assert [d.metadata["case_id"] for d in ct.invoke("extra-axial mass")] == ["brain-men-2"]


@pytest.mark.skipif(not embeddings.available(), reason="needs the embeddings extra (MiniLM)")
def test_minilm_dense_finds_the_neighbour(store, tmp_path):
    r = Retriever.from_store(store, mode="dense", cache_dir=tmp_path)
    assert r.search(store.get("knee-acl-2"), k=1)[0].case_id == "knee-acl-1"
    assert r.search(store.get("chest-pe-1"), k=5)[0].case_id != "chest-pe-1"
    assert Retriever.from_store(store, mode="dense", cache_dir=tmp_path).from_cache


@pytest.mark.skipif(not embeddings.available(), reason="needs the embeddings extra (MiniLM)")
def test_corpus_vectors_stay_in_the_index_and_queries_are_embedded_on_their_own(
    store, tmp_path, monkeypatch
):
    import diskcache

    monkeypatch.setenv("DRAFTING_CACHE_DIR", str(tmp_path / "home-cache"))
    r = Retriever.from_store(store, mode="dense", cache_dir=tmp_path / "index")
    vectors = tmp_path / "home-cache" / "embeddings"
    assert not vectors.exists() or len(diskcache.Cache(str(vectors))) == 0
    query = store.get("knee-acl-2")
    r.search(query, k=1)
    with diskcache.Cache(str(vectors)) as cache:
        assert len(cache) == 1  # the query text alone, embedded as one text


@requires_medpix
def test_medpix_bm25_leave_one_out(tmp_path):
    from drafting.evaluation.retrieval_eval import evaluate_retrieval
    from drafting.importers import import_cases

    cases, _ = import_cases("medpix", medpix_file("train"))
    [summary] = evaluate_retrieval(ReferenceStore(cases), modes=("bm25",), cache_dir=tmp_path)
    # 532 cases, most with a topic no other case shares: those are reported apart.
    assert summary.queries + summary.no_label_in_corpus + summary.no_label == len(cases)
    assert summary.queries >= 100
    assert summary.hit_at[10] > 0.4 and summary.mrr > 0.25  # measured 0.578 and 0.370
