"""Does what a gold adds to the candidate only describe the diagnosis, or name more of it?

"Stress fracture tarsal navicular bone" adds "bone" to "Tarsal navicular stress fracture", and
"Abdominal wall hematoma following the initiation of therapeutic anticoagulation" adds how it
came about: descriptions a radiologist would not hold against the shorter text. "Dermatomyositis
with calcinosis", "Spigelian hernia", "Bicuspid aortic valve with aortic stenosis and aortic
dilatation" and "Acute appendicitis and incidental malrotation" add another diagnosis, a subtype
or a finding: the shorter text is only part of them.
"""

from __future__ import annotations

import re

from drafting.diagnoses.terminology import Terminology
from drafting.diagnoses.text import WEAK, key, tokens
from drafting.diagnoses.units import GENERIC, MINOR_WORDS, Unit, canonical, form, neoplastic

#: Words that say how far a disease has spread: staging, never mere description.
EXTENT = frozenset(
    {"extension", "invasion", "spread", "involvement", "encasement", "infiltration", "dissemination"}
    | {"metastasis", "metastatic", "extending", "invading", "involving", "disseminated"}
)
#: Endings of words that name a condition: "tendinosis", "arthritis", "cardiomyopathy".
_MORBID_ENDINGS = (
    "osis", "itis", "pathy", "emia", "iasis", "plasia", "trophy", "megaly", "ectasis", "cele",
    "malacia", "rrhage", "rrhea", "algia", "oma",
)  # fmt: skip
#: Words of a lesion's morphology that are findings of their own ("aortic dilatation").
_MORBID_FORMS = frozenset(
    form(w) for w in ("rupture", "dilated", "stone", "stenosis", "occlusion", "aneurysm")
)
#: Where one listed finding ends and the next begins.
_CONJUNCTION = re.compile(r";|,\s+|\s+(?:and|plus|&)\s+", re.I)
#: Where a noun phrase ends: punctuation, a preposition, a conjunction, a causal link.
_PHRASE_BREAK = re.compile(
    r"[,;:()/]|\s[-\u2013]\s"
    r"|\b(?:of|in|at|on|with|and|or|to|from|by|for|following|after|secondary|due|resulting)\b",
    re.I,
)
_DISEASE_WORD = re.compile(r"\b(diseases?|disorders?)\b", re.I)


def only_describes(missing: list[Unit], cand_forms: set[str], gold: str, terms: Terminology) -> bool:
    """True when the gold units the candidate lacks (*missing*) only describe the diagnosis.

    None of them may name a disease, a neoplasm, a generic diagnosis ("cyst"), a morbid state
    ("-osis", "-itis", "stenosis"), a number or a spread; none may open a noun phrase whose
    later words the candidate shares ("*Spigelian* hernia", "*calculous* cholecystitis": a
    subtype); and none of the gold's listed findings may be missing whole ("... and incidental
    malrotation").

    Args:
        missing: The gold's content units that no candidate unit equals or narrows.
        cand_forms: The comparison forms of the candidate's words.
        gold: The gold text compared (its main clause).
        terms: The terminology.
    """
    for unit in missing:
        disease = terms.names_disease(unit.ids) and not _organ_word(unit, terms)
        if disease or neoplastic(unit) or unit.generic:
            return False
        if any(_diagnostic_word(w) for w in unit.text.split()):
            return False
    lacking = {w for unit in missing for w in unit.words}
    findings = [set(_forms(part)) for part in _CONJUNCTION.split(gold)]
    if len(findings) > 1 and any(part and part <= lacking for part in findings):
        return False
    for phrase in _PHRASE_BREAK.split(gold):
        forms = _forms(phrase, keep_minor=True)
        if any(f in lacking and cand_forms & set(forms[i + 1 :]) for i, f in enumerate(forms)):
            return False
    return True


def concretion(word: str) -> bool:
    """A stone is a finding of its own: "appendicitis with an appendicolith" is more than
    appendicitis. *word* is a token ("calculi" already read as "calculus", a stone by `form`)."""
    return word.endswith(("lith", "lithiasis")) or form(word) == form("stone")


def _diagnostic_word(word: str) -> bool:
    return (
        word.isdigit()
        or word in EXTENT
        or word in GENERIC
        or concretion(word)
        or word.endswith(_MORBID_ENDINGS)
        or form(word) in _MORBID_FORMS
    )


def _organ_word(unit: Unit, terms: Terminology) -> bool:
    """The unit matched a term only through a name such as "Bone disease" (its weak word
    dropped): in the text the word names an organ, not a disease."""
    k = key(unit.text)
    named = [n for tid in sorted(unit.ids) for n in terms.names.get(tid, ()) if key(n) == k]
    return bool(named) and all(_DISEASE_WORD.search(n) for n in named)


def _forms(text: str, keep_minor: bool = False) -> list[str]:
    return [
        form(t) for t in canonical(tokens(text)) if t not in WEAK and (keep_minor or t not in MINOR_WORDS)
    ]
