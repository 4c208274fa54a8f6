"""Any LangChain vector store or retriever as the reference source: tested with LangChain's own
InMemoryVectorStore (real LangChain code; embeddings from the hashed bag-of-words test embedder)."""

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import InMemoryVectorStore

from drafting.api import prepare
from drafting.cases import ReferenceStore
from drafting.llm import resolve_endpoint
from drafting.retrieval import open_retriever
from drafting.retrieval.langchain import LangChainSource, case_documents
from tests.retrieval_support import HashEmbedder, tiny_cases


class HashEmbeddings(Embeddings):
    """The test embedder behind LangChain's Embeddings interface."""

    def __init__(self) -> None:
        self.embedder = HashEmbedder()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder([text])[0].tolist()


def vector_store(docs: list[Document]) -> InMemoryVectorStore:
    vs = InMemoryVectorStore(HashEmbeddings())
    vs.add_documents(docs)
    return vs


def make_store() -> ReferenceStore:
    return ReferenceStore(tiny_cases())


def test_vector_store_hits_resolve_to_cases_of_the_store_and_never_the_query():
    store = make_store()
    source = LangChainSource(vector_store(case_documents(store)), store)
    hits = source.search(store.get("knee-acl-1"), k=3)
    assert hits[0].case_id == "knee-acl-2"
    assert "knee-acl-1" not in [h.case_id for h in hits]
    assert [h.rank for h in hits] == [1, 2, 3]
    assert hits[0].title == store.get("knee-acl-2").title
    assert source.mode == "langchain:InMemoryVectorStore"
    assert "knee-acl-2" not in {h.case_id for h in
                                source.search(store.get("knee-acl-1"), k=3,
                                              exclude_ids=["knee-acl-2"])}


def test_chunks_of_one_case_count_once_and_unknown_ids_are_skipped():
    store = make_store()
    docs = [Document(page_content="ureter calculus hydronephrosis", metadata={"case_id": "abdo-stone-1"}),
            Document(page_content="ureter calculus flank pain", metadata={"case_id": "abdo-stone-1"}),
            Document(page_content="ureter calculus", metadata={"case_id": "not-in-store"}),
            Document(page_content="ureter stone", metadata={}),
            *case_documents(store)]
    hits = LangChainSource(vector_store(docs), store).search("ureter calculus", k=4)
    ids = [h.case_id for h in hits]
    assert ids[0] == "abdo-stone-1" and ids.count("abdo-stone-1") == 1
    assert "not-in-store" not in ids and len(ids) == 4


def test_filters_apply_to_the_resolved_cases():
    store = make_store()
    source = LangChainSource(vector_store(case_documents(store)), store)
    hits = source.search(store.get("knee-acl-1"), k=5, filters={"modality": "CT"})
    assert hits and all(store.get(h.case_id).input.imaging[0].modality == "CT" for h in hits)


def test_a_langchain_retriever_works_too():
    store = make_store()
    retriever = vector_store(case_documents(store)).as_retriever(search_kwargs={"k": 4})
    hits = LangChainSource(retriever, store).search("dural based extra-axial mass", k=2)
    assert {h.case_id for h in hits} == {"brain-men-1", "brain-men-2"}


def test_drafting_takes_its_references_from_the_langchain_source():
    store = make_store()
    source = LangChainSource(vector_store(case_documents(store)), store)
    case = store.get("brain-men-1")
    _chain, state, refs, mode = prepare(case, store=None, endpoint=resolve_endpoint(fixtures="replay"),
                                        k=1, prompts=None, retrieval=source)
    assert [r.case_id for r in refs] == ["brain-men-2"]
    assert state.references[0] is store.get("brain-men-2")  # the gold comes from the case store
    assert mode == "langchain:InMemoryVectorStore"


def test_langchain_backend_by_factory_name():
    store = make_store()
    r = open_retriever(store, {"backend": "langchain",
                               "factory": "tests.retrieval.test_langchain_source:factory"})
    assert r.search(store.get("chest-pe-1"), k=1)[0].case_id != "chest-pe-1"


def factory(store: ReferenceStore) -> InMemoryVectorStore:
    """A `module:function` factory as a suite names it."""
    return vector_store(case_documents(store))
