"""The packaged terminology: source recorded, index current, lookups and hierarchy."""

from __future__ import annotations

import gzip
import json
from importlib import resources

from drafting.diagnoses.terminology import DATA_FILE, build, fingerprint, load


def raw() -> dict:
    data = resources.files("drafting.diagnoses").joinpath("data", DATA_FILE)
    with data.open("rb") as fh, gzip.open(fh, "rt", encoding="utf-8") as text:
        return json.load(text)


def test_source_and_licence_are_recorded():
    src = load().source
    assert src["name"] == "Human Disease Ontology" and src["commit"] and src["release"]
    assert "CC0" in src["licence"]
    notice = resources.files("drafting.diagnoses").joinpath("data", "NOTICE.md").read_text()
    assert src["commit"] in notice and "CC0" in notice and "CC BY 3.0" in notice


def test_precomputed_index_is_current_and_equal_to_a_fresh_one():
    # Fails when text.py or terminology.py changed without rerunning scripts/build_disease_terms.py
    # (the package would still be right, only slower: it re-indexes at load).
    data = raw()
    assert data["index"]["fingerprint"] == fingerprint()
    fresh, packaged = build(data), load()
    assert fresh.exact == packaged.exact and fresh.acronyms == packaged.acronyms


def test_lookup_synonyms_acronyms_and_ancestors():
    terms = load()
    (nephroblastoma,) = terms.lookup("Wilms' tumour")
    assert terms.labels[nephroblastoma] == "nephroblastoma"
    assert terms.lookup("plasma cell myeloma") == terms.lookup("multiple myeloma")
    assert any(terms.labels[t] == "renal cell carcinoma" for t in terms.acronyms["rcc"])
    (glioblastoma,) = terms.lookup("glioblastoma")
    (glioma,) = terms.lookup("glioma")
    assert glioma in terms.ancestors(glioblastoma) and glioblastoma not in terms.ancestors(glioma)
