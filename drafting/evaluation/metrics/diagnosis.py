"""Diagnosis metrics: does the draft's final diagnosis match the gold one, and is the gold final
diagnosis among the draft's top-k ranked diagnoses (primary, then differentials in order)?

One matcher decides "same diagnosis", trying three rules in order and reporting which matched:

1. ``exact``: equal after normalisation (lower case, punctuation and stop words removed);
2. ``fuzzy``: rapidfuzz ``token_set_ratio`` of the normalised texts >= ``fuzzy_threshold``
   (note: token-set matching also accepts a candidate whose words are a subset of the other's);
3. ``embedding``: MiniLM cosine >= ``embedding_threshold`` (skipped when ``use_embeddings`` is
   false or the embeddings extra is missing; the details say so).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from drafting.evaluation.metrics._text import STOPWORDS
from drafting.evaluation.metrics.base import Metric, MetricResult
from drafting.schema import Case, Draft


def normalise_diagnosis(text: str) -> str:
    """Lower case, punctuation to spaces, stop words dropped (word order kept)."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return " ".join(w for w in words if w not in STOPWORDS)


@dataclass
class Match:
    """The matcher's verdict on one (candidate, gold) pair."""

    matched: bool
    rule: str | None
    fuzzy: float
    cosine: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "rule": self.rule,
            "fuzzy": round(self.fuzzy, 2),
            "cosine": None if self.cosine is None else round(self.cosine, 4),
        }


class DiagnosisMatcher:
    """Decides whether two diagnosis texts name the same diagnosis (see the module docstring).

    Args:
        fuzzy_threshold: token_set_ratio (0-100) at or above which the fuzzy rule matches.
        embedding_threshold: Cosine (0-1) at or above which the embedding rule matches.
        use_embeddings: Try the embedding rule when the first two fail.
    """

    def __init__(
        self,
        fuzzy_threshold: float = 90.0,
        embedding_threshold: float = 0.85,
        use_embeddings: bool = True,
    ):
        if not 0 < fuzzy_threshold <= 100:
            raise ValueError("fuzzy_threshold must be in (0, 100]")
        if not 0 < embedding_threshold <= 1:
            raise ValueError("embedding_threshold must be in (0, 1]")
        self.fuzzy_threshold = fuzzy_threshold
        self.embedding_threshold = embedding_threshold
        self.use_embeddings = use_embeddings

    def params(self) -> dict[str, Any]:
        return {
            "fuzzy_threshold": self.fuzzy_threshold,
            "embedding_threshold": self.embedding_threshold,
            "use_embeddings": self.use_embeddings,
        }

    def embeddings_on(self) -> bool:
        """True when the embedding rule will run."""
        if not self.use_embeddings:
            return False
        from drafting.embeddings import available

        return available()

    def match_many(self, pairs: Sequence[tuple[str, str]]) -> list[Match]:
        """Match each (candidate, gold) pair; embeds every undecided text in one call."""
        from rapidfuzz import fuzz

        out: list[Match] = []
        undecided: list[int] = []
        for i, (cand, gold) in enumerate(pairs):
            a, b = normalise_diagnosis(cand), normalise_diagnosis(gold)
            if not a or not b:
                out.append(Match(False, None, 0.0, None))
                continue
            ratio = float(fuzz.token_set_ratio(a, b))
            if a == b:
                out.append(Match(True, "exact", ratio, None))
            elif ratio >= self.fuzzy_threshold:
                out.append(Match(True, "fuzzy", ratio, None))
            else:
                out.append(Match(False, None, ratio, None))
                undecided.append(i)
        if undecided and self.embeddings_on():
            from drafting.evaluation.metrics._embedding import batched_similarity

            sims = batched_similarity([(pairs[i][1], pairs[i][0]) for i in undecided])
            for i, sim in zip(undecided, sims, strict=True):
                out[i].cosine = sim
                if sim >= self.embedding_threshold:
                    out[i].matched, out[i].rule = True, "embedding"
        return out


class _DiagnosisMetric(Metric):
    section = "diagnosis"

    def __init__(
        self,
        fuzzy_threshold: float = 90.0,
        embedding_threshold: float = 0.85,
        use_embeddings: bool = True,
    ):
        self.matcher = DiagnosisMatcher(fuzzy_threshold, embedding_threshold, use_embeddings)
        self.kind = "embedding" if use_embeddings else "deterministic"

    def params(self) -> dict[str, Any]:
        return self.matcher.params()

    def candidates(self, draft: Draft) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def score(self, draft: Draft, gold: Case) -> MetricResult:
        return self.score_many([(draft, gold)])[0]

    def embedding_texts(self, draft: Draft, gold: Case) -> list[str]:
        target = gold.gold.final_diagnosis.strip()
        if not target or not self.matcher.embeddings_on():
            return []
        return [target, *(c for c in self.candidates(draft) if c.strip())]

    def score_many(self, pairs: Sequence[tuple[Draft, Case]]) -> list[MetricResult]:
        flat: list[tuple[str, str]] = []
        spans: list[tuple[int, int] | MetricResult] = []
        for draft, gold in pairs:
            target = gold.gold.final_diagnosis.strip()
            if not target:
                spans.append(self.not_applicable("the gold case has no final diagnosis"))
                continue
            cands = [c for c in self.candidates(draft) if c.strip()]
            spans.append((len(flat), len(flat) + len(cands)))
            flat += [(c, target) for c in cands]
        matches = self.matcher.match_many(flat)
        results: list[MetricResult] = []
        for span in spans:
            if isinstance(span, MetricResult):
                results.append(span)
                continue
            mine = matches[span[0] : span[1]]
            candidates = [c for c, _ in flat[span[0] : span[1]]]
            results.append(self.verdict(candidates, mine))
        return results

    def verdict(self, candidates: list[str], matches: list[Match]) -> MetricResult:
        details: dict[str, Any] = {
            "candidates": [{"text": c, **m.as_dict()} for c, m in zip(candidates, matches, strict=True)],
            "embedding_rule": "on" if self.matcher.embeddings_on() else "off",
        }
        if not candidates:
            return self.result(0.0, "the draft gives no diagnosis to compare", **details)
        hit = next((i for i, m in enumerate(matches) if m.matched), None)
        if hit is None:
            best = max(m.fuzzy for m in matches)
            return self.result(0.0, f"no match (best fuzzy {best:.0f})", **details)
        rank = hit + 1
        return self.result(
            1.0,
            f"matched at rank {rank} by the {matches[hit].rule} rule",
            rank=rank,
            rule=matches[hit].rule,
            **details,
        )


class FinalDiagnosisMatch(_DiagnosisMetric):
    """1 when the draft's final diagnosis (else its primary) matches the gold final diagnosis."""

    name = "diagnosis.final_match"

    def candidates(self, draft: Draft) -> list[str]:
        dx = draft.report
        return [dx.final_diagnosis or dx.diagnosis.primary]


class TopKHit(_DiagnosisMetric):
    """1 when the gold final diagnosis is among the primary plus the first k-1 differentials.

    Args:
        k: How many ranked diagnoses count.
    """

    def __init__(self, k: int = 1, **kwargs: Any):
        if int(k) < 1:
            raise ValueError("k must be at least 1")
        super().__init__(**kwargs)
        self.k = int(k)
        self.name = f"diagnosis.top{self.k}_hit"

    def params(self) -> dict[str, Any]:
        return {"k": self.k, **super().params()}

    def candidates(self, draft: Draft) -> list[str]:
        dx = draft.report.diagnosis
        return [dx.primary, *(d.name for d in dx.differentials)][: self.k]
