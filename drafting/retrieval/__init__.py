"""Similar-case retrieval: BM25 (bm25s), dense cosine over MiniLM embeddings, and their
reciprocal-rank fusion, with filters, an on-disk index cache and a LangChain adapter.

Typical use::

    store = ReferenceStore.load("reference_cases")
    retriever = Retriever.from_store(store, mode="auto")
    hits = retriever.search(case, k=5)       # never returns `case` itself
    retriever.mode                            # "hybrid" or "bm25": the mode actually used
"""

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
    "FIELDS",
    "FUSION_DEPTH",
    "MODES",
    "RRF_K",
    "WEIGHTS",
    "CorpusIndex",
    "Filters",
    "Hit",
    "Retriever",
    "default_cache_dir",
    "input_text",
    "query_text",
    "reference_text",
]
