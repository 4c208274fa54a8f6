"""Embedding similarity two ways: ragas' SemanticSimilarity (one pair at a time) and a batched
path that embeds every text of many pairs in one `drafting.embeddings.embed` call.

Both use the same MiniLM weights and cosine similarity, so they agree to float precision; the
batched path is what `score_many` uses, the ragas path what `score` uses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import lru_cache

from drafting.evaluation.metrics.base import Metric, MetricResult
from drafting.schema import Case, Draft


@lru_cache(maxsize=1)
def ragas_semantic_similarity():  # noqa: ANN201 - a ragas metric; kept untyped to import lazily
    """A ragas `SemanticSimilarity` on the bundled MiniLM weights, built once per process."""
    import os

    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from ragas.embeddings.huggingface_provider import HuggingFaceEmbeddings
    from ragas.metrics.collections import SemanticSimilarity

    from drafting.embeddings import model_dir

    embeddings = HuggingFaceEmbeddings(model=model_dir(), device="cpu")
    return SemanticSimilarity(embeddings=embeddings)


def _run(coro):  # noqa: ANN001, ANN202
    """Run a coroutine from sync code, also when called inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def ragas_similarity(reference: str, response: str) -> float:
    """Cosine similarity of two texts through ragas SemanticSimilarity."""
    result = _run(ragas_semantic_similarity().ascore(reference=reference, response=response))
    return float(result.value)


def batched_similarity(pairs: Sequence[tuple[str, str]]) -> list[float]:
    """Cosine similarity of each (reference, response) pair, embedding all texts at once."""
    from drafting.embeddings import embed

    if not pairs:
        return []
    texts = list(dict.fromkeys(t or " " for pair in pairs for t in pair))
    index = {t: i for i, t in enumerate(texts)}
    vectors = embed(texts)
    return [float(vectors[index[a or " "]] @ vectors[index[b or " "]]) for a, b in pairs]


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

    def score(self, draft: Draft, gold: Case) -> MetricResult:
        got = self._prepare(draft, gold)
        if isinstance(got, MetricResult):
            return got
        return self._finish(ragas_similarity(*got))

    def score_many(self, pairs: Sequence[tuple[Draft, Case]]) -> list[MetricResult]:
        prepared = [self._prepare(d, g) for d, g in pairs]
        todo = [p for p in prepared if not isinstance(p, MetricResult)]
        sims = iter(batched_similarity(todo))
        return [p if isinstance(p, MetricResult) else self._finish(next(sims)) for p in prepared]
