"""Long full-text queries cut down to their most informative terms.

A query is a whole case text (history and imaging, often 50 to 300 words), so a BM25 search
walks the posting lists of dozens of terms, the longest of them belonging to the commonest words
("patient", "year", "left"), which add least to any score. Keeping only the query's rarest terms
(highest IDF) is the standard long-query reduction: the terms dropped are those whose BM25
weight is smallest, and the engine's work falls with the number and length of the lists.

Document frequencies are estimated from a sample of the indexed texts (`TermStats.from_texts`):
only the order of the query's terms by frequency matters, which a sample of some thousands of
rows gets right for the frequent terms; a term absent from the sample counts as the rarest.
Words are analysed like the engine's BM25 index (split on non-word characters, lower case,
Snowball English stemming), so the kept words are sent to the engine as they were written and
every occurrence of a kept term stays (repeats weigh in the engine's BM25 score).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from drafting.retrieval.text import stem_word

_WORD = re.compile(r"\w+")
#: Words the engine's English analyser drops as stop words (those checked against lancedb 0.40;
#: its list is longer). They are neither counted nor kept as terms: in a small table absent from
#: the sample, they would otherwise pass for the rarest terms.
STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from", "had", "has",
    "have", "he", "her", "his", "if", "in", "into", "is", "it", "must", "no", "not", "of", "on",
    "or", "other", "shall", "she", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "were", "which", "who", "will", "with",
})


class TermStats:
    """Document frequencies of analysed terms, for ranking a query's terms by rarity.

    Args:
        df: Documents per term (stemmed, lower case).
        docs: Documents counted.
    """

    def __init__(self, df: Mapping[str, int], docs: int):
        self.df = dict(df)
        self.docs = docs
        self._stems: dict[str, str] = {}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> TermStats:
        """Count the documents each term occurs in.

        Args:
            texts: The documents (e.g. a sample of the indexed texts).
        """
        stats = cls({}, 0)
        df: Counter[str] = Counter()
        docs = 0
        for text in texts:
            df.update({stats._stem(w) for w in _WORD.findall((text or "").lower())})
            docs += 1
        stats.df, stats.docs = dict(df), docs
        return stats

    def _stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            stem = stem_word(word)
            if len(self._stems) < 200_000:
                self._stems[word] = stem
        return stem

    def prune(self, text: str, max_terms: int) -> str:
        """``text`` reduced to the words of its ``max_terms`` rarest distinct terms.

        Ties in frequency go to the term that comes first. Every occurrence of a kept term is
        kept, in the original order; a text with at most ``max_terms`` distinct terms comes
        back unchanged, as does any text when no documents were counted. Stop words are
        dropped when anything is.

        Args:
            text: The query text.
            max_terms: How many distinct terms to keep (at least 1).
        """
        if not self.docs:
            return text
        words = _WORD.findall(text)
        stems = [self._stem(w.lower()) for w in words]
        first: dict[str, int] = {}
        for i, (w, s) in enumerate(zip(words, stems, strict=True)):
            if w.lower() not in STOP_WORDS:
                first.setdefault(s, i)
        if len(first) <= max_terms:
            return text
        keep = set(sorted(first, key=lambda s: (self.df.get(s, 0), first[s]))[:max(1, max_terms)])
        return " ".join(w for w, s in zip(words, stems, strict=True) if s in keep)
