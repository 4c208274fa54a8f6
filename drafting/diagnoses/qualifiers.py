"""Qualifiers that decide a diagnosis: when two texts give different values on one axis, they name
different diagnoses, whatever else they share ("Small cell" vs "Non-small cell lung cancer",
"Chiari I" vs "Chiari II", a left vs a right aortic arch).

Three kinds of check, all on normalised tokens (see `drafting.diagnoses.text`):

* axes: named value sets (laterality, acuity, course, behaviour, origin, onset, typicality, inheritance,
  severity, anatomical position, ...); both texts must state a value and the values must not overlap;
* contrast prefixes: "nonsmall"/"small", "atypical"/"typical", "intraaxial"/"extraaxial",
  "monostotic"/"polyostotic", "hypothyroidism"/"hyperthyroidism", "undisplaced"/"displaced";
* numerals: arabic and roman numerals and level codes ("type 1" = "type I", "Chiari II", "C1",
  "grade 3", "Stanford type A"); both texts must carry some and they must differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drafting.diagnoses.text import LETTER_CONTEXT, words

#: axis -> {token: value}. A token maps to the value it asserts on that axis.
AXES: dict[str, dict[str, str]] = {
    "laterality": {
        "left": "left",
        "right": "right",
        "l": "left",
        "r": "right",
        "lt": "left",
        "rt": "right",
        "bilateral": "bilateral",
        "bilaterally": "bilateral",
        "unilateral": "unilateral",
    },
    "acuity": {
        "acute": "acute",
        "hyperacute": "acute",
        "subacute": "subacute",
        "chronic": "chronic",
    },
    "behaviour": {"benign": "benign", "malignant": "malignant", "malignancy": "malignant"},
    "origin": {
        "primary": "primary",
        "metastatic": "metastatic",
        "metastasis": "metastatic",
        "secondary": "metastatic",
        "idiopathic": "primary",
        "spontaneous": "primary",
    },
    "onset": {
        "congenital": "congenital",
        "acquired": "acquired",
        "developmental": "congenital",
        "prenatal": "congenital",
        "antenatal": "congenital",
    },
    "typicality": {"typical": "typical", "atypical": "atypical"},
    "inheritance": {"dominant": "dominant", "recessive": "recessive"},
    "severity": {"mild": "mild", "moderate": "moderate", "severe": "severe"},
    "displacement": {"displaced": "displaced", "nondisplaced": "nondisplaced", "undisplaced": "nondisplaced"},
    "communication": {"communicating": "communicating", "noncommunicating": "noncommunicating"},
    "focality": {
        "focal": "focal",
        "localized": "focal",
        "diffuse": "diffuse",
        "widespread": "diffuse",
        "extensive": "diffuse",
        "generalized": "diffuse",
        "multifocal": "multifocal",
    },
    "stability": {"stable": "stable", "unstable": "unstable"},
    "completeness": {"complete": "complete", "incomplete": "incomplete", "partial": "incomplete"},
    "differentiation": {
        "well": "well",
        "moderately": "moderately",
        "poorly": "poorly",
        "undifferentiated": "undifferentiated",
    },
    "grade": {"low": "low", "high": "high", "intermediate": "intermediate"},
    # anatomical position: "anterior" vs "posterior shoulder dislocation", "medial" vs "lateral
    # meniscus tear" (both must state one; "anterior and posterior" overlaps either)
    "position": {
        "anterior": "anterior",
        "posterior": "posterior",
        "superior": "superior",
        "inferior": "inferior",
        "medial": "medial",
        "lateral": "lateral",
        "proximal": "proximal",
        "distal": "distal",
    },
    "maturity": {"mature": "mature", "immature": "immature"},
    # the course seen over time: "enlarging" vs "resolving hematoma"; a stage of the same disease
    "course": {
        "enlarging": "progressing",
        "expanding": "progressing",
        "growing": "progressing",
        "worsening": "progressing",
        "progressing": "progressing",
        "resolving": "resolving",
        "healing": "resolving",
        "improving": "resolving",
        "regressing": "resolving",
        "involuting": "resolving",
    },
}
#: Axes whose value a candidate may leave out and still name the same diagnosis.
MINOR_AXES = frozenset({"laterality", "acuity", "severity", "focality", "differentiation", "course"})
#: Values a text may leave unsaid because they are the default ("adrenal adenoma" is benign,
#: "epidermoid cyst" primary, "bronchial atresia" congenital).
DEFAULT_VALUES = frozenset({"primary", "benign", "typical", "congenital", "acquired", "classic", "classical"})
#: Every axis token: the words that only qualify a diagnosis.
QUALIFIER_WORDS = frozenset(t for values in AXES.values() for t in values)

_NEGATING = ("non", "un", "in", "im", "ir", "il", "an", "a")
_CONTRASTING = (
    "intra",
    "extra",
    "hyper",
    "hypo",
    "supra",
    "infra",
    "sub",
    "epi",
    "peri",
    "para",
    "retro",
    "mono",
    "poly",
    "multi",
    "oligo",
    "uni",
    "bi",
    "pre",
    "post",
    "endo",
    "exo",
    "pseudo",
)
#: Contrasting prefixes that make another thing of the bare word too: "subacute" is not
#: "acute", "postprimary" not "primary", "preeclampsia" not "eclampsia", "pseudocyst" not "cyst".
_BARE_CONTRAST = frozenset({"sub", "pre", "post", "pseudo"})
_PREFIXES = sorted(_NEGATING + _CONTRASTING, key=len, reverse=True)
ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}
#: Words after which a numeral names a subtype (so "type ii" and "ii" read the same).
NUMERAL_CONTEXT = words("type grade stage class chiari level cn nerve")


@dataclass(frozen=True)
class Conflict:
    """Two texts disagree on one axis."""

    axis: str
    candidate: str
    gold: str

    def reason(self) -> str:
        return f"{self.axis} differs: '{self.candidate}' vs '{self.gold}'"


_SIDE_FILLER = frozenset({"sided", "side", "sidedness"})


#: Words that name a malignant neoplasm, so state its behaviour: "leiomyosarcoma" is not the
#: "benign metastasizing leiomyoma".
_MALIGNANT_ENDINGS = ("sarcoma", "carcinoma", "cancer")


def axis_values(tokens: list[str]) -> dict[str, set[str]]:
    """axis -> the values the tokens state (only axes with a value); a malignant neoplasm's
    name states its behaviour."""
    out: dict[str, set[str]] = {}
    for tok in tokens:
        for axis, values in AXES.items():
            if tok in values:
                out.setdefault(axis, set()).add(values[tok])
        if tok.endswith(_MALIGNANT_ENDINGS):
            out.setdefault("behaviour", set()).add("malignant")
    return out


def sides(tokens: list[str]) -> dict[str, set[str]]:
    """Word -> the sides given to it: "right aortic arch with aberrant left subclavian artery"
    -> {"aortic": {"right"}, "subclavian": {"left"}} (the word after each side word)."""
    lat = AXES["laterality"]
    out: dict[str, set[str]] = {}
    for i, tok in enumerate(tokens):
        if tok in lat:
            nxt = next((t for t in tokens[i + 1 :] if t not in _SIDE_FILLER and t not in lat), None)
            if nxt is not None:
                out.setdefault(nxt, set()).add(lat[tok])
    return out


def numerals(tokens: list[str]) -> set[str]:
    """Numerals and level codes: {"1"} for "type I" or "type 1", {"c1"} for "C1"."""
    out: set[str] = set()
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1] if i else ""
        if tok.isdigit():
            out.add(str(int(tok)))
        elif tok in ROMAN and (tok not in {"i", "v", "x"} or prev in NUMERAL_CONTEXT):
            if tok == "x" and i + 1 < len(tokens) and tokens[i + 1] in {"linked", "ray"}:
                continue
            out.add(str(ROMAN[tok]))
        elif re.fullmatch(r"[a-z]{1,3}\d{1,2}[a-z]?", tok):
            out.add(tok)
            if re.match(r"[a-z]{2}", tok):  # "NF2" numbers its type as "type 2" does; "C2" is a level
                out.add(str(int(re.sub(r"\D", "", tok))))
        elif len(tok) == 1 and tok in "abcdef" and prev in LETTER_CONTEXT:
            out.add(tok)  # Stanford type A, Gustilo type B
        elif re.fullmatch(r"(i{1,3}|iv|v|vi{1,3})[abc]", tok) and prev in NUMERAL_CONTEXT:
            out.add(f"{ROMAN[tok[:-1]]}{tok[-1]}")  # stage IIIB -> 3b
    return out


#: Words whose prefix says nothing about the diagnosis ("botryoid subtype" = "botryoid type").
_NEUTRAL = frozenset({"type", "subtype", "types", "subtypes", "group", "subgroup", "set", "subset"})


def _splits(tok: str) -> list[tuple[str, str]]:
    """Every (prefix, stem) reading of a word, the bare word included; a stem's leading vowel is
    dropped so that "mon-ostotic" and "poly-ostotic" share "stotic"."""
    out = [("", tok)]
    for p in _PREFIXES:
        if tok.startswith(p) and len(tok) - len(p) >= 4:
            stem = tok[len(p) :]
            out.append((p, stem[1:] if stem[0] in "aeiou" else stem))
    return out


def prefix_conflict(a: list[str], b: list[str]) -> Conflict | None:
    """A word of one text that is a contrast-prefixed form of a word of the other: two different
    prefixes on one stem ("intraaxial"/"extraaxial", "monostotic"/"polyostotic"), or a negating
    prefix (non-, a-, un-, in-, ...) or sub-, pre-, post-, pseudo- against the bare word
    ("atypical"/"typical", "postprimary"/"primary")."""
    only_a = [t for t in a if t not in b and t not in _NEUTRAL]
    only_b = [t for t in b if t not in a and t not in _NEUTRAL]
    for x in only_a:
        for y in only_b:
            for px, sx in _splits(x):
                for py, sy in _splits(y):
                    if px == py or sx != sy or not (px or py):
                        continue
                    either = px or py
                    if px and py:
                        return Conflict("prefix", x, y)
                    if either in _NEGATING or either in _BARE_CONTRAST:
                        return Conflict("negation" if either in _NEGATING else "prefix", x, y)
            if any(p in _NEGATING and s == y for p, s in _splits(x)[1:]) or any(
                p in _NEGATING and s == x for p, s in _splits(y)[1:]
            ):
                return Conflict("negation", x, y)
    return None


def conflict(candidate: list[str], gold: list[str]) -> Conflict | None:
    """The first decisive disagreement between two token lists, or None."""
    ca, ga = axis_values(candidate), axis_values(gold)
    for axis in AXES:
        if axis in ca and axis in ga and not (ca[axis] & ga[axis]):
            return Conflict(axis, "/".join(sorted(ca[axis])), "/".join(sorted(ga[axis])))
    cs, gs = sides(candidate), sides(gold)
    for word in sorted(cs.keys() & gs.keys()):  # a set: sorted, for one reason per run
        if cs[word] != gs[word]:
            side_c, side_g = "/".join(sorted(cs[word])), "/".join(sorted(gs[word]))
            return Conflict("laterality", f"{side_c} {word}", f"{side_g} {word}")
    cn, gn = numerals(candidate), numerals(gold)
    if cn and gn and not (cn & gn):
        return Conflict("numeral", "/".join(sorted(cn)), "/".join(sorted(gn)))
    return prefix_conflict(candidate, gold)


def missing_axes(candidate: list[str], gold: list[str]) -> set[str]:
    """Axes (and "numeral") the gold states and the candidate leaves out."""
    ca, ga = axis_values(candidate), axis_values(gold)
    out = {axis for axis in ga if axis not in ca}
    if numerals(gold) and not numerals(candidate):
        out.add("numeral")
    return out
