"""Retrieval evaluation: hit@k, MRR and nDCG against diagnosis labels.

A retrieved reference is relevant when its normalised diagnosis label (`Case.label`) equals the
query's. Queries whose label no reference shares cannot be hit by any retriever: they are counted
apart ("no label in corpus"), never as misses. Leave-one-out evaluates a corpus against itself (the
query is never its own reference); otherwise separate queries search the corpus.
"""

from __future__ import annotations

import logging
import math
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from drafting.cases import ReferenceStore
from drafting.schema import Case

log = logging.getLogger(__name__)

DEFAULT_KS = (1, 3, 5, 10)

#: Whole-word abbreviations expanded before labels are compared (lower case, after punctuation
#: is removed). Kept short and unambiguous in radiology teaching-case titles.
ABBREVIATIONS = {
    "avm": "arteriovenous malformation",
    "ms": "multiple sclerosis",
    "gbm": "glioblastoma multiforme",
    "tb": "tuberculosis",
    "hcc": "hepatocellular carcinoma",
    "dvt": "deep vein thrombosis",
    "pe": "pulmonary embolism",
    "nf1": "neurofibromatosis type 1",
    "nf2": "neurofibromatosis type 2",
    "nf": "neurofibromatosis",
    "hsv": "herpes simplex virus",
    "dcis": "ductal carcinoma in situ",
    "adpkd": "autosomal dominant polycystic kidney disease",
    "acl": "anterior cruciate ligament",
    "pcl": "posterior cruciate ligament",
    "sah": "subarachnoid hemorrhage",
    "sdh": "subdural hematoma",
    "ich": "intracerebral hemorrhage",
    "opll": "ossification of the posterior longitudinal ligament",
    "pcp": "pneumocystis pneumonia",
    "jna": "juvenile nasopharyngeal angiofibroma",
    "papvr": "partial anomalous pulmonary venous return",
    "dva": "developmental venous anomaly",
    "aaa": "abdominal aortic aneurysm",
    "copd": "chronic obstructive pulmonary disease",
    "ards": "acute respiratory distress syndrome",
    "lcp": "legg calve perthes",
    "scfe": "slipped capital femoral epiphysis",
}
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5"}
_PARENS = re.compile(r"\([^()]*\)")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalise_label(label: str) -> str:
    """A diagnosis label reduced for comparison.

    Lower case, accents and punctuation removed, possessive "'s" dropped, parenthetical asides
    dropped (they hold synonyms and abbreviations: "Arteriovenous Malformation (AVM)"), common
    abbreviations expanded ("AVM" -> "arteriovenous malformation"), and roman numerals after
    "type", "grade" or "stage" made arabic.
    """
    text = unicodedata.normalize("NFKD", label)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("\u2019", "'").lower()
    stripped = _PARENS.sub(" ", text)
    if _NON_WORD.sub("", stripped):  # keep the aside when it is all there is
        text = stripped
    text = re.sub(r"'s\b", "", text)
    words = _NON_WORD.sub(" ", text.replace("'", "")).split()
    out: list[str] = []
    for i, w in enumerate(words):
        if i and w in _ROMAN and words[i - 1] in ("type", "grade", "stage"):
            w = _ROMAN[w]
        out.extend(ABBREVIATIONS.get(w, w).split())
    return " ".join(out)


# --- metrics on one ranking --------------------------------------------------------------------


def hit_at(relevant: Sequence[bool], k: int) -> float:
    """1.0 when a relevant reference is among the first ``k``, else 0.0."""
    return 1.0 if any(relevant[:k]) else 0.0


def reciprocal_rank(relevant: Sequence[bool]) -> float:
    """1 / rank of the first relevant reference in the list, 0.0 when there is none."""
    for i, rel in enumerate(relevant, start=1):
        if rel:
            return 1.0 / i
    return 0.0


def ndcg_at(relevant: Sequence[bool], k: int, n_relevant: int) -> float:
    """Binary-relevance nDCG@k; the ideal ranking puts ``min(k, n_relevant)`` relevant first."""
    dcg = sum(1.0 / math.log2(i + 1) for i, rel in enumerate(relevant[:k], start=1) if rel)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(k, n_relevant) + 1))
    return dcg / ideal if ideal else 0.0


# --- summaries ---------------------------------------------------------------------------------


@dataclass
class QueryOutcome:
    """One query's ranking, reduced to relevance flags."""

    query_id: str
    label: str
    n_relevant: int
    relevant: list[bool]
    retrieved: list[str] = field(default_factory=list)


@dataclass
class ModeSummary:
    """Aggregate figures of one retrieval mode.

    ``mrr`` is computed over the retrieved depth (the largest k).
    """

    mode: str
    ks: list[int]
    hit_at: dict[int, float]
    mrr: float
    ndcg: float
    ndcg_k: int
    queries: int
    no_label_in_corpus: int
    no_label: int
    seconds: float = 0.0
    index_from_cache: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (hit@k keys as "hit@5")."""
        d = asdict(self)
        d["hit_at"] = {f"hit@{k}": v for k, v in self.hit_at.items()}
        d["ndcg"] = {f"ndcg@{self.ndcg_k}": self.ndcg}
        return d


def summarise(mode: str, outcomes: Sequence[QueryOutcome], ks: Sequence[int], *,
              no_label_in_corpus: int, no_label: int) -> ModeSummary:
    """Average the per-query metrics of the counted queries."""
    n = len(outcomes)
    top = max(ks)

    def mean(values: list[float]) -> float:
        return sum(values) / n if n else 0.0

    return ModeSummary(
        mode=mode,
        ks=list(ks),
        hit_at={k: mean([hit_at(o.relevant, k) for o in outcomes]) for k in ks},
        mrr=mean([reciprocal_rank(o.relevant) for o in outcomes]),
        ndcg=mean([ndcg_at(o.relevant, top, o.n_relevant) for o in outcomes]),
        ndcg_k=top,
        queries=n,
        no_label_in_corpus=no_label_in_corpus,
        no_label=no_label,
    )


def evaluate_rankings(
    mode: str,
    queries: Sequence[Case],
    corpus: Sequence[Case],
    search: Callable[[Case, int], Sequence[str]],
    ks: Sequence[int] = DEFAULT_KS,
) -> tuple[ModeSummary, list[QueryOutcome]]:
    """Score one search function: ``search(query, k) -> ranked reference ids``.

    Args:
        mode: Name reported in the summary.
        queries: The query cases (their labels are read here, never by ``search``).
        corpus: The reference cases ``search`` ranks.
        search: Returns reference ids, best first; it must not return the query itself.
        ks: Cut-offs for hit@k; the largest is the retrieval depth and the nDCG cut-off.
    """
    labels = {c.id: normalise_label(c.label()) for c in corpus}
    counts = Counter(v for v in labels.values() if v)
    depth = max(ks)
    outcomes: list[QueryOutcome] = []
    no_label = no_label_in_corpus = 0
    for q in queries:
        label = normalise_label(q.label())
        if not label:
            no_label += 1
            continue
        # The query's own entry (leave-one-out) is not a reference it could find.
        n_rel = counts[label] - (1 if labels.get(q.id) == label else 0)
        if n_rel <= 0:
            no_label_in_corpus += 1
            continue
        ids = list(search(q, depth))[:depth]
        outcomes.append(QueryOutcome(q.id, label, n_rel, [labels.get(i) == label for i in ids],
                                     ids))
    summary = summarise(mode, outcomes, ks, no_label_in_corpus=no_label_in_corpus,
                        no_label=no_label)
    return summary, outcomes


def evaluate_retrieval(
    corpus: ReferenceStore,
    queries: Sequence[Case] | None = None,
    *,
    modes: Sequence[str] = ("bm25", "dense", "hybrid"),
    ks: Sequence[int] = DEFAULT_KS,
    fields: Sequence[str] = ("input",),
    cache_dir: str | Path | None = None,
    retriever_options: dict[str, Any] | None = None,
    backend: dict[str, Any] | None = None,
) -> list[ModeSummary]:
    """Evaluate each retrieval mode, leave-one-out over ``corpus`` or with separate ``queries``.

    Args:
        corpus: The reference cases.
        queries: Query cases; None for leave-one-out over the corpus.
        modes: Retrieval modes to evaluate, each reported separately.
        ks: Cut-offs for hit@k (sorted, positive).
        fields: Indexed fields of each reference.
        cache_dir: Root of the index cache (None for the default).
        retriever_options: Extra keyword arguments for the backend's constructor.
        backend: A retrieval backend configuration (`RetrievalConfig` fields, e.g.
            ``{"backend": "lancedb", "uri": ...}``); None for the built-in index.

    Returns:
        One summary per mode, in ``modes`` order.
    """
    from drafting.retrieval.backends import open_retriever

    ks = sorted({int(k) for k in ks})
    query_cases = list(queries) if queries is not None else list(corpus)
    summaries = []
    for mode in modes:
        start = time.perf_counter()
        retriever = open_retriever(corpus, {**(backend or {}), "mode": mode}, cache_dir=cache_dir,
                                   fields=fields, **(retriever_options or {}))
        summary, _ = evaluate_rankings(
            mode, query_cases, corpus.cases,
            lambda q, k, r=retriever: [h.case_id for h in r.search(q, k=k)], ks,
        )
        summary.seconds = time.perf_counter() - start
        summary.index_from_cache = retriever.from_cache
        log.info("retrieval eval %s: %d queries counted in %.1fs", mode, summary.queries,
                 summary.seconds)
        summaries.append(summary)
    return summaries
