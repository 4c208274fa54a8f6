"""Diagnosis metrics: does the draft's final diagnosis match the gold one, and is the gold final
diagnosis among the draft's top-k ranked diagnoses (primary, then differentials in order)?

Every metric asks `drafting.diagnoses.match_diagnosis` for a verdict per candidate: ``same`` (a
hit), ``partial`` (a correct but less specific or incomplete form of the gold: never a hit,
reported in the details and by ``diagnosis.final_partial``) or ``different``, each with the rule
that decided and a one-line reason (see that module for the rules: qualifier conflicts, the
Human Disease Ontology's synonyms and hierarchy, abbreviations in context).

Embeddings only break ties: when the deterministic matcher found no conflict and no relation,
and the words that differ are not all names the terminology knows (rules ``different_core`` and
``different_subtype``: "Thyroid eye disease" vs "Thyroid ophthalmopathy", "Pulmonary
cryptococcosis" vs "Cryptococcal pneumonia"), a MiniLM cosine >= ``embedding_threshold`` (0.80)
of the two texts, and >= 0.30 of the words that differ alone, turns the verdict into ``same`` (rule
``embedding_tiebreak``). The second cosine is there because a shared head noun lifts the first:
"Early appendicitis" vs "Ruptured appendicitis" reach 0.83 as wholes, 0.13 as "early" vs
"ruptured"; "Thyroid eye disease" vs "Thyroid ophthalmopathy" 0.84 and 0.44. Two differing
names the terminology does know are distinct terms (rule ``different_terms``: "polymyositis" vs
"dermatomyositis", "adenoma" vs "adenocarcinoma", whose embeddings are close) and stay
different; so does every conflict. Skipped when ``use_embeddings`` is false or the embeddings
extra is missing (the details say so).

Both thresholds were set on the labelled pairs' tune split and a few siblings written for the
purpose: the highest whole-text cosine of a different tune pair left to the tie-break is 0.71,
pairs labelled same reach 0.77-0.89; their differing words alone reach 0.35-0.83, siblings'
mostly 0.13-0.20 ("pyogenic" vs "amebic", "hydatid" vs "simple"). Some siblings still pass:
"Tension" vs "Simple pneumothorax" scores 0.83 and 0.37.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from drafting.diagnoses import DiagnosisVerdict, match_diagnosis
from drafting.evaluation.metrics.base import Metric, MetricResult, in_range
from drafting.schema import Case, Draft

#: The only rules an embedding may overturn: no conflict, no relation found, and words the
#: terminology does not name differ.
TIE_RULES = frozenset({"different_core", "different_subtype"})
#: Tuned on the labelled pairs' tune split (see the module docstring).
DEFAULT_THRESHOLD = 0.80
#: The cosine the differing words alone must reach too (`DiagnosisVerdict.contrast`).
CONTRAST_THRESHOLD = 0.30


@dataclass
class Match:
    """One (candidate, gold) verdict, with the cosine when the embedding tie-break ran."""

    verdict: DiagnosisVerdict
    cosine: float | None = None

    @property
    def matched(self) -> bool:
        """True for ``same``."""
        return self.verdict.verdict == "same"

    @property
    def rule(self) -> str:
        return self.verdict.rule

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "verdict": self.verdict.verdict, "rule": self.verdict.rule, "reason": self.verdict.reason,
        }
        if self.cosine is not None:
            out["cosine"] = round(self.cosine, 4)
        return out


class DiagnosisMatcher:
    """Verdicts for (candidate, gold) pairs: `match_diagnosis`, with an optional embedding tie-break.

    Args:
        embedding_threshold: Cosine (0-1) at or above which MiniLM turns an undecided
            verdict (`TIE_RULES`) into ``same``.
        use_embeddings: Run the tie-break (needs the embeddings extra).
    """

    def __init__(self, embedding_threshold: float = DEFAULT_THRESHOLD, use_embeddings: bool = True):
        self.embedding_threshold = in_range("embedding_threshold", embedding_threshold, 1)
        self.use_embeddings = use_embeddings

    def params(self) -> dict[str, Any]:
        return {"embedding_threshold": self.embedding_threshold, "use_embeddings": self.use_embeddings}

    def embeddings_on(self) -> bool:
        """True when the embedding tie-break will run."""
        if not self.use_embeddings:
            return False
        from drafting.embeddings import available

        return available()

    def ties(self, pairs: Sequence[tuple[str, str]]) -> list[int]:
        """Indexes of the pairs whose verdict an embedding may break (a rule of `TIE_RULES`)."""
        return [i for i, (c, g) in enumerate(pairs) if match_diagnosis(c, g).rule in TIE_RULES]

    def match_many(self, pairs: Sequence[tuple[str, str]]) -> list[Match]:
        """A verdict per (candidate, gold) pair; embeds every tied pair in one call."""
        out = [Match(match_diagnosis(c, g)) for c, g in pairs]
        tied = self.ties(pairs) if self.embeddings_on() else []
        if tied:
            from drafting.evaluation.metrics._embedding import batched_similarity

            # the whole texts, then only the words that differ: sharing a head noun lifts the first
            # cosine ("Early" vs "Ruptured appendicitis": 0.83), the second sees the difference (0.13)
            contrasts = [out[i].verdict.contrast or pairs[i] for i in tied]
            sims = batched_similarity([(pairs[i][1], pairs[i][0]) for i in tied] + contrasts)
            for j, i in enumerate(tied):
                sim, part = sims[j], sims[len(tied) + j]
                out[i].cosine = sim
                if sim >= self.embedding_threshold and part >= CONTRAST_THRESHOLD:
                    a, b = contrasts[j]
                    out[i].verdict = DiagnosisVerdict(
                        verdict="same",
                        rule="embedding_tiebreak",
                        reason=f"no rule decided ({out[i].verdict.reason}); MiniLM cosine {sim:.2f} "
                        f">= {self.embedding_threshold}, and {part:.2f} >= {CONTRAST_THRESHOLD} for "
                        f"'{a}' vs '{b}' alone",
                    )
        return out


class _DiagnosisMetric(Metric):
    section = "diagnosis"

    def __init__(self, embedding_threshold: float = DEFAULT_THRESHOLD, use_embeddings: bool = True):
        self.matcher = DiagnosisMatcher(embedding_threshold, use_embeddings)
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
        cands = [c for c in self.candidates(draft) if c.strip()]
        tied = self.matcher.ties([(c, target) for c in cands])
        return [target, *(cands[i] for i in tied)] if tied else []

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

    def details(self, candidates: list[str], matches: list[Match]) -> dict[str, Any]:
        partial = next((i for i, m in enumerate(matches) if m.verdict.verdict == "partial"), None)
        return {
            "candidates": [{"text": c, **m.as_dict()} for c, m in zip(candidates, matches, strict=True)],
            "partial_rank": None if partial is None else partial + 1,
            "embedding_rule": "on" if self.matcher.embeddings_on() else "off",
        }

    def verdict(self, candidates: list[str], matches: list[Match]) -> MetricResult:
        details = self.details(candidates, matches)
        if not candidates:
            return self.result(0.0, "the draft gives no diagnosis to compare", **details)
        hit = next((i for i, m in enumerate(matches) if m.matched), None)
        if hit is None:
            first = matches[details["partial_rank"] - 1] if details["partial_rank"] else matches[0]
            kind = "partial match only" if details["partial_rank"] else "no match"
            return self.result(
                0.0, f"{kind}: {first.verdict.reason} ({first.rule})", rule=first.rule, **details
            )
        m = matches[hit]
        return self.result(
            1.0,
            f"matched at rank {hit + 1} by the {m.rule} rule: {m.verdict.reason}",
            rank=hit + 1,
            rule=m.rule,
            **details,
        )


class FinalDiagnosisMatch(_DiagnosisMetric):
    """1 when the draft's final diagnosis (else its primary) names the gold final diagnosis."""

    name = "diagnosis.final_match"

    def candidates(self, draft: Draft) -> list[str]:
        dx = draft.report
        return [dx.final_diagnosis or dx.diagnosis.primary]


class FinalDiagnosisPartial(FinalDiagnosisMatch):
    """1 when the draft's final diagnosis is a correct but less specific or incomplete form of the
    gold (verdict ``partial``); 0 when it matches fully or not at all. Never a hit."""

    name = "diagnosis.final_partial"

    def verdict(self, candidates: list[str], matches: list[Match]) -> MetricResult:
        details = self.details(candidates, matches)
        if not candidates:
            return self.result(0.0, "the draft gives no diagnosis to compare", **details)
        m = matches[0]
        value = 1.0 if m.verdict.verdict == "partial" else 0.0
        return self.result(value, f"{m.verdict.verdict}: {m.verdict.reason}", rule=m.rule, **details)


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
