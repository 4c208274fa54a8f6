"""Similar-case retrieval: BM25 (bm25s), dense cosine over MiniLM embeddings, and their
reciprocal-rank fusion, with filters, an on-disk index cache and a LangChain adapter; the same on
the LanceDB engine (`LanceRetriever`), or through any LangChain vector store (`LangChainSource`).

Typical use::

    store = ReferenceStore.load("reference_cases")
    retriever = Retriever.from_store(store, mode="auto")
    hits = retriever.search(case, k=5)       # never returns `case` itself
    retriever.mode                            # "hybrid" or "bm25": the mode actually used

    engine = open_retriever(store, {"backend": "lancedb"})   # same interface, LanceDB engine
"""

from drafting.retrieval.backends import BACKENDS, RetrievalConfig, open_retriever
from drafting.retrieval.index import CorpusIndex, default_cache_dir
from drafting.retrieval.retriever import (
    FUSION_DEPTH,
    MODES,
    RRF_K,
    WEIGHTS,
    Filters,
    Hit,
    Retriever,
)
from drafting.retrieval.text import FIELDS, input_text, query_text, reference_text

__all__ = [
    "BACKENDS",
    "FIELDS",
    "FUSION_DEPTH",
    "MODES",
    "RRF_K",
    "WEIGHTS",
    "CorpusIndex",
    "Filters",
    "Hit",
    "RetrievalConfig",
    "Retriever",
    "default_cache_dir",
    "input_text",
    "open_retriever",
    "query_text",
    "reference_text",
]
