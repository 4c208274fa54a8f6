"""Normalising diagnosis text into comparable tokens.

The steps, each small and visible:

* the main clause only: a gold such as "Wilms' tumor (nephroblastoma). Negative left renal
  involvement." names its diagnosis before the first full stop; what follows is commentary;
* lower case, British spellings folded (tumour, haem-, oedema, ...), possessives dropped
  (Wilms' tumor = Wilms tumor), plural nouns singular;
* a contrast prefix hyphenated to its word is joined to it ("non-small cell" -> "nonsmall cell",
  "intra-axial" -> "intraaxial"; "non" also when written apart), so the prefix rule in
  `qualifiers` can see it;
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
#: Words that rarely change which diagnosis is meant: "disease", and the hedges and provenance
#: notes of a report ("Pathology consistent with leiomyosarcoma", "(path proven)").
WEAK = words(
    """disease disorder diagnosis finding condition process consistent compatible suggestive
    likely probable probably possible possibly presumed presumptive suspected suspicious
    confirmed confirmation proven path pathology biopsy histology histologically radiologic
    radiographic radiographically clinical clinically imaging appearance preferred name syn
    associated underlying resulting causing caused related following evidence diagnosed who classification
    complicated complicating accompanied angiographically angiographic arthroscopically
    arthroscopic surgically histopathologically pathologically radiologically sonographically
    differentiated"""
)

#: Words after which a single letter names a subtype ("type A", "class B", "zone C").
LETTER_CONTEXT = frozenset({"type", "class", "group", "zone", "stage", "grade"})

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
    "ising": "izing",
    "sulph": "sulf",
    "caesar": "cesar",
}
_SPELLING_RE = re.compile("|".join(sorted(_SPELLING, key=len, reverse=True)))
_VOWEL = re.compile(r"[aeiouy]")
_JOIN = re.compile(r"\b(?:(non)[\s-]+|(" + "|".join(JOINED_PREFIXES) + r")-)(?=[a-z])")
#: "... with (chronic inflammatory) changes": findings appended to a diagnosis, not part of it.
_CHANGES = re.compile(r"(?:,|\bwith|\band|\baccompanied by|\bplus)\s+(?:[a-z-]+\s+){0,3}changes?\b")
#: A numeral and its letter written apart: "III-A", "2-b" (not "L5-S1": the letter stands alone).
_NUMERAL_LETTER = re.compile(r"\b([ivx]+|\d+)-([abc])\b")
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
    """The text up to the first sentence break (a full stop followed by a space, or a newline);
    of a numbered list ("1. X 2. Y"), the first item."""
    text = re.sub(r"^\s*(diagnosis|dx|impression)\s*:\s*", "", text.strip(), flags=re.I)
    numbered = re.match(r"^\(?1[.)]\s*(.+?)(?:\s+\(?2[.)]\s|$)", text, flags=re.S)
    if numbered:
        text = numbered.group(1)
    head = re.split(r"(?<=[A-Za-z)\]])\.\s+(?=[A-Z0-9])|\n+", text, maxsplit=1)[0]
    head = _PROVENANCE.split(head, maxsplit=1)[0]
    return head.strip(" .;:,-") or text


#: Where a diagnosis turns into a note on how it was made: "... confirmed by MRI", "... on
#: Indium-111 tagged WBC scanning", "Multiple myeloma Diagnosis was confirmed by biopsy",
#: "Osseous hemangioma - The CT correlation with ...".
_PROVENANCE = re.compile(
    r"\s+(?:(?:as\s+)?(?:confirmed|proven|verified|documented|diagnosed)\s+(?:by|on|at|with|in)\b"
    r"|(?:as\s+)?(?:seen|shown|demonstrated)\s+(?:by|on|at)\b|diagnosis\s+(?:was|is)\b|on\s+(?:[\w-]+\s+){0,3}"
    r"(?:mri|ct|scan|scanning|scintigraphy|ultrasound|sonography|radiographs?|x-rays?|pet|imaging)\b)"
    r"|\s+[-\u2013\u2014]+\s+(?=(?:the|this|these|a|an|on|at|in)\s)",
    re.I,
)


@lru_cache(maxsize=200_000)
def singular(word: str) -> str:
    """A crude singular: metastases -> metastasis, cavities -> cavity, cysts -> cyst."""
    if len(word) <= 3 or not word.isalpha() or not _VOWEL.search(word[:-1]):
        return word  # short words, codes and acronyms ("pvns") stay as they are
    if word.endswith(("stases", "noses", "lyses", "toses")):  # metastases, stenoses, ptoses
        return word[:-2] + "is"
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ae") and len(word) > 5:  # vertebrae, bursae
        return word[:-1]
    if word.endswith("i") and word.endswith(("ci", "li", "gi")) and len(word) > 5:  # emboli, fungi
        return word[:-1] + "us"
    if word.endswith("s") and (word.endswith("omas") or not word.endswith(_INVARIANT_S)):
        return word[:-1]
    return word


_WITHOUT = re.compile(r"\bwithout\s+(?:(?:an?|the|any|evidence|signs?|of)\s+)*")


def tokens(text: str) -> list[str]:
    """Normalised content tokens of *text* (stop words dropped, weak words kept)."""
    text = fold(text)
    text = re.sub(r"(\w)'s\b", r"\1", text)  # Wilms's, Paget's
    text = re.sub(r"(\w)s'", r"\1s", text)  # Wilms' -> Wilms
    text = re.sub(r"\bsecondary to\b", "due to", text)  # a cause, not a metastasis
    text = _WITHOUT.sub("non", text)  # "without carcinoma in situ" negates, unlike "with"
    text = re.sub(r"\bmetastatic to\b", "metastasis to", text)  # "X metastatic to Y"
    text = _CHANGES.sub(" ", text)
    text = _JOIN.sub(lambda m: m.group(1) or m.group(2), text)
    text = _NUMERAL_LETTER.sub(r"\1\2", text)  # "stage III-A" = "stage IIIA"
    words = re.findall(r"[a-z0-9]+", text)
    return [
        singular(w)
        for i, w in enumerate(words)
        # "a" is a stop word, except as a letter subtype ("Stanford type A" vs "type B")
        if w not in STOPWORDS or (w == "a" and i and words[i - 1] in LETTER_CONTEXT)
    ]


def key(text: str) -> str:
    """A lookup key: the tokens without weak words, in order, space-joined."""
    toks = tokens(text)
    strong = [t for t in toks if t not in WEAK]
    return " ".join(strong or toks)


def aliases(text: str) -> list[str]:
    """The text's main clause and, when it carries a parenthesis, the text outside and inside it.

    "Wilms' tumor (nephroblastoma)" -> ["Wilms' tumor (nephroblastoma)", "Wilms' tumor",
    "nephroblastoma"].
    """
    clause = main_clause(text)
    out = [clause]
    inner = re.findall(r"\(([^()]*)\)", clause)
    outer = re.sub(r"\([^()]*\)", " ", clause).strip()
    if inner:
        out.append(outer)
        out += inner
    return [a for a in dict.fromkeys(o.strip(" ,.") for o in out) if a]


#: Inflectional and adjectival endings folded when comparing words ("bronchial" = "bronchus",
#: "cerebellar" = "cerebellum", "sclerosing" = "sclerosis", "infarction" = "infarct",
#: "hypertensive" = "hypertension").
_ENDINGS = (
    "ious", "ial", "eal", "ian", "ine", "ing", "ion", "ive", "ous", "ic", "al", "ar", "us", "um", "is",
    "ed", "a", "e", "y",
)  # fmt: skip
#: Noun endings that name the state of an adjective ("absence" = "absent", "dominance" =
#: "dominant"), Latin diminutives written as their "-ular" adjective ("clavicle" =
#: "clavicular", "mandible" = "mandibular", "ventricle" = "ventricular"), and adjectives of a
#: condition in "-osis" / "-asis" ("necrotic" = "necrosis", "tuberculous" = "tuberculosis",
#: "metastatic" = "metastasis"): rewritten before the endings above are folded.
_STATE_NOUNS = (
    ("ence", "ent"), ("ance", "ant"), ("cle", "cular"), ("ble", "bular"), ("otic", "osis"),
    ("culous", "culosis"), ("tatic", "tasis"),
)  # fmt: skip


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A word's comparison form: a known ending dropped when at least four letters remain."""
    for noun, adjective in _STATE_NOUNS:
        if word.endswith(noun) and len(word) - len(noun) >= 3:
            word = word[: -len(noun)] + adjective
            break
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word
