"""Normalising diagnosis text into comparable tokens.

The steps, each small and visible:

* the main clause only: a gold such as "Wilms' tumor (nephroblastoma). Negative left renal
  involvement." names its diagnosis before the first full stop; what follows is commentary;
* lower case, British spellings folded (tumour, haem-, oedema, ...), possessives dropped
  (Wilms' tumor = Wilms tumor), plural nouns singular;
* a contrast prefix written apart is joined to its word ("non-small cell" -> "nonsmall cell",
  "intra-axial" -> "intraaxial"), so the prefix rule in `qualifiers` can see it;
* stop words dropped; "disease" and "disorder" are *weak* words (they rarely change the meaning:
  "Hydroxyapatite deposition disease" = "hydroxyapatite deposition").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache


def words(text: str) -> frozenset[str]:
    """A word set from a whitespace-separated list (easier to read and edit than a literal)."""
    return frozenset(text.split())


STOPWORDS = words(
    """a an the of in on at to for from by with without and or as is are was were be due its
    this that these those into onto within via both"""
)
WEAK = frozenset({"disease", "disorder", "diagnosis", "finding", "condition", "process"})

#: Prefixes that are joined to the next word when written apart ("non-small", "intra axial").
JOINED_PREFIXES = (
    "non",
    "intra",
    "extra",
    "hyper",
    "hypo",
    "sub",
    "supra",
    "infra",
    "epi",
    "peri",
    "para",
    "retro",
    "pre",
    "post",
    "mono",
    "poly",
    "multi",
    "oligo",
    "uni",
    "bi",
    "pseudo",
    "anti",
)

#: British spelling -> American, applied where the British form stands.
_SPELLING = {
    "tumour": "tumor",
    "haem": "hem",
    "aemia": "emia",
    "oesophag": "esophag",
    "oedem": "edem",
    "foet": "fet",
    "paed": "ped",
    "coeliac": "celiac",
    "rrhoea": "rrhea",
    "leukaem": "leukem",
    "ischaem": "ischem",
    "oestr": "estr",
    "isation": "ization",
    "sulph": "sulf",
    "caesar": "cesar",
}
_SPELLING_RE = re.compile("|".join(sorted(_SPELLING, key=len, reverse=True)))
_VOWEL = re.compile(r"[aeiouy]")
_JOIN = re.compile(r"\b(" + "|".join(JOINED_PREFIXES) + r")[\s-]+(?=[a-z])")
_INVARIANT_S = ("ss", "us", "is", "os", "ys", "as", "ics")


def fold(text: str) -> str:
    """Unicode-fold, lower-case and respell *text*; punctuation other than hyphens is kept."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
        text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("`", "'").lower()
    return _SPELLING_RE.sub(lambda m: _SPELLING[m.group(0)], text)


def main_clause(text: str) -> str:
    """The text up to the first sentence break (a full stop followed by a space, or a newline)."""
    text = text.strip()
    head = re.split(r"(?<=[a-z)\]])\.\s+|\n+|;\s*", text, maxsplit=1, flags=re.I)[0]
    return head.strip(" .;:") or text


@lru_cache(maxsize=200_000)
def singular(word: str) -> str:
    """A crude singular: metastases -> metastasis, cavities -> cavity, cysts -> cyst."""
    if len(word) <= 3 or not word.isalpha() or not _VOWEL.search(word[:-1]):
        return word  # short words, codes and acronyms ("pvns") stay as they are
    if word.endswith("ses") and len(word) > 5 and word[-4] in "ty":  # metastases, synthases
        return word[:-3] + "sis"
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ae") and len(word) > 5:  # vertebrae, bursae
        return word[:-1]
    if word.endswith("i") and word.endswith(("ci", "li", "gi")) and len(word) > 5:  # emboli, fungi
        return word[:-1] + "us"
    if word.endswith("s") and not word.endswith(_INVARIANT_S):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    """Normalised content tokens of *text* (stop words dropped, weak words kept)."""
    text = fold(text)
    text = re.sub(r"(\w)'s\b", r"\1", text)  # Wilms's, Paget's
    text = re.sub(r"(\w)s'", r"\1s", text)  # Wilms' -> Wilms
    text = re.sub(r"\bsecondary to\b", "due to", text)  # a cause, not a metastasis
    text = _JOIN.sub(r"\1", text)
    words = re.findall(r"[a-z0-9]+", text)
    return [singular(w) for w in words if w not in STOPWORDS]


def key(text: str) -> str:
    """A lookup key: the tokens without weak words, in order, space-joined."""
    toks = tokens(text)
    strong = [t for t in toks if t not in WEAK]
    return " ".join(strong or toks)


def aliases(text: str) -> list[str]:
    """The text's main clause and, when it carries a parenthetical or slash alternative, each part.

    "Wilms' tumor (nephroblastoma)" -> ["Wilms' tumor (nephroblastoma)", "Wilms' tumor",
    "nephroblastoma"]; "PVNS / pigmented villonodular synovitis" -> both halves.
    """
    clause = main_clause(text)
    out = [clause]
    inner = re.findall(r"\(([^()]*)\)", clause)
    outer = re.sub(r"\([^()]*\)", " ", clause).strip()
    if inner:
        out.append(outer)
        out += inner
    for part in (outer if inner else clause).split(" / "):
        if part.strip() and part.strip() not in out:
            out.append(part.strip())
    return [a for a in dict.fromkeys(o.strip(" ,.") for o in out) if a]
