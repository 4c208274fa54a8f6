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
    mondo = src["mondo"]
    assert mondo["licence"] == "CC BY 4.0" and mondo["commit"] in notice and "CC BY 4.0" in notice
    assert "NCI Thesaurus" in notice and src["ncit"]["file"] in notice


def test_mondo_lends_related_synonyms_to_do_terms():
    terms = load()
    # a MONDO synonym the DO lacks (the 2016 DO release did not have it either)
    assert terms.lookup("spotted bone disease") & terms.lookup("osteopoikilosis")


def test_precomputed_index_is_current_and_equal_to_a_fresh_one():
    # Fails when text.py or terminology.py changed without rerunning scripts/build_disease_terms.py
    # (the package would still be right, only slower: it re-indexes at load).
    data = raw()
    assert data["index"]["fingerprint"] == fingerprint()
    fresh, packaged = build(data), load()
    assert fresh.exact == packaged.exact and fresh.acronyms == packaged.acronyms


def _do(ids: set[str]) -> str:
    (do,) = (i for i in ids if i.startswith("DOID:"))
    return do


def test_lookup_synonyms_acronyms_and_ancestors():
    terms = load()
    assert terms.labels[_do(terms.lookup("Wilms' tumour"))] == "nephroblastoma"
    assert terms.lookup("plasma cell myeloma") == terms.lookup("multiple myeloma")
    assert any(terms.labels[t] == "renal cell carcinoma" for t in terms.acronyms["rcc"])
    glioblastoma, glioma = _do(terms.lookup("glioblastoma")), _do(terms.lookup("glioma"))
    assert glioma in terms.ancestors(glioblastoma) and glioblastoma not in terms.ancestors(glioma)


def test_ncit_links_names_the_do_keeps_apart():
    terms = load()
    assert terms.source["ncit"]["licence"] == "CC BY 4.0"
    # synonyms the DO lacks
    assert terms.lookup("osteocartilaginous exostosis") & terms.lookup("osteochondroma")
    assert terms.lookup("infiltrating ductal carcinoma") & terms.lookup("invasive ductal carcinoma")
    # a broader name an NCIt subtype also lists is left to the broader term
    ncit = {i for i in terms.lookup("neurofibromatosis") if i.startswith("NCIT:")}
    assert ncit and not ncit & terms.lookup("neurofibromatosis type 1")
    # a lone organ or adjective is no diagnosis
    assert not terms.lookup("kidney disorder") - terms.lookup("kidney disease")
    assert not terms.lookup("invasive")


def test_mondo_exact_matches_join_and_name_terms():
    terms = load()
    assert terms.source["mondo_mappings"]["licence"] == "CC BY 4.0"
    # MONDO's label and Orphanet's label of a DO disease are names of it
    assert terms.lookup("osteochondritis of tarsal/metatarsal bone") & terms.lookup("Kohler disease")
    assert terms.lookup("familial cerebral saccular aneurysm") & terms.lookup("intracranial berry aneurysm")
    # a DO and an NCIt term MONDO calls one disease share their names
    assert {"DOID:0050868", "NCIT:C3758"} <= terms.lookup("hepatocellular adenoma")
    # (a name another term bears is not lent: see test_ncit_links_names_the_do_keeps_apart)
