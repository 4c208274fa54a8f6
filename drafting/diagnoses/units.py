"""Reading a diagnosis into comparable units, and how units relate.

A *unit* is the longest run of words that names a Human Disease Ontology term (a concept, with
its ids) or a single word; each keeps the comparison form of its words (anatomical adjective as
its noun, ending folded: "renal" -> "kidney", "bronchial" = "bronchus"). Two units are equal
(same words or a shared concept), one broader than the other (an ontology ancestor, a subset of
its words, or a generic "mass" for a named neoplasm), or unrelated; words that differ only by
spelling are twins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from drafting.diagnoses import qualifiers as q
from drafting.diagnoses.text import WEAK, stem, words

if TYPE_CHECKING:  # the terminology indexes names by `form_key`, so it imports this module
    from drafting.diagnoses.terminology import Terminology

#: Head words that name a class of diagnoses, not a diagnosis a radiologist would sign.
GENERIC = words(
    """carcinoma adenocarcinoma cancer tumor neoplasm neoplasia mass lesion fracture cyst infection malignancy
    sarcoma lymphoma hemorrhage bleed infarct infarction malformation anomaly inflammation
    abnormality metastasis dysplasia hematoma injury trauma nodule collection effusion process
    pathology growth"""
)
#: Generic words broader than any named neoplasm ("renal mass" for "renal cell carcinoma").
_GENERIC_NEOPLASM = frozenset({"mass", "lesion", "tumor", "neoplasm", "growth", "malignancy", "nodule"})
_NEOPLASM_ENDINGS = ("oma", "om", "tumor", "neoplasm", "carcinoma", "carcinom", "sarcom", "blastom")
#: More added words than this and a "more specific" candidate is a description, not a diagnosis.
MAX_ADDED_WORDS = 4
#: Words that only introduce a numeral; the numeral itself is compared.
_NUMBERING = frozenset({"type", "grade", "stage", "class", "subtype", "variant", "form", "level"})
#: Anatomical adjectives and their nouns, so "renal mass" reads like "kidney mass". The ontology
#: has no anatomy; this short list is the exception to "terms come from the terminology".
_ANATOMY = {
    "renal": "kidney",
    "hepatic": "liver",
    "pulmonary": "lung",
    "cerebral": "brain",
    "cardiac": "heart",
    "osseous": "bone",
    "gastric": "stomach",
    "intestinal": "bowel",
    "vertebral": "vertebra",
    "spinal": "spine",
    "splenic": "spleen",
    "pancreatic": "pancreas",
    "ovarian": "ovary",
    "testicular": "testis",
    "uterine": "uterus",
    "vesical": "bladder",
    "cutaneous": "skin",
    "dermal": "skin",
    "mammary": "breast",
    "ocular": "eye",
    "orbital": "orbit",
    "patellar": "patella",
    "femoral": "femur",
    "tibial": "tibia",
    "humeral": "humerus",
    "thyroidal": "thyroid",
    "adrenal": "adrenal",
    "colonic": "colon",
    "rectal": "rectum",
    "esophageal": "esophagus",
    "duodenal": "duodenum",
    "biliary": "bile",
}
#: Words reports use interchangeably for one morphology ("Achilles tendon tear" = "... rupture",
#: "perforated" = "ruptured appendicitis", "renal calculus" = "kidney stone"). The ontologies name
#: whole terms, not word-level equivalences, so these few are listed here.
_MORPHOLOGY = {
    "ruptured": "rupture",
    "tear": "rupture",
    "torn": "rupture",
    "perforated": "rupture",
    "perforation": "rupture",
    "disruption": "rupture",
    "disrupted": "rupture",
    "enlarged": "dilated",
    "enlargement": "dilated",
    "dilatation": "dilated",
    "dilation": "dilated",
    "calculus": "stone",
    "combined": "mixed",
}
MINOR_WORDS = (
    frozenset(t for axis in q.MINOR_AXES for t in q.AXES[axis])
    | frozenset(t for values in q.AXES.values() for t, v in values.items() if v in q.DEFAULT_VALUES)
    | frozenset({"classic", "classical"})
)


@dataclass(frozen=True)
class Unit:
    words: tuple[str, ...]  # comparison forms (see `form`)
    ids: frozenset[str] = frozenset()
    text: str = field(default="", compare=False)  # as written, for reasons

    @property
    def minor(self) -> bool:
        return not self.ids and all(w in MINOR_WORDS for w in self.words)

    @property
    def generic(self) -> bool:
        return all(w in _generic_forms() or w in q.QUALIFIER_WORDS for w in self.words)


def canonical(toks: list[str]) -> list[str]:
    """Tokens with numbering words dropped and roman numerals in context turned arabic."""
    out: list[str] = []
    for i, tok in enumerate(toks):
        if tok in _NUMBERING:
            continue
        prev = toks[i - 1] if i else ""
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if (
            tok in q.ROMAN
            and (tok not in {"i", "v", "x"} or prev in q.NUMERAL_CONTEXT)
            and not (tok == "x" and nxt in {"linked", "ray"})
        ):
            tok = str(q.ROMAN[tok])
        out.append(tok)
    return out


def form(word: str) -> str:
    """The form a word is compared in: anatomical adjective as its noun, a morphology word as
    its usual synonym, ending folded."""
    return stem(_MORPHOLOGY.get(word) or _ANATOMY.get(word, word))


def form_key(toks: list[str]) -> str:
    """The order-free key of a name in comparison forms ("ureteral stone" and "calculus of the
    ureter" -> "stone ureter"), for names written in other words than the ontology's."""
    return " ".join(sorted({form(t) for t in canonical(toks) if t not in WEAK}))


def read_units(toks: list[str], terms: Terminology) -> list[Unit]:
    """Greedy longest-match of ontology names over the tokens (minor qualifiers stay words unless
    they open a longer name, see `_named_with_qualifier`), by their normalised key or, for spans of
    two words or more, their `form_key`.

    Each unit keeps the comparison forms of its words (see `form`)."""
    words = [t for t in toks if t not in WEAK] or toks
    units: list[Unit] = []
    i = 0
    while i < len(words):
        if words[i] in MINOR_WORDS:
            # a side ("left ventricular ...") is anatomy in a term's name, never its subtype
            named = None if words[i] in q.AXES["laterality"] else _named_with_qualifier(words, i, terms)
            if named:
                units.append(named)
                i += len(named.words)
                continue
            units.append(Unit((words[i],), text=words[i]))
            i += 1
            continue
        for n in range(min(8, len(words) - i), 0, -1):
            span = words[i : i + n]
            if any(w in MINOR_WORDS for w in span[1:]):
                continue
            k = " ".join(span)
            ids = terms.find(k, related=n > 1) or (terms.acronyms.get(k) if n == 1 else None)
            if not ids and n > 1:  # the same name in other forms of its words
                ids = terms.forms.get(form_key(span))
            if ids:
                ids = ids - _staging_classes(terms)
            if ids:
                units.append(Unit(tuple(form(w) for w in span), frozenset(ids), " ".join(span)))
                i += n
                break
        else:
            units.append(Unit((form(words[i]),), text=words[i]))
            i += 1
    return units


def _named_with_qualifier(words: list[str], i: int, terms: Terminology) -> Unit | None:
    """The term of three words or more that begins with the minor qualifier ``words[i]`` when the
    qualifier makes it another concept than the rest ("benign intracranial hypertension" is not
    "intracranial hypertension", "acute myeloid leukemia" not "myeloid leukemia"); shorter ones
    ("acute appendicitis") leave the qualifier a word a candidate may omit."""
    for n in range(min(8, len(words) - i), 2, -1):
        span = words[i : i + n]
        if any(w in MINOR_WORDS for w in span[1:]):
            continue
        ids = terms.find(" ".join(span))
        if ids and not ids & terms.find(" ".join(span[1:])):
            return Unit(tuple(form(w) for w in span), frozenset(ids), " ".join(span))
    return None


#: NCIt's staging classes ("Stage IIIB Cervical Cancer", "... AJCC v7", "Ann Arbor Stage I ...").
_STAGING = re.compile(r"(ann arbor |figo )?stage\b|.*\bajcc v\d", re.I)


@cache
def _staging_classes(terms: Terminology) -> frozenset[str]:
    """Ids of the staging classes: a stage is compared as a numeral (see `qualifiers`), so a
    staged name must not swallow it into a term the other text, staging in its own words
    ("stage IIIB carcinoma of the cervix"), cannot match."""
    return frozenset(tid for tid, label in terms.labels.items() if _STAGING.match(label))


@cache
def _generic_forms() -> frozenset[str]:
    return frozenset(form(w) for w in GENERIC)


@cache
def _generic_neoplasm_forms() -> frozenset[str]:
    return frozenset(form(w) for w in _GENERIC_NEOPLASM)


def neoplastic(unit: Unit) -> bool:
    return any(w.endswith(_NEOPLASM_ENDINGS) for w in unit.words)


def equal(u: Unit, v: Unit) -> bool:
    return u.words == v.words or bool(u.ids & v.ids) or (set(u.words) == set(v.words))


def broader(u: Unit, v: Unit, terms: Terminology) -> bool:
    """u names a more general diagnosis than v."""
    if u.ids and v.ids and any(x in terms.ancestors(y) for x in u.ids for y in v.ids):
        return True
    if set(u.words) < set(v.words):
        return True
    # "mass", "lesion", "tumor" are broader than any named neoplasm
    return set(u.words) <= _generic_neoplasm_forms() and neoplastic(v) and u.words != v.words


def narrows(u: Unit, B: list[Unit], gold_words: list[str], terms: Terminology) -> bool:
    """u is a subtype of a gold unit, by the ontology or by words the gold does not have."""
    if any(equal(u, v) for v in B):
        return False
    for v in B:
        if u.ids and v.ids and any(x in terms.ancestors(y) for y in u.ids for x in v.ids):
            return True
        if set(v.words) < set(u.words):
            added = [w for w in u.text.split() if not any(alike(w, g) for g in gold_words)]
            if added:
                return True
    return False


def alike(a: str, b: str) -> bool:
    """Spelling variants of one word (rapidfuzz ratio >= 88, five letters or more)."""
    from rapidfuzz import fuzz

    if a == b:
        return True
    if min(len(a), len(b)) < 5 or q.prefix_conflict([a], [b]):
        return False
    return fuzz.ratio(a, b) >= 88


def absorb(
    extra: list[Unit], missing: list[Unit], cand_words: list[str], gold_words: list[str]
) -> tuple[list[Unit], list[Unit]]:
    """Drop the unmatched units of each side whose every word has a spelling twin among the other
    side's words (compared as written: "azygos" ~ "azygous", "sydrome" ~ "syndrome"), or is that
    word inside its organ ("intraosseous" ~ "osseous")."""

    def twin(unit: Unit, others: list[str]) -> bool:
        return all(
            any(alike(w, o) or w == f"intra{o}" or o == f"intra{w}" for o in others)
            for w in unit.text.split()
        )

    return [u for u in extra if not twin(u, gold_words)], [v for v in missing if not twin(v, cand_words)]


def merge_compounds(a: list[str], b: list[str]) -> list[str]:
    """Join adjacent words of *a* that *b* writes as one: "blow out" -> "blowout", and through a
    combining form whose stem begins the first word: "radiation necrosis" -> "radionecrosis",
    "cerebral spinal" -> "cerebrospinal"."""
    joined = set(b)
    out: list[str] = []
    i = 0
    while i < len(a):
        both = _compound(a[i], a[i + 1], joined) if i + 1 < len(a) else None
        if both:
            out.append(both)
            i += 2
        else:
            out.append(a[i])
            i += 1
    return out


def _compound(first: str, second: str, joined: set[str]) -> str | None:
    """The word of *joined* that writes *first* *second* as one, if any."""
    if first + second in joined:
        return first + second
    for word in sorted(joined):  # a set: sorted, for one answer per run
        if not word.endswith(second):
            continue
        # a combining form: a stem of 4+ letters and its joining "o" ("radi-o-"), which a vowel
        # after it drops ("gastr-esophageal")
        head = word[: -len(second)]
        stem = head[:-1] if head.endswith("o") else head if second[0] in "aeiou" else ""
        if len(stem) >= 4 and first.startswith(stem):
            return word
    return None


def via_synonym(A: list[Unit], B: list[Unit]) -> bool:
    return any(u.ids and any(u.ids & v.ids and u.words != v.words for v in B) for u in A)


def show(units: list[Unit]) -> str:
    return ", ".join(u.text for u in units)


def concepts(units: list[Unit], terms: Terminology) -> str:
    names = [terms.labels[sorted(u.ids)[0]] for u in units if u.ids]
    return f" [DOID: {'; '.join(names)}]" if names else ""
