"""Findings metrics: overlap with the gold findings (ROUGE-L, BLEU, semantic similarity) and
support by the case input (a hallucination proxy that needs no gold)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from drafting.evaluation.metrics import _text
from drafting.evaluation.metrics._embedding import EmbeddingSimilarityMetric
from drafting.evaluation.metrics.base import Metric, MetricResult, in_range
from drafting.schema import Case, Draft


def _gold_and_draft_findings(metric: Metric, draft: Draft, gold: Case) -> tuple[str, str] | MetricResult:
    reference = gold.gold.findings.strip()
    if not reference:
        return metric.not_applicable("the gold case has no findings")
    return reference, draft.report.findings.strip()


class _RagasTextMetric(Metric):
    """A ragas collections text-overlap metric on the findings."""

    section = "findings"

    def _ragas_metric(self) -> Any:
        raise NotImplementedError  # pragma: no cover

    async def score(self, draft: Draft, gold: Case) -> MetricResult:
        got = _gold_and_draft_findings(self, draft, gold)
        if isinstance(got, MetricResult):
            return got
        reference, response = got
        if not response:
            return self.result(0.0, "the draft has no findings")
        value = (await self._ragas_metric().ascore(reference=reference, response=response)).value
        return self.result(float(value))


class FindingsRougeL(_RagasTextMetric):
    """ROUGE-L F-measure of the draft findings against the gold findings (ragas RougeScore)."""

    name = "findings.rouge_l"

    def _ragas_metric(self) -> Any:
        from ragas.metrics.collections import RougeScore

        return RougeScore(rouge_type="rougeL", mode="fmeasure")


class FindingsBleu(_RagasTextMetric):
    """BLEU of the draft findings against the gold findings (ragas BleuScore), in [0, 1]."""

    name = "findings.bleu"

    def _ragas_metric(self) -> Any:
        from ragas.metrics.collections import BleuScore

        return BleuScore()


class FindingsSemanticSimilarity(EmbeddingSimilarityMetric):
    """Cosine similarity of draft and gold findings on MiniLM (ragas SemanticSimilarity)."""

    name = "findings.semantic_similarity"
    section = "findings"

    def texts(self, draft: Draft, gold: Case) -> tuple[str, str] | MetricResult:
        return _gold_and_draft_findings(self, draft, gold)


# --- support --------------------------------------------------------------------------------


def input_text(case: Case) -> str:
    """The case input as one text: history, imaging descriptions, labs."""
    parts = [case.input.clinical_history, case.input.imaging_text(), case.input.labs]
    return "\n".join(p for p in parts if p)


class _InputIndex:
    """Key terms of the case input with the negations and lateralities they occur with."""

    def __init__(self, text: str):
        self.polarity: dict[str, set[bool]] = defaultdict(set)
        self.sentences = _text.analyse_text(text)
        self.sentence_terms = [set(s.terms) for s in self.sentences]
        for sent in self.sentences:
            for use in sent.uses:
                self.polarity[use.term].add(use.negated)
        self.vocabulary = list(self.polarity)
        self._cache: dict[str, str | None] = {}

    def lookup(self, term: str, cutoff: float) -> str | None:
        """The input term matching ``term``: exactly, fuzzily (plural, spelling) or by word family."""
        if term in self.polarity:
            return term
        if term not in self._cache:
            from rapidfuzz import fuzz, process

            best = process.extractOne(term, self.vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff)
            if best is None:
                family = [w for w in self.vocabulary if _text.same_word_family(term, w)]
                self._cache[term] = family[0] if family else None
            else:
                self._cache[term] = best[0]
        return self._cache[term]


class FindingsSupport(Metric):
    """Share of the draft's finding statements supported by the case input.

    A statement (sentence) is supported when at least ``min_term_share`` of its key terms occur in
    the input (exactly, or fuzzily at ``fuzzy_cutoff``), and none of its matched terms contradicts
    the input in negation ("no fracture" where the input only says "fracture", or the reverse) or
    in laterality: a statement naming one side ("left") must be supported by the input as well
    by sentences compatible with that side (the same side, "bilateral", or no side) as by any
    input sentence; "fracture of the left patella" where the input says "fracture of the right
    patella" (and only "the left patella is intact") is unsupported. Statements without key
    terms are not counted. See
    `drafting.evaluation.metrics._text` for how terms, negation and laterality are read.

    Args:
        min_term_share: Share of a statement's key terms that must occur in the input.
        fuzzy_cutoff: rapidfuzz ratio (0-100) for a term to match an input term.
    """

    name = "findings.support"
    section = "findings"

    def __init__(self, min_term_share: float = 0.5, fuzzy_cutoff: float = 88.0):
        self.min_term_share = in_range("min_term_share", min_term_share, 1)
        self.fuzzy_cutoff = in_range("fuzzy_cutoff", fuzzy_cutoff, 100)

    def params(self) -> dict[str, Any]:
        return {"min_term_share": self.min_term_share, "fuzzy_cutoff": self.fuzzy_cutoff}

    def check_statement(self, sentence: _text.AnalysedSentence, index: _InputIndex) -> dict:
        """The verdict on one statement: supported or not, with the terms that decided it."""
        missing: list[str] = []
        negation: list[str] = []
        laterality: list[str] = []
        matched: set[str] = set()
        for use in sentence.uses:
            match = index.lookup(use.term, self.fuzzy_cutoff)
            if match is None:
                missing.append(use.term)
                continue
            matched.add(match)
            if use.negated not in index.polarity[match]:
                negation.append(use.term)
        if len(sentence.sides) == 1 and matched:
            (side,) = sentence.sides
            laterality = self._side_conflicts(side, matched, index)
        terms = sentence.terms
        missing = list(dict.fromkeys(missing))
        share = 1 - len(missing) / len(terms) if terms else 0.0
        supported = share >= self.min_term_share and not negation and not laterality
        return {
            "statement": sentence.text,
            "supported": supported,
            "term_share": round(share, 3),
            "missing_terms": missing,
            "negation_conflicts": list(dict.fromkeys(negation)),
            "laterality_conflicts": list(dict.fromkeys(laterality)),
        }

    @staticmethod
    def _side_conflicts(side: str, matched: set[str], index: _InputIndex) -> list[str]:
        """Empty when input sentences compatible with ``side`` cover the statement best."""
        best_any, best_ok = 0, 0
        best_sides: frozenset[str] = frozenset()
        for sent, terms in zip(index.sentences, index.sentence_terms, strict=True):
            cover = len(matched & terms)
            if cover > best_any:
                best_any, best_sides = cover, sent.sides
            if not sent.sides or side in sent.sides or "bilateral" in sent.sides:
                best_ok = max(best_ok, cover)
        if best_ok >= best_any:
            return []
        return [f"{side}: the input gives {'/'.join(sorted(best_sides))}"]

    def score(self, draft: Draft, gold: Case) -> MetricResult:
        statements = [s for s in _text.analyse_text(draft.report.findings) if s.uses]
        if not statements:
            return self.not_applicable("the draft has no finding statements with clinical terms")
        index = _InputIndex(input_text(gold))
        verdicts = [self.check_statement(s, index) for s in statements]
        supported = sum(v["supported"] for v in verdicts)
        unsupported = [v for v in verdicts if not v["supported"]]
        reason = (
            f"{supported}/{len(verdicts)} statements supported by the input"
            if unsupported
            else f"all {len(verdicts)} statements supported by the input"
        )
        return self.result(supported / len(verdicts), reason, unsupported=unsupported)
