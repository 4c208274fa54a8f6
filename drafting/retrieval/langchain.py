"""LangChain both ways: our retriever as a LangChain ``BaseRetriever`` (`CaseRetriever`), and any
LangChain vector store or retriever as our reference source (`LangChainSource`).

Imported only when used, so langchain stays out of ``import drafting``.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from drafting.retrieval.text import reference_text


class CaseRetriever(BaseRetriever):
    """Documents whose page_content is a reference's indexed input text.

    Metadata per document: ``case_id``, ``score``, ``title``, ``retrievers``, ``rank``, ``mode``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any
    k: int = 5
    filters: Any = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        hits = self.retriever.search(query, k=self.k, filters=self.filters)
        docs = []
        for hit in hits:
            case = self.retriever.store.get(hit.case_id)
            docs.append(
                Document(
                    page_content=reference_text(case, ("input",)),
                    metadata={
                        "case_id": hit.case_id,
                        "score": hit.score,
                        "title": hit.title,
                        "retrievers": list(hit.retrievers),
                        "rank": hit.rank,
                        "mode": hit.mode,
                    },
                )
            )
        return docs


def case_documents(store: Any, fields: tuple[str, ...] = ("input",)) -> list[Document]:
    """One LangChain document per reference case, carrying its id in ``metadata["case_id"]``.

    Add these to any LangChain vector store to use it as the reference source; the gold reports
    stay in ``store``.
    """
    return [Document(page_content=reference_text(c, fields), metadata={"case_id": c.id},
                     id=c.id) for c in store]


class LangChainSource:
    """Reference retrieval through any LangChain vector store or retriever.

    Documents must carry the reference's case id in their metadata (``id_key``); the case store
    resolves it, so a team's existing index (Elasticsearch, OpenSearch, pgvector, ... through
    LangChain's integrations) grounds drafts in cases whose gold stays in the store. Several
    documents (chunks) of one case count once, at their best rank.

    The same interface as the built-in `Retriever` (``search``, ``store``, ``mode``,
    ``from_cache``).

    Args:
        source: A LangChain ``VectorStore`` (searched with ``similarity_search_with_score``, or
            ``similarity_search``) or ``BaseRetriever`` (``invoke``; it returns as many documents
            as it is configured to).
        store: Resolves case ids (a `ReferenceStore`, or anything with ``get`` and ``in``).
        id_key: The metadata key holding the case id.
        overfetch: Documents asked for per hit wanted, so exclusions, filters and chunks of one
            case still leave ``k`` hits.
    """

    from_cache = True

    def __init__(self, source: Any, store: Any, *, id_key: str = "case_id", overfetch: int = 4):
        self.source = source
        self.store = store
        self.id_key = id_key
        self.overfetch = max(1, overfetch)
        self.mode = f"langchain:{type(source).__name__}"

    def _documents(self, text: str, fetch: int) -> list[tuple[Document, float | None]]:
        from langchain_core.vectorstores import VectorStore

        if isinstance(self.source, VectorStore):
            try:
                return list(self.source.similarity_search_with_score(text, k=fetch))
            except NotImplementedError:
                return [(d, None) for d in self.source.similarity_search(text, k=fetch)]
        return [(d, None) for d in self.source.invoke(text)]

    def search(self, query: Any, k: int = 5, filters: Any = None, exclude_ids: Any = (), *,
               query_vector: Any = None) -> list[Any]:
        """The ``k`` reference cases most similar to ``query``, best first.

        Same contract as `Retriever.search` (a `Case` query never returns itself; ``exclude_ids``
        are never returned; filters are applied to the resolved cases). ``query_vector`` is
        ignored: the LangChain source embeds with its own embedding model.
        """
        from drafting.retrieval.retriever import Filters, Hit, stored_case
        from drafting.retrieval.text import query_text

        if k <= 0:
            return []
        text, own_id = query_text(query)
        exclude = {*exclude_ids, *([own_id] if own_id else [])}
        flt = Filters.coerce(filters)
        fetch = (k + len(exclude)) * self.overfetch
        hits: list[Hit] = []
        seen: set[str] = set()
        for doc, score in self._documents(text, fetch):
            cid = (doc.metadata or {}).get(self.id_key)
            if cid is None or cid in seen or cid in exclude:
                continue
            seen.add(cid)
            case = stored_case(self.store, cid, flt, missing="LangChain document for case %s has "
                               "no case in the store; skipped")
            if case is None:
                continue
            rank = len(hits) + 1
            hits.append(Hit(case_id=cid, title=case.title,
                            score=float(score) if score is not None else 1.0 / rank, rank=rank,
                            retrievers=["langchain"], ranks={"langchain": rank}, mode=self.mode))
            if len(hits) == k:
                break
        return hits
