"""Embedding similarity two ways: ragas' SemanticSimilarity (one pair at a time) and a batched
path that embeds every text of many pairs in one `drafting.embeddings.embed` call.

Both use the same MiniLM weights and cosine similarity, so they agree to float precision; the
batched path is what `score_many` uses (the scorer's path), the ragas path what `score` (async)
uses.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from drafting.evaluation.metrics.base import Metric, MetricResult
from drafting.schema import Case, Draft


@lru_cache(maxsize=1)
def ragas_semantic_similarity() -> Any:
    """A ragas `SemanticSimilarity` on the bundled MiniLM weights, built once per process."""
    import os

    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from ragas.embeddings.huggingface_provider import HuggingFaceEmbeddings
    from ragas.metrics.collections import SemanticSimilarity

    from drafting.embeddings import model_dir

    embeddings = HuggingFaceEmbeddings(model=model_dir(), device="cpu")
    return SemanticSimilarity(embeddings=embeddings)


async def ragas_similarity(reference: str, response: str) -> float:
    """Cosine similarity of two texts through ragas SemanticSimilarity."""
    result = await ragas_semantic_similarity().ascore(reference=reference, response=response)
    return float(result.value)


#: Recent text -> unit vector; the same gold text is compared by several metrics in a run.
_VECTOR_CACHE: OrderedDict[str, Any] = OrderedDict()
_VECTOR_CACHE_SIZE = 4096


def embed_cached(texts: Sequence[str]) -> list[Any]:
    """Unit vectors of ``texts``, embedding only those not seen recently, in one call."""
    from drafting.embeddings import embed

    todo = list(dict.fromkeys(t for t in texts if t not in _VECTOR_CACHE))
    if todo:
        for text, vector in zip(todo, embed(todo), strict=True):
            _VECTOR_CACHE[text] = vector
            if len(_VECTOR_CACHE) > _VECTOR_CACHE_SIZE:
                _VECTOR_CACHE.popitem(last=False)
    out = []
    for t in texts:
        _VECTOR_CACHE.move_to_end(t)
        out.append(_VECTOR_CACHE[t])
    return out


def batched_similarity(pairs: Sequence[tuple[str, str]]) -> list[float]:
    """Cosine similarity of each (reference, response) pair, embedding all texts at once."""
    if not pairs:
        return []
    flat = [t or " " for pair in pairs for t in pair]
    vectors = embed_cached(flat)
    return [float(vectors[2 * i] @ vectors[2 * i + 1]) for i in range(len(pairs))]


class EmbeddingSimilarityMetric(Metric):
    """Base for "similarity of a draft text to a gold text" metrics.

    Subclasses implement `texts`, returning (gold text, draft text), or a finished result when
    the pair cannot be scored (an empty gold field gives not-applicable).
    """

    kind = "embedding"

    def texts(self, draft: Draft, gold: Case) -> tuple[str, str] | MetricResult:
        """The (reference, response) texts to compare, or a result without a score."""
        raise NotImplementedError  # pragma: no cover

    def _finish(self, similarity: float) -> MetricResult:
        # Cosine can dip below 0 for unrelated texts; the metric range is [0, 1].
        return self.result(max(0.0, min(1.0, similarity)), "", cosine=round(similarity, 6))

    def _prepare(self, draft: Draft, gold: Case) -> tuple[str, str] | MetricResult:
        got = self.texts(draft, gold)
        if isinstance(got, MetricResult):
            return got
        reference, response = got
        if not response.strip():
            return self.result(0.0, "the draft's section is empty")
        return reference, response

    async def score(self, draft: Draft, gold: Case) -> MetricResult:
        got = self._prepare(draft, gold)
        if isinstance(got, MetricResult):
            return got
        return self._finish(await ragas_similarity(*got))

    def embedding_texts(self, draft: Draft, gold: Case) -> list[str]:
        got = self._prepare(draft, gold)
        return [] if isinstance(got, MetricResult) else [t or " " for t in got]

    def score_many(self, pairs: Sequence[tuple[Draft, Case]]) -> list[MetricResult]:
        prepared = [self._prepare(d, g) for d, g in pairs]
        todo = [p for p in prepared if not isinstance(p, MetricResult)]
        sims = iter(batched_similarity(todo))
        return [p if isinstance(p, MetricResult) else self._finish(next(sims)) for p in prepared]
