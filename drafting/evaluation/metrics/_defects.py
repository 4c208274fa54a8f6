"""Text defects that make a report field unusable whatever its topic: template placeholders,
reference-case labels, text copied from a retrieved reference, strings that are not sentences.

Shared by the well-formedness metric (`structure.well_formed`) and the rehabilitation validity
metrics. Each detector returns a short reason (empty string: no defect), so a metric can say why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from drafting.schema import Case

#: Template syntax and placeholder wording. Each pattern is one recognisable template idiom:
#: mustache/jinja (``{{id}}``, ``{% ... %}``), format fields (``{name}``), angle-bracket slots
#: (``<placeholder>``, ``<insert date>``), bracketed instructions (``[insert ...]``, ``[Name]``),
#: and the stock fillers of unfinished documents.
_TEMPLATE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("template braces", re.compile(r"\{\{|\}\}|\{%|%\}|\$\{")),
    ("format field", re.compile(r"\{\s*[A-Za-z_][\w .-]{0,40}\}|\{\s*\}")),
    ("angle-bracket slot", re.compile(r"<\s*/?\s*[A-Za-z_][A-Za-z_ -]{0,40}>")),
    (
        "bracketed placeholder",
        re.compile(
            r"\[\s*(?:insert|enter|add|fill|your|name|patient|date|value|specify|describe|"
            r"placeholder|x+|\.\.\.|tbd|todo)[^\]]{0,60}\]",
            re.I,
        ),
    ),
    ("placeholder word", re.compile(r"\b(?:TBD|TODO|FIXME|XXX+|lorem ipsum|placeholder)\b", re.I)),
    ("stray braces", re.compile(r"[{}]")),
]

#: "Case 1", "Reference 2", "reference case 3", "Ref. 1": labels of the prompt's reference block.
_REFERENCE_LABEL = re.compile(
    r"\b(?:reference(?:\s+case)?|ref\.?|case)\s*#?\s*\d+\b"
    r"(?![-\s]*(?:years?|yrs?|months?|weeks?|days?|y/?o)\b)",  # "Case 57-year-old": an age
    re.I,
)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
#: Shingle length for copy detection: five words in a row rarely repeat by chance across
#: different patients' reports, yet a copied sentence shares nearly all of its five-grams.
SHINGLE = 5
#: Share of a text's five-grams found in a reference (and not in the case's own input) above
#: which the text counts as copied from that reference.
COPY_SHARE = 0.5


def word_set(text: str) -> frozenset[str]:
    """A word set from a whitespace-separated list (easier to read and edit than a literal)."""
    return frozenset(text.split())


def template_defect(text: str) -> str:
    """The template idiom found in ``text`` ("template braces: '{{id}}'"), or ""."""
    for kind, rx in _TEMPLATE_PATTERNS:
        m = rx.search(text)
        if m:
            return f"{kind}: {m.group(0)!r}"
    return ""


def reference_label(text: str) -> str:
    """A reference-case label used in ``text`` ("Reference 2"), or ""."""
    m = _REFERENCE_LABEL.search(text)
    return m.group(0) if m else ""


def words(text: str) -> list[str]:
    """Lower-case word tokens."""
    return _WORD.findall(text.lower())


def shingles(text: str, n: int = SHINGLE) -> set[str]:
    """Word n-grams of ``text`` (the whole text as one gram when shorter than n words)."""
    w = words(text)
    if not w:
        return set()
    if len(w) < n:
        return {" ".join(w)}
    return {" ".join(w[i : i + n]) for i in range(len(w) - n + 1)}


@lru_cache(maxsize=4096)
def _text_shingles(text: str) -> frozenset[str]:
    return frozenset(shingles(text))


def _case_shingles(case: Case) -> frozenset[str]:
    return _text_shingles(case_text(case))


def case_text(case: Case) -> str:
    """Everything a reference case could lend a draft: its input and its whole gold report."""
    from drafting.retrieval.text import input_text

    gold = case.gold
    parts = [
        input_text(case.input),
        gold.findings,
        gold.diagnosis.primary,
        gold.diagnosis.reasoning,
        *(f"{d.name} {d.reasoning}" for d in gold.diagnosis.differentials),
        gold.final_diagnosis,
        gold.rehabilitation.text(),
    ]
    return "\n".join(p for p in parts if p)


class CopyDetector:
    """Finds text a draft copied from the reference cases it was given.

    A text is copied when at least `COPY_SHARE` of its word five-grams occur in one reference
    case and not in the drafted case's own input (restating one's own input is not copying). A
    text shorter than five words is never counted as copied.

    Args:
        references: The reference cases the draft's provenance names.
        own_input: The drafted case's input text.
    """

    def __init__(self, references: Iterable[Case], own_input: str = ""):
        self.references = list(references)
        self._own = shingles(own_input) if own_input else set()

    def copied_from(self, text: str) -> str:
        """The id of the reference ``text`` was copied from, or ""."""
        grams = shingles(text) - self._own
        total = len(shingles(text))
        if not grams or total == 0:
            return ""
        if len(words(text)) < SHINGLE:
            # Too little evidence: a short phrase (a diagnosis name, "no fracture") shared with
            # a reference is common wording, not copying.
            return ""
        for ref in self.references:
            shared = grams & _case_shingles(ref)
            if len(shared) / total >= COPY_SHARE:
                return ref.id
        return ""


def referenced_cases(
    reference_ids: Iterable[str], references: Mapping[str, Case] | None
) -> list[Case]:
    """The cases of ``reference_ids`` found in ``references`` (unknown ids skipped)."""
    if not references:
        return []
    return [references[i] for i in reference_ids if i in references]


#: Common English function words: a real sentence uses some of them.
_FUNCTION_WORDS = word_set(
    """
    a an the and or of to in on for with without if when while after before during from by
    at as is are be been being was were has have had do does not no any each every all this
    that these those it its their your his her than then until unless should must may can
    could will would avoid stop seek report check monitor watch review
    """
)


#: Verbs that open a short instruction ("Avoid kneeling", "Monitor BP").
_IMPERATIVES = word_set(
    """
    avoid stop monitor check record report review limit keep use wear seek watch measure assess
    track inspect maintain do don't never pause rest reduce call contact ensure perform repeat
    """
)


def not_a_sentence(text: str, *, min_words: int = 3) -> str:
    """Why ``text`` is not a sentence a clinician can act on ("" when it is one).

    A sentence has at least ``min_words`` words (two will do when the first is an instruction
    verb: "Avoid kneeling"), mostly alphabetic, and at least one function word or instruction
    verb (a list of bare nouns or codes is not an instruction).
    """
    if t := template_defect(text):
        return t
    tokens = text.split()
    alpha = [w for w in words(text) if re.search(r"[a-z]{2,}", w)]
    imperative = bool(alpha) and alpha[0] in _IMPERATIVES
    if len(alpha) < (2 if imperative else min_words):
        return f"only {len(alpha)} word(s)"
    if len(alpha) < 0.6 * len(tokens):
        return "mostly symbols or numbers, not words"
    if not imperative and not (set(alpha) & _FUNCTION_WORDS):
        return "a list of words, not a sentence"
    return ""
