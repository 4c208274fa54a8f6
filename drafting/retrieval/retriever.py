"""`Retriever`: similar reference cases by BM25, dense cosine, or both fused by reciprocal rank."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from drafting.cases import ReferenceStore
from drafting.errors import ConfigError
from drafting.retrieval.index import CorpusIndex, EmbedFn, load_or_build
from drafting.retrieval.text import check_fields, query_text, reference_text, tokenize
from drafting.schema import Case, CaseInput, RetrievedReference

log = logging.getLogger(__name__)

MODES = ("bm25", "dense", "hybrid", "auto")
Mode = Literal["bm25", "dense", "hybrid", "auto"]

#: Reciprocal-rank-fusion constant and per-retriever weights. The textbook choice is k = 60 with
#: equal weights (Cormack et al. 2009); on MedPix train leave-one-out (109 labelled queries) that
#: fell below BM25 alone (MRR 0.316 vs 0.370), because MiniLM is the weaker retriever on these
#: texts. A top-heavy fusion (k = 5) with dense at 0.4 tied BM25 on MRR and beat it on hit@5,
#: hit@10 and nDCG@10 there; chosen on train only, never on dev.
RRF_K = 5
WEIGHTS = {"bm25": 1.0, "dense": 0.4}
#: How deep each retriever's list goes before fusion: fusing only the top-k would drop cases
#: that both retrievers rank moderately well.
FUSION_DEPTH = 100

_MODALITY_ALIASES = {
    "mr": "mri", "magnetic resonance": "mri", "computed tomography": "ct", "xray": "x-ray",
    "radiograph": "x-ray", "radiography": "x-ray", "us": "ultrasound", "sonography": "ultrasound",
}


class Hit(BaseModel):
    """One retrieved reference case.

    Attributes:
        case_id: The reference's id.
        title: The reference's title.
        score: BM25 score, cosine similarity, or fused RRF score, by ``mode``.
        rank: 1 for the best hit.
        retrievers: Which retrievers had this case in their candidate list ("bm25", "dense").
        ranks: The case's rank in each of those retrievers' lists.
        mode: The mode that produced the hit.
    """

    case_id: str
    title: str = ""
    score: float
    rank: int
    retrievers: list[str] = Field(default_factory=list)
    ranks: dict[str, int] = Field(default_factory=dict)
    mode: str = ""

    def to_reference(self) -> RetrievedReference:
        """The hit as the `RetrievedReference` recorded in a draft's provenance."""
        return RetrievedReference(
            case_id=self.case_id, title=self.title, score=self.score, retrievers=self.retrievers
        )


@dataclass(frozen=True)
class Filters:
    """Restrict references by imaging modality, body region, sex and age band.

    Attributes:
        modality: A modality one of the reference's studies must have (e.g. "MRI", "CT").
        region: Text the region of one of the reference's studies must contain (e.g. "knee").
        sex: "female", "male", "other" or "unknown".
        age: Inclusive (min, max) years; either end may be None. Cases of unknown age are
            excluded when an age band is set.
    """

    modality: str | None = None
    region: str | None = None
    sex: str | None = None
    age: tuple[int | None, int | None] | None = None

    @classmethod
    def coerce(cls, value: Filters | Mapping[str, Any] | None) -> Filters | None:
        """Accept a `Filters`, a mapping of its fields, or None.

        Raises:
            ConfigError: Unknown filter names.
        """
        if value is None or isinstance(value, Filters):
            return value
        unknown = set(value) - {"modality", "region", "sex", "age"}
        if unknown:
            raise ConfigError(f"unknown retrieval filter(s): {', '.join(sorted(unknown))}",
                              field="filters")
        age = value.get("age")
        return cls(modality=value.get("modality"), region=value.get("region"),
                   sex=value.get("sex"), age=tuple(age) if age is not None else None)

    def is_empty(self) -> bool:
        """True when no filter is set."""
        return not (self.modality or self.region or self.sex or self.age)


def normalise_modality(text: str) -> str:
    t = text.strip().lower()
    return _MODALITY_ALIASES.get(t, t)


def case_modalities(case: Case) -> set[str]:
    # Importers may put several modalities in one field ("CT, MRI").
    out: set[str] = set()
    for m in case.input.modalities():
        out.update(normalise_modality(p) for p in re.split(r"[,;/+]| and ", m) if p.strip())
    return out


class SearchBackend:
    """`search` as every built-in backend offers it (`Retriever`, `LanceRetriever`): the query is
    resolved here, once; a backend ranks in `_search`."""

    def search(
        self,
        query: Case | CaseInput | str,
        k: int = 5,
        filters: Filters | Mapping[str, Any] | None = None,
        exclude_ids: Iterable[str] = (),
        *,
        query_vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The ``k`` reference cases most similar to ``query``, best first.

        Args:
            query: A case (its input only is used; its own id is excluded), a case input, or text.
            k: How many hits at most.
            filters: Optional `Filters` (or a mapping of their fields), applied before ranking.
            exclude_ids: More case ids never to return.
            query_vector: The query's embedding, when already computed (skips embedding it).

        Returns:
            Hits ranked 1..n (n <= k); fewer when filters leave fewer references.
        """
        if k <= 0:
            return []
        text, own_id = query_text(query)
        exclude = [*exclude_ids, *([own_id] if own_id else [])]
        return self._search(text, k, Filters.coerce(filters), exclude, query_vector)

    def _search(
        self, text: str, k: int, filters: Filters | None, exclude: list[str],
        query_vector: np.ndarray | None,
    ) -> list[Hit]:
        """The ranked hits of a resolved query (``k`` >= 1; ``exclude`` has the query's own id)."""
        raise NotImplementedError


def resolve_mode(mode: str, embed_fn: EmbedFn | None) -> tuple[str, bool]:
    """(mode to use, whether texts can be embedded) for a requested mode: ``auto`` is hybrid
    when ``embed_fn`` or the embeddings extra can embed, else BM25.

    Raises:
        ConfigError: Not one of `MODES`.
    """
    from drafting import embeddings

    if mode not in MODES:
        raise ConfigError(f"unknown retrieval mode '{mode}' (choose from {', '.join(MODES)})",
                          field="mode")
    can_embed = embed_fn is not None or embeddings.available()
    if mode == "auto":
        mode = "hybrid" if can_embed else "bm25"
    return mode, can_embed


def stored_case(
    store: ReferenceStore, case_id: str, filters: Filters | None, *, missing: str
) -> Case | None:
    """The store's case behind a search engine's hit, or None when the filters refuse it: the
    store's copy is the truth when the engine's row is stale. A case the store lacks is logged
    (``missing``: a %-format for its id) and skipped (None)."""
    if case_id not in store:
        log.warning(missing, case_id)
        return None
    case = store.get(case_id)
    if filters is not None and not filters.is_empty() and not matches_filters(case, filters):
        return None
    return case


class Retriever(SearchBackend):
    """Similar-case retrieval over a `ReferenceStore`.

    Build one with `Retriever.from_store`. ``mode`` is the mode actually used ("bm25", "dense" or
    "hybrid"); "auto" resolves to hybrid when the embeddings extra is installed, else BM25.
    """

    def __init__(
        self,
        store: ReferenceStore,
        index: CorpusIndex,
        *,
        mode: str,
        fields: tuple[str, ...],
        embed_fn: EmbedFn | None,
        rrf_k: int = RRF_K,
        weights: Mapping[str, float] | None = None,
    ):
        self.store = store
        self.index = index
        self.mode = mode
        self.fields = fields
        self.rrf_k = rrf_k
        self.weights = {**WEIGHTS, **(weights or {})}
        self._embed_fn = embed_fn
        self._pos = {case_id: i for i, case_id in enumerate(index.ids)}
        self._filter_cache: dict[Filters, np.ndarray] = {}

    @property
    def from_cache(self) -> bool:
        """True when the index was loaded from the on-disk cache without building anything."""
        return self.index.from_cache

    @classmethod
    def from_store(
        cls,
        store: ReferenceStore,
        mode: Mode | str = "auto",
        fields: Sequence[str] = ("input",),
        cache_dir: str | Path | None = None,
        *,
        use_cache: bool = True,
        embed_fn: EmbedFn | None = None,
        model_name: str | None = None,
        rrf_k: int = RRF_K,
        weights: Mapping[str, float] | None = None,
    ) -> Retriever:
        """Index a store (or load its cached index) and return a retriever.

        Args:
            store: The reference cases.
            mode: "bm25", "dense", "hybrid", or "auto" (hybrid when embeddings are available).
            fields: What to index per reference: "input" (history + imaging, required),
                optionally "findings" and "diagnosis" from its gold report.
            cache_dir: Root of the index cache; None for the default location.
            use_cache: False to neither read nor write the cache.
            embed_fn: Texts to unit vectors; defaults to MiniLM (`drafting.embeddings.embed`).
            model_name: Names ``embed_fn`` in the cache key; defaults to the MiniLM name.
            rrf_k: The reciprocal-rank-fusion constant.
            weights: Per-retriever fusion weights (default `WEIGHTS`), e.g. {"dense": 0.4}.

        Raises:
            ConfigError: Unknown mode or field, or a dense mode without the embeddings extra.
        """
        from drafting import embeddings

        mode, can_embed = resolve_mode(mode, embed_fn)
        fields = check_fields(fields)
        if mode != "bm25" and not can_embed:
            raise ConfigError(
                f"retrieval mode '{mode}' needs the 'embeddings' extra: "
                "pip install 'drafting[embeddings]'", field="mode",
            )
        corpus_embed_fn = embed_fn
        if embed_fn is None and mode != "bm25":
            embed_fn = embeddings.embed
            # The index caches the corpus vectors itself; kept out of the per-text cache, a query
            # that happens to equal a corpus text still gets its own one-text embedding.
            corpus_embed_fn = partial(embeddings.embed, cache=False)
        name = model_name or embeddings.MODEL_NAME
        ids = store.ids()
        texts = [reference_text(c, fields) for c in store]
        index = load_or_build(
            ids, texts, fields=fields, model_name=name,
            embed_fn=corpus_embed_fn if mode != "bm25" else None,
            cache_dir=cache_dir, use_cache=use_cache,
        )
        return cls(store, index, mode=mode, fields=fields, embed_fn=embed_fn, rrf_k=rrf_k,
                   weights=weights)

    # --- search ---------------------------------------------------------------------------------

    def _search(
        self, text: str, k: int, filters: Filters | None, exclude: list[str],
        query_vector: np.ndarray | None,
    ) -> list[Hit]:
        allowed = self._allowed(filters, exclude)
        depth = max(k, FUSION_DEPTH) if self.mode == "hybrid" else k
        lists: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if self.mode in ("bm25", "hybrid"):
            scores = self._bm25_scores(text)
            lists["bm25"] = _top(scores, allowed & (scores > 0), depth)
        if self.mode in ("dense", "hybrid"):
            corpus_vectors = self.index.embeddings
            if corpus_vectors is None or (query_vector is None and self._embed_fn is None):
                # `from_store` always provides both for these modes; a hand-built one may not.
                raise ConfigError(
                    f"retrieval mode {self.mode!r} needs embeddings, and this retriever has none",
                    field="retrieval_mode",
                )
            if query_vector is None and self._embed_fn is not None:
                query_vector = self._embed_fn([text])[0]
            sims = corpus_vectors @ np.asarray(query_vector, dtype=np.float32)
            lists["dense"] = _top(sims, allowed, depth)
        if self.mode == "hybrid":
            return self._fuse(lists, k)
        (name, (order, values)), = lists.items()
        return [self._hit(i, float(v), r, {name: r}) for r, (i, v) in
                enumerate(zip(order[:k], values[:k], strict=True), start=1)]

    def _bm25_scores(self, text: str) -> np.ndarray:
        tokens = tokenize([text])[0]
        ids = self.index.bm25.get_tokens_ids(tokens)
        if not ids:
            return np.zeros(len(self.index.ids), dtype=np.float32)
        return self.index.bm25.get_scores_from_ids(ids)

    def _fuse(self, lists: dict[str, tuple[np.ndarray, np.ndarray]], k: int) -> list[Hit]:
        fused: dict[int, float] = {}
        ranks: dict[int, dict[str, int]] = {}
        for name, (order, _values) in lists.items():
            w = self.weights.get(name, 1.0)
            for r, i in enumerate(order.tolist(), start=1):
                fused[i] = fused.get(i, 0.0) + w / (self.rrf_k + r)
                ranks.setdefault(i, {})[name] = r
        # Ties: the better single-retriever rank first, then store order, for stable output.
        best = sorted(fused, key=lambda i: (-fused[i], min(ranks[i].values()), i))[:k]
        return [self._hit(i, fused[i], r, ranks[i]) for r, i in enumerate(best, start=1)]

    def _hit(self, i: int, score: float, rank: int, ranks: dict[str, int]) -> Hit:
        case = self.store.cases[i]
        return Hit(case_id=case.id, title=case.title, score=score, rank=rank,
                   retrievers=[n for n in ("bm25", "dense") if n in ranks], ranks=ranks,
                   mode=self.mode)

    # --- filters --------------------------------------------------------------------------------

    def _allowed(self, filters: Filters | None, exclude: Sequence[str]) -> np.ndarray:
        n = len(self.index.ids)
        if filters is None or filters.is_empty():
            allowed = np.ones(n, dtype=bool)
        else:
            if filters not in self._filter_cache:
                self._filter_cache[filters] = np.fromiter(
                    (matches_filters(c, filters) for c in self.store.cases), dtype=bool, count=n
                )
            allowed = self._filter_cache[filters].copy()
        for case_id in exclude:
            pos = self._pos.get(case_id)
            if pos is not None:
                allowed[pos] = False
        return allowed

    # --- LangChain ------------------------------------------------------------------------------

    def as_langchain_retriever(
        self, k: int = 5, filters: Filters | Mapping[str, Any] | None = None
    ) -> Any:
        """This retriever as a LangChain ``BaseRetriever`` (documents carry id and score)."""
        from drafting.retrieval.langchain import CaseRetriever

        return CaseRetriever(retriever=self, k=k, filters=Filters.coerce(filters))


def matches_filters(case: Case, f: Filters) -> bool:
    inp = case.input
    if f.modality and normalise_modality(f.modality) not in case_modalities(case):
        return False
    if f.region and not any(f.region.strip().lower() in r for r in inp.regions()):
        return False
    if f.sex and inp.sex != f.sex.strip().lower():
        return False
    if f.age:
        low, high = f.age
        if inp.age is None:
            return False
        if (low is not None and inp.age < low) or (high is not None and inp.age > high):
            return False
    return True


def _top(scores: np.ndarray, valid: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``depth`` best valid entries, best first (ties: lower index)."""
    candidates = np.flatnonzero(valid)
    if candidates.size == 0:
        return candidates, scores[candidates]
    values = scores[candidates]
    if candidates.size > depth:
        part = np.argpartition(-values, depth - 1)[:depth]
        candidates, values = candidates[part], values[part]
    order = np.lexsort((candidates, -values))
    return candidates[order], values[order]
