"""The retriever as a LangChain ``BaseRetriever``: text in, reference documents out.

Imported only by `Retriever.as_langchain_retriever`, so langchain stays out of ``import drafting``.
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
