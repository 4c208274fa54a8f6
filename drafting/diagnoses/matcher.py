"""Do two diagnosis texts name the same diagnosis? Three verdicts, each with the rule that decided.

`match_diagnosis(candidate, gold)` tries these steps in order; the first that decides wins:

1. ``empty``: either text is blank -> different.
2. ``exact``: the same normalised words, in any order -> same.
3. ``conflict:<axis>``: the texts disagree on a qualifier (laterality, a negating or contrasting
   prefix, a numeral, acute/chronic, benign/malignant, ...; see `drafting.diagnoses.qualifiers`)
   -> different. Nothing later can override a conflict.
4. ``terminology`` / ``hierarchy`` / ``words``: each text is read into *units*: the longest
   spans that name a Human Disease Ontology term (label, exact synonym or acronym: "RCC",
   "Wilms tumor", "plasma cell myeloma") become concepts, other words stay words. Then:

   * every gold unit has an equal (or more specific) candidate unit, and no candidate unit is
     unrelated to the gold -> same (``terminology`` when a concept decided it);
   * the candidate covers only part of the gold, or names an ancestor of it -> partial
     (``less_specific``, ``generic_parent``): "Dermatomyositis" for "Dermatomyositis with
     calcinosis", "Carcinoma" for "Choroid plexus carcinoma";
   * a gold that is itself only a generic term ("Carcinoma") is at most partial for a specific
     candidate (``generic_gold``);
   * both texts carry units the other lacks -> different (``different_core``: a sibling or an
     unrelated diagnosis).

Words the gold adds that only qualify on a minor axis (laterality, acuity, severity) may be left
out by the candidate. Spelling variants (rapidfuzz ratio >= 88 on words of 5+ letters) count as
the same word. Everything is deterministic and fast; embeddings are not used here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from drafting.diagnoses import qualifiers as q
from drafting.diagnoses.abbreviations import _spells, expand
from drafting.diagnoses.terminology import Terminology, load
from drafting.diagnoses.text import WEAK, aliases, main_clause, stem, tokens, words

Verdict = Literal["same", "partial", "different"]
_RANK = {"same": 2, "partial": 1, "different": 0}

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
_MINOR_WORDS = (
    frozenset(t for axis in q.MINOR_AXES for t in q.AXES[axis])
    | frozenset(t for values in q.AXES.values() for t, v in values.items() if v in q.DEFAULT_VALUES)
    | frozenset({"classic", "classical"})
)


class DiagnosisVerdict(BaseModel):
    """The matcher's verdict on one (candidate, gold) pair.

    Attributes:
        verdict: ``same`` (a hit), ``partial`` (a correct but less specific or incomplete form of
            the gold; never a hit) or ``different``.
        rule: The rule that decided, e.g. ``exact``, ``terminology``, ``conflict:laterality``.
        reason: One line a reader can check.
    """

    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    rule: str
    reason: str

    @property
    def hit(self) -> bool:
        """True for ``same``."""
        return self.verdict == "same"


@dataclass(frozen=True)
class _Unit:
    words: tuple[str, ...]  # comparison forms (see `_form`)
    ids: frozenset[str] = frozenset()
    text: str = field(default="", compare=False)  # as written, for reasons

    @property
    def minor(self) -> bool:
        return not self.ids and all(w in _MINOR_WORDS for w in self.words)

    @property
    def generic(self) -> bool:
        return all(w in _generic_forms() or w in q.QUALIFIER_WORDS for w in self.words)


def _canonical(toks: list[str]) -> list[str]:
    """Tokens with numbering words dropped and roman numerals in context turned arabic."""
    out: list[str] = []
    for i, tok in enumerate(toks):
        if tok in _NUMBERING:
            continue
        prev = toks[i - 1] if i else ""
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if (
            tok in q._ROMAN
            and (tok not in {"i", "v", "x"} or prev in q._NUMERAL_CONTEXT)
            and not (tok == "x" and nxt in {"linked", "ray"})
        ):
            tok = str(q._ROMAN[tok])
        out.append(tok)
    return out


def _form(word: str) -> str:
    """The form a word is compared in: anatomical adjective as its noun, ending folded."""
    return stem(_ANATOMY.get(word, word))


def _units(toks: list[str], terms: Terminology) -> list[_Unit]:
    """Greedy longest-match of ontology names over the tokens (minor qualifiers stay words).

    Each unit keeps the comparison forms of its words (see `_form`)."""
    words = [t for t in toks if t not in WEAK] or toks
    units: list[_Unit] = []
    i = 0
    while i < len(words):
        if words[i] in _MINOR_WORDS:
            units.append(_Unit((words[i],), text=words[i]))
            i += 1
            continue
        for n in range(min(8, len(words) - i), 0, -1):
            span = words[i : i + n]
            if any(w in _MINOR_WORDS for w in span[1:]):
                continue
            k = " ".join(span)
            ids = terms.exact.get(k) or (terms.acronyms.get(k) if n == 1 else None)
            if not ids and n > 1:
                ids = terms.related.get(k)
            if ids:
                units.append(_Unit(tuple(_form(w) for w in span), frozenset(ids), " ".join(span)))
                i += n
                break
        else:
            units.append(_Unit((_form(words[i]),), text=words[i]))
            i += 1
    return units


@cache
def _generic_forms() -> frozenset[str]:
    return frozenset(_form(w) for w in GENERIC)


@cache
def _generic_neoplasm_forms() -> frozenset[str]:
    return frozenset(_form(w) for w in _GENERIC_NEOPLASM)


def _neoplastic(unit: _Unit) -> bool:
    return any(w.endswith(_NEOPLASM_ENDINGS) for w in unit.words)


def _equal(u: _Unit, v: _Unit) -> bool:
    return u.words == v.words or bool(u.ids & v.ids) or (set(u.words) == set(v.words))


def _broader(u: _Unit, v: _Unit, terms: Terminology) -> bool:
    """u names a more general diagnosis than v."""
    if u.ids and v.ids and any(x in terms.ancestors(y) for x in u.ids for y in v.ids):
        return True
    if set(u.words) < set(v.words):
        return True
    # "mass", "lesion", "tumor" are broader than any named neoplasm
    return set(u.words) <= _generic_neoplasm_forms() and _neoplastic(v) and u.words != v.words


def _narrows(u: _Unit, B: list[_Unit], gold_words: list[str], terms: Terminology) -> bool:
    """u is a subtype of a gold unit, by the ontology or by words the gold does not have."""
    if any(_equal(u, v) for v in B):
        return False
    for v in B:
        if u.ids and v.ids and any(x in terms.ancestors(y) for y in u.ids for x in v.ids):
            return True
        if set(v.words) < set(u.words):
            added = [w for w in u.text.split() if not any(_alike(w, g) for g in gold_words)]
            if added:
                return True
    return False


def _alike(a: str, b: str) -> bool:
    """Spelling variants of one word (rapidfuzz ratio >= 88, five letters or more)."""
    from rapidfuzz import fuzz

    if a == b:
        return True
    if min(len(a), len(b)) < 5 or q.prefix_conflict([a], [b]):
        return False
    return fuzz.ratio(a, b) >= 88


def _absorb(
    extra: list[_Unit], missing: list[_Unit], cand_words: list[str], gold_words: list[str]
) -> tuple[list[_Unit], list[_Unit]]:
    """Drop the unmatched units of each side whose every word has a spelling twin among the other
    side's words (compared as written: "azygos" ~ "azygous", "sydrome" ~ "syndrome")."""

    def twin(unit: _Unit, others: list[str]) -> bool:
        return all(any(_alike(w, o) for o in others) for w in unit.text.split())

    return [u for u in extra if not twin(u, gold_words)], [v for v in missing if not twin(v, cand_words)]


def _merge_compounds(a: list[str], b: list[str]) -> list[str]:
    """Join adjacent words of *a* that *b* writes as one ("blow out" -> "blowout")."""
    joined = set(b)
    out: list[str] = []
    i = 0
    while i < len(a):
        if i + 1 < len(a) and a[i] + a[i + 1] in joined:
            out.append(a[i] + a[i + 1])
            i += 2
        else:
            out.append(a[i])
            i += 1
    return out


def _compare(cand: str, gold: str, terms: Terminology) -> DiagnosisVerdict:
    a_toks, g_toks = tokens(cand), tokens(gold)
    clash = q.conflict(a_toks, g_toks)
    if clash:
        return DiagnosisVerdict(verdict="different", rule=f"conflict:{clash.axis}", reason=clash.reason())
    a_toks, g_toks = _merge_compounds(a_toks, g_toks), _merge_compounds(g_toks, a_toks)
    (a_toks, a_notes), (g_toks, g_notes) = (
        expand(a_toks, cand, g_toks, terms),
        expand(g_toks, gold, a_toks, terms),
    )
    notes = "; ".join(a_notes + g_notes)
    via = f" ({notes})" if notes else ""
    a_can, g_can = _canonical(a_toks), _canonical(g_toks)
    form_a = {_form(t) for t in a_can if t not in WEAK}
    form_g = {_form(t) for t in g_can if t not in WEAK}
    if not form_a or not form_g:
        return DiagnosisVerdict(verdict="different", rule="empty", reason="no diagnosis words to compare")
    clash = q.conflict(a_toks, g_toks)
    if clash:
        return DiagnosisVerdict(verdict="different", rule=f"conflict:{clash.axis}", reason=clash.reason())
    if form_a == form_g:
        rule = "abbreviation" if notes else "exact"
        return DiagnosisVerdict(verdict="same", rule=rule, reason=f"the same words after normalisation{via}")

    A, B = _units(a_can, terms), _units(g_can, terms)
    extra = [
        u for u in A if not any(_equal(u, v) or _broader(u, v, terms) or _broader(v, u, terms) for v in B)
    ]
    missing = [v for v in B if not any(_equal(u, v) or _broader(v, u, terms) for u in A)]
    extra, missing = _absorb(extra, missing, a_can, g_can)
    extra_content = [u for u in extra if not u.minor]
    missing_content = [v for v in missing if not v.minor]
    narrower = [u for u in A if _narrows(u, B, g_can, terms)]
    gold_generic = all(v.generic for v in B)
    cand_generic = all(u.generic for u in A)

    if extra_content and missing_content:
        return DiagnosisVerdict(
            verdict="different",
            rule="different_core",
            reason=f"'{_show(extra_content)}' vs '{_show(missing_content)}'",
        )
    if missing_content and narrower:
        # the candidate narrows the gold one way while the gold narrows it another: siblings
        return DiagnosisVerdict(
            verdict="different",
            rule="different_subtype",
            reason=f"'{_show(narrower)}' vs '{_show(missing_content)}'",
        )
    if not missing_content:
        specialised = [v for v in B if not v.minor and not any(_equal(u, v) for u in A)]
        if (extra_content or specialised) and gold_generic:
            return DiagnosisVerdict(
                verdict="partial",
                rule="generic_gold",
                reason="the gold names only a generic class; the specific form cannot be confirmed",
            )
        added = [u for u in extra_content if (u.ids or _neoplastic(u)) and not u.generic]
        if added:
            return DiagnosisVerdict(
                verdict="partial",
                rule="additional_diagnosis",
                reason=f"names the gold diagnosis and another ('{_show(added)}')",
            )
        if sum(len(u.words) for u in extra_content) > MAX_ADDED_WORDS:
            return DiagnosisVerdict(
                verdict="partial",
                rule="unverifiable_detail",
                reason=f"names the gold diagnosis with much added detail ('{_show(extra_content)}')",
            )
        if extra_content or specialised:
            return DiagnosisVerdict(
                verdict="same",
                rule="more_specific",
                reason=f"names the gold diagnosis, more specifically ({_show(extra_content) or 'a subtype'})",
            )
        rule = "terminology" if _via_synonym(A, B) else "abbreviation" if notes else "words"
        omitted = f" (omits '{_show(missing)}')" if missing else ""
        return DiagnosisVerdict(
            verdict="same", rule=rule, reason=f"names the same diagnosis{omitted}{via}" + _concepts(A, terms)
        )
    if cand_generic or all(u.generic or any(_broader(u, v, terms) for v in B) for u in A):
        return DiagnosisVerdict(
            verdict="partial",
            rule="generic_parent",
            reason=f"a more general term; the gold is more specific ('{_show(missing_content)}')",
        )
    return DiagnosisVerdict(
        verdict="partial",
        rule="less_specific",
        reason=f"correct but less specific or incomplete: lacks '{_show(missing_content)}'",
    )


def _via_synonym(A: list[_Unit], B: list[_Unit]) -> bool:
    return any(u.ids and any(u.ids & v.ids and u.words != v.words for v in B) for u in A)


def _show(units: list[_Unit]) -> str:
    return ", ".join(u.text for u in units)


def _concepts(units: list[_Unit], terms: Terminology) -> str:
    names = [terms.labels[sorted(u.ids)[0]] for u in units if u.ids]
    return f" [DOID: {'; '.join(names)}]" if names else ""


def _aliases(text: str, terms: Terminology) -> list[str]:
    """The main clause, plus its parts when a parenthesis gives a synonym or an abbreviation of
    the rest ("Wilms' tumor (nephroblastoma)", "Arteriovenous malformation (AVM)"); a parenthesis
    that adds detail ("Renal cell carcinoma (clear cell)") is no alias."""
    parts = aliases(text)
    if len(parts) < 3:
        dash = parts[0].split(" - ", 1)
        if len(dash) < 2:
            return parts[:1]
        parts = [parts[0], dash[0], dash[1]]  # "OPLL - Ossification of the ..."
    outer, inner = parts[1], parts[2:]
    outer_ids = terms.lookup(outer)
    kept = [parts[0]]
    for alt in inner:
        short = any(x.isupper() and " " not in x.strip() and len(x) <= 8 for x in (alt, outer))
        spelled = _spells(alt.lower(), tokens(outer)) or _spells(outer.lower(), tokens(alt))
        if short or spelled or outer_ids & terms.lookup(alt):
            kept += [outer, alt]
    return list(dict.fromkeys(kept))


@lru_cache(maxsize=50_000)
def match_diagnosis(candidate: str, gold: str) -> DiagnosisVerdict:
    """Decide whether *candidate* names the same diagnosis as *gold*.

    Args:
        candidate: The drafted diagnosis.
        gold: The reference diagnosis.

    Returns:
        A `DiagnosisVerdict`: ``same``, ``partial`` (correct but less specific or incomplete)
        or ``different``, with the deciding rule and a one-line reason.
    """
    terms = load()
    if not candidate.strip() or not gold.strip():
        return DiagnosisVerdict(verdict="different", rule="empty", reason="a diagnosis is missing")
    whole = _compare(main_clause(candidate), main_clause(gold), terms)
    if whole.verdict == "same" or whole.rule.startswith("conflict:"):
        return whole
    best = whole
    for c in _aliases(candidate, terms):
        for g in _aliases(gold, terms):
            v = _compare(c, g, terms)
            if _RANK[v.verdict] > _RANK[best.verdict]:
                best = v
            if best.verdict == "same":
                return best.model_copy(update={"reason": f"{best.reason} ('{c}' ~ '{g}')"})
    return best
