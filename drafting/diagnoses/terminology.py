"""The disease terminology: names, synonyms, acronyms and the is-a hierarchy of the Human Disease
Ontology (CC0; see ``data/NOTICE.md`` for the release, and ``scripts/build_disease_terms.py``).

Loaded once per process from the package data (``importlib.resources``) and indexed by the
normalised key of `drafting.diagnoses.text.key`, so that "Wilms' tumour" finds "Wilms tumor".
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from drafting.diagnoses.text import key, tokens
from drafting.diagnoses.units import form_key

DATA_FILE = "disease_terms.json.gz"
_NCIT_DISEASE = "NCIT:C2991"  # Disease or Disorder
_ACRONYM = re.compile(r"[A-Z][A-Za-z0-9-]{1,7}")


@dataclass
class Terminology:
    """Indexes over the ontology's terms.

    Attributes:
        source: Where the data comes from (name, repository, commit, release, licence).
        labels: Term id -> its preferred label.
        parents: Term id -> its is-a parents' ids.
        exact: Normalised key -> ids of the terms with that label or exact synonym.
        related: Normalised key -> ids of the terms with that related synonym (a weaker link,
            used only when no exact name matches).
        acronyms: Normalised acronym ("rcc") -> ids of the terms it abbreviates.
        names: Term id -> its label and exact synonyms (the expansions of its acronyms).
        forms: `form_key` of a label or exact synonym of two words or more -> ids ("stone
            ureter" for "Ureteric stone"), for names written with other endings or word order.
    """

    source: dict[str, Any]
    labels: dict[str, str]
    parents: dict[str, list[str]]
    exact: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    related: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    acronyms: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    names: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    forms: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def lookup(self, text: str) -> set[str]:
        """Ids of the terms whose label or exact synonym is *text* (else related synonym)."""
        return self.find(key(text))

    def find(self, k: str, related: bool = True) -> set[str]:
        """Ids of the terms named *k* (a normalised key): by label or exact synonym, and by a DO
        related synonym when no DO term has that exact name (an NCIt name does not hide the DO's
        weaker link: "Wilms tumor" is a related name of the DO's nephroblastoma)."""
        ids = set(self.exact.get(k, ()))
        if related and not any(i.startswith("DOID:") for i in ids):
            ids |= self.related.get(k, set())
        return ids

    def names_disease(self, ids: set[str] | frozenset[str]) -> bool:
        """True when one of the terms is a disease: any DO term, or an NCIt term under "Disease
        or Disorder" (NCIt's findings, "Sign or Symptom" and the like, are not)."""
        return any(i.startswith("DOID:") or _NCIT_DISEASE in self.ancestors(i) for i in ids)

    def ancestors(self, term_id: str) -> frozenset[str]:
        """Every is-a ancestor of the term (not the term itself)."""
        return _ancestors(self, term_id)

    def __hash__(self) -> int:  # one instance per process; lets lru_cache key on it
        return id(self)


@lru_cache(maxsize=100_000)
def _ancestors(terms: Terminology, term_id: str) -> frozenset[str]:
    out: set[str] = set()
    stack = list(terms.parents.get(term_id, ()))
    while stack:
        parent = stack.pop()
        if parent not in out:
            out.add(parent)
            stack.extend(terms.parents.get(parent, ()))
    return frozenset(out)


def build(raw: dict[str, Any]) -> Terminology:
    """Index the raw data file (see ``scripts/build_disease_terms.py`` for its layout)."""
    terms = Terminology(
        source=raw["source"],
        labels={tid: label for tid, (label, _) in raw["terms"].items()},
        parents={tid: parents for tid, (_, parents) in raw["terms"].items()},
    )
    for tid, label in terms.labels.items():
        terms.exact[key(label)].add(tid)
        terms.names[tid].append(label)
    for tid, synonyms in raw["exact"].items():
        for syn in synonyms:
            if _ACRONYM.fullmatch(syn) and not syn[1:].islower():
                terms.acronyms[key(syn)].add(tid)
            else:
                terms.exact[key(syn)].add(tid)
                terms.names[tid].append(syn)
    for tid, synonyms in raw["related"].items():
        for syn in synonyms:
            if not _ACRONYM.fullmatch(syn):
                terms.related[key(syn)].add(tid)
    terms.exact.pop("", None)
    for tid, names in terms.names.items():
        for name in names:
            fk = form_key(tokens(name))
            if " " in fk:
                terms.forms[fk].add(tid)
    return terms


def fingerprint() -> str:
    """A hash of the code that makes the index (normalisation and indexing), so a stale
    precomputed index is noticed and rebuilt rather than trusted."""
    h = hashlib.sha256()
    for module in ("text.py", "terminology.py", "units.py", "qualifiers.py"):
        h.update(resources.files("drafting.diagnoses").joinpath(module).read_bytes())
    return h.hexdigest()[:16]


def index_of(terms: Terminology) -> dict[str, Any]:
    """The indexes as JSON-ready data, stamped with the `fingerprint` of the code that made them."""
    return {
        "fingerprint": fingerprint(),
        "exact": {k: sorted(v) for k, v in terms.exact.items()},
        "related": {k: sorted(v) for k, v in terms.related.items()},
        "acronyms": {k: sorted(v) for k, v in terms.acronyms.items()},
        "names": dict(terms.names),
        "forms": {k: sorted(v) for k, v in terms.forms.items()},
    }


def _from_index(raw: dict[str, Any]) -> Terminology:
    index = raw["index"]
    terms = Terminology(
        source=raw["source"],
        labels={tid: label for tid, (label, _) in raw["terms"].items()},
        parents={tid: parents for tid, (_, parents) in raw["terms"].items()},
    )
    terms.exact.update((k, set(v)) for k, v in index["exact"].items())
    terms.related.update((k, set(v)) for k, v in index["related"].items())
    terms.acronyms.update((k, set(v)) for k, v in index["acronyms"].items())
    terms.names.update(index["names"])
    terms.forms.update((k, set(v)) for k, v in index["forms"].items())
    return terms


@cache
def load() -> Terminology:
    """The packaged terminology, loaded once per process: from its precomputed index when that
    was made by the current code (see `fingerprint`), else indexed afresh (slower, same result)."""
    data = resources.files("drafting.diagnoses").joinpath("data", DATA_FILE)
    with data.open("rb") as fh, gzip.open(fh, "rt", encoding="utf-8") as text:
        raw = json.load(text)
    if raw.get("index", {}).get("fingerprint") == fingerprint():
        return _from_index(raw)
    return build(raw)
