"""The LanceDB backend, run embedded with the real engine (lancedb's Rust core) on a temp directory."""

import pytest

from drafting.cases import ReferenceStore
from drafting.errors import ConfigError
from drafting.retrieval import Retriever, lancedb_backend, open_retriever
from drafting.retrieval.lancedb_backend import LanceRetriever, connect, sync_table, where_clause
from drafting.retrieval.retriever import Filters
from tests.retrieval_support import HashEmbedder, tiny_cases

pytest.importorskip("lancedb")


@pytest.fixture
def store() -> ReferenceStore:
    return ReferenceStore(tiny_cases())


def engine(store, tmp_path, mode="hybrid", **kw) -> LanceRetriever:
    kw.setdefault("embed_fn", HashEmbedder())
    kw.setdefault("model_name", "test-hash")
    return LanceRetriever.open(store, uri=str(tmp_path / "db"), mode=mode, **kw)


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_each_mode_finds_the_expected_neighbour_and_never_the_query(store, tmp_path, mode):
    r = engine(store, tmp_path, mode)
    assert r.mode == mode
    for query_id, expected in [("knee-acl-1", "knee-acl-2"), ("brain-men-1", "brain-men-2")]:
        hits = r.search(store.get(query_id), k=3)
        assert hits[0].case_id == expected
        assert query_id not in [h.case_id for h in hits]
        assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
        assert all(h.mode == mode for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_hybrid_fuses_like_the_builtin_index(store, tmp_path):
    lance = engine(store, tmp_path, "hybrid")
    builtin = Retriever.from_store(store, mode="hybrid", embed_fn=HashEmbedder(),
                                   model_name="test-hash", use_cache=False)
    for case in store:
        a = lance.search(case, k=3)
        b = builtin.search(case, k=3)
        assert a[0].case_id == b[0].case_id, case.id
        assert a[0].retrievers == b[0].retrievers
        assert a[0].score == pytest.approx(b[0].score)  # same ranks, same fusion arithmetic


def test_exclusions_filters_and_text_queries(store, tmp_path):
    r = engine(store, tmp_path, "hybrid")
    case = store.get("knee-acl-1")
    hits = r.search(case, k=5, exclude_ids=["knee-acl-2"])
    assert {"knee-acl-1", "knee-acl-2"}.isdisjoint(h.case_id for h in hits)
    assert r.search("filling defects in the pulmonary arteries", k=1)[0].case_id == "chest-pe-1"
    ct = r.search(case, k=5, filters={"modality": "computed tomography"})
    assert ct and all(store.get(h.case_id).input.imaging[0].modality == "CT" for h in ct)
    women = r.search(case, k=5, filters=Filters(sex="female", age=(50, 70)))
    assert {h.case_id for h in women} == {"brain-men-1", "brain-men-2"}
    knees = r.search("pain", k=5, filters={"region": "KNEE"})
    assert {h.case_id for h in knees} <= {"knee-acl-1", "knee-acl-2"}
    # A case of unknown age never passes an age band.
    assert "abdo-stone-1" not in {h.case_id for h in r.search(case, k=6, filters={"age": (0, 99)})}


def test_excluded_ids_are_dropped_after_the_search_not_sent_as_a_prefilter(
        store, tmp_path, monkeypatch):
    r = engine(store, tmp_path, "hybrid")
    wheres: list[object] = []
    fts, dense = r._fts, r._dense
    monkeypatch.setattr(r, "_fts", lambda t, d, w, s=frozenset(): wheres.append(w) or fts(t, d, w, s))
    monkeypatch.setattr(r, "_dense",
                        lambda v, d, w, s=frozenset(): wheres.append(w) or dense(v, d, w, s))
    case = store.get("knee-acl-1")
    everything = [h.case_id for h in r.search(case, k=10)]
    hits = r.search(case, k=10, exclude_ids=["knee-acl-2"])
    assert wheres == [None] * 4
    assert [h.case_id for h in hits] == [c for c in everything if c != "knee-acl-2"]
    # Past MAX_POST_EXCLUDE ids the exclusion goes to the engine: the same hits either way.
    many = ["knee-acl-2", *(f"absent-{i}" for i in range(lancedb_backend.MAX_POST_EXCLUDE))]
    assert [h.case_id for h in r.search(case, k=10, exclude_ids=many)] == [h.case_id for h in hits]
    assert wheres[-1] is not None and "NOT IN" in str(wheres[-1])


def test_hits_resolve_gold_in_the_case_store_not_the_engine(store, tmp_path):
    r = engine(store, tmp_path)
    columns = set(r.table.schema.names)
    assert "gold" not in columns and not any("diagnosis" in c for c in columns)
    hit = r.search(store.get("chest-pe-1"), k=1)[0]
    assert hit.title == store.get(hit.case_id).title


def test_sync_embeds_only_new_or_changed_cases_and_prunes_removed_ones(store, tmp_path):
    db = connect(str(tmp_path / "db"))
    embed = HashEmbedder()
    first = sync_table(db, store.cases, embed_fn=embed, model_name="test-hash")
    assert (first.added, first.updated, first.deleted, first.rows) == (6, 0, 0, 6)
    again = sync_table(db, store.cases, embed_fn=embed, model_name="test-hash")
    assert not again.changed and embed.texts == 6
    cases = tiny_cases()
    changed = cases[0].model_copy(deep=True)
    changed.input.clinical_history = "Basketball landing injury; the knee buckled."
    later = sync_table(db, [changed, *cases[1:5]], embed_fn=embed, model_name="test-hash")
    assert (later.added, later.updated, later.deleted, later.rows) == (0, 1, 1, 5)
    assert embed.texts == 7  # only the changed case was embedded again
    r = LanceRetriever.open(ReferenceStore([changed, *cases[1:5]]), uri=str(tmp_path / "db"),
                            sync=False, embed_fn=embed, model_name="test-hash", mode="bm25")
    assert r.search("basketball landing", k=1)[0].case_id == changed.id
    assert "abdo-stone-1" not in {h.case_id for h in r.search("ureter calculus flank", k=5)}


def test_a_table_of_another_model_must_be_rebuilt(store, tmp_path):
    db = connect(str(tmp_path / "db"))
    sync_table(db, store.cases, embed_fn=HashEmbedder(), model_name="test-hash")
    with pytest.raises(ConfigError, match="rebuild"):
        sync_table(db, store.cases, embed_fn=HashEmbedder(), model_name="other-model")
    rebuilt = sync_table(db, store.cases, embed_fn=HashEmbedder(), model_name="other-model",
                         rebuild=True)
    assert rebuilt.added == 6


def test_missing_table_without_sync_is_a_config_error(store, tmp_path):
    with pytest.raises(ConfigError, match="drafting cases index"):
        engine(store, tmp_path, sync=False)


def test_stale_engine_rows_are_skipped_not_returned(store, tmp_path):
    engine(store, tmp_path)  # the table holds all six cases
    fewer = ReferenceStore(tiny_cases()[:4])
    r = LanceRetriever.open(fewer, uri=str(tmp_path / "db"), sync=False, embed_fn=HashEmbedder(),
                            model_name="test-hash")
    ids = {h.case_id for h in r.search("pain", k=6)}
    assert ids <= set(fewer.ids())


def test_where_clause_quotes_values():
    clause = where_clause(Filters(region="o'brien"), ["a'b"])
    assert "'%o''brien%'" in clause and "NOT IN ('a''b')" in clause
    assert where_clause(None, []) is None


def test_open_retriever_selects_the_backend(store, tmp_path):
    r = open_retriever(store, {"backend": "lancedb", "uri": str(tmp_path / "db"), "mode": "bm25"},
                       embed_fn=HashEmbedder(), model_name="test-hash")
    assert isinstance(r, LanceRetriever) and r.mode == "bm25"
    assert isinstance(open_retriever(store, {"mode": "bm25"}, cache_dir=tmp_path), Retriever)
    with pytest.raises(ConfigError, match="retrieval.backend"):
        open_retriever(store, {"backend": "elastic"})


def test_long_full_text_queries_keep_their_rarest_terms(store, tmp_path, monkeypatch):
    r = engine(store, tmp_path, "bm25", max_query_terms=2)
    assert r.term_stats().docs == len(store)
    sent: list[str] = []
    import lancedb.query

    real = lancedb.query.MatchQuery
    monkeypatch.setattr(lancedb.query, "MatchQuery", lambda q, c: sent.append(q) or real(q, c))
    hits = r.search("football injury: the knee gave way, the knee was swollen", k=1)
    assert sent == ["football swollen"]
    assert hits[0].case_id == "knee-acl-1"
    r.max_query_terms = None
    r.search("football injury: the knee gave way", k=1)
    assert sent[-1] == "football injury: the knee gave way"


def test_a_table_that_cannot_be_sampled_gets_whole_queries(store, tmp_path, monkeypatch):
    r = engine(store, tmp_path, "bm25", max_query_terms=1)

    def fail(*_a, **_k):
        raise NotImplementedError("no take on this table")

    monkeypatch.setattr(r.table, "take_offsets", fail)
    r._term_stats = None
    assert r.term_stats().docs == 0
    assert r.search("football injury: the knee gave way", k=1)[0].case_id == "knee-acl-1"
