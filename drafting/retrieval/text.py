"""What text retrieval indexes and queries with, and how it is tokenised for BM25.

References are indexed on their input text (history + imaging) and, only when asked through
``fields``, on parts of their gold report. A query only ever contributes its input text: the gold
of the case being drafted never reaches retrieval.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from drafting.errors import ConfigError
from drafting.schema import Case, CaseInput

#: Indexable fields of a reference case: its input, its gold findings, its gold diagnosis names.
FIELDS = ("input", "findings", "diagnosis")


def check_fields(fields: Sequence[str]) -> tuple[str, ...]:
    """Validate and normalise a ``fields`` option (order kept, duplicates dropped).

    Raises:
        ConfigError: An unknown field, or no field at all.
    """
    out: list[str] = []
    for f in fields:
        if f not in FIELDS:
            raise ConfigError(
                f"unknown retrieval field '{f}' (choose from {', '.join(FIELDS)})", field="fields"
            )
        if f not in out:
            out.append(f)
    if "input" not in out:
        # Queries are input text: an index without it would compare unlike with unlike.
        raise ConfigError("retrieval fields must include 'input'", field="fields")
    return tuple(out)


def input_text(case_input: CaseInput) -> str:
    """A case input's retrievable text: clinical history, then each imaging study."""
    return "\n".join(p for p in (case_input.clinical_history, case_input.imaging_text()) if p)


def reference_text(case: Case, fields: Sequence[str] = ("input",)) -> str:
    """The text indexed for a reference case, built from the given fields."""
    parts: list[str] = []
    for f in fields:
        if f == "input":
            parts.append(input_text(case.input))
        elif f == "findings":
            parts.append(case.gold.findings)
        elif f == "diagnosis":
            names = [case.gold.final_diagnosis, case.gold.diagnosis.primary]
            parts.append("\n".join(dict.fromkeys(n for n in names if n)))
    return "\n".join(p for p in parts if p)


def query_text(query: Case | CaseInput | str) -> tuple[str, str | None]:
    """The text a query searches with, and the query's own case id when it has one.

    Only the input is used: a `Case`'s gold report is never read here.
    """
    if isinstance(query, Case):
        return input_text(query.input), query.id
    if isinstance(query, CaseInput):
        return input_text(query), None
    if isinstance(query, str):
        return query, None
    raise TypeError(f"cannot search with a {type(query).__name__}")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    """A Snowball English stemmer from PyStemmer, or None when it is not installed."""
    try:
        import Stemmer
    except ImportError:  # pragma: no cover - PyStemmer is a dependency; stay usable without it
        return None
    return Stemmer.Stemmer("english")


def stem_word(word: str) -> str:
    """A lower-case word's Snowball English stem (the word itself without PyStemmer)."""
    stemmer = _stemmer()
    return stemmer.stemWord(word) if stemmer is not None else word


def tokenizer_tag() -> str:
    """Names the tokenisation, so cached indexes built another way are not reused."""
    return "bm25s-en-stopwords+" + ("snowball-english" if _stemmer() is not None else "nostem")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Tokens for BM25: bm25s's word pattern, lower case, English stopwords removed, stemmed."""
    import bm25s

    if not texts:
        return []
    tokens = bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )
    return [[t for t in doc if t] for doc in tokens]
