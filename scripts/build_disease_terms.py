"""Build drafting/diagnoses/data/disease_terms.json.gz from a clone of the Human Disease Ontology.

Usage::

    python scripts/build_disease_terms.py /path/to/HumanDiseaseOntology/.git [COMMIT] \
        [--mondo /path/to/mondo/.git --mondo-commit C [--ncit] [--mappings]]

The committed file: DO commit 9fbefd6651b79526165453395d06c8fd4bfe4247, MONDO commit
fad2512b4845f483fc1268cdf0bf7a8ef43697cb, with ``--ncit --mappings``.

The DO repository keeps its full release files (doid.obo, doid.json) out of most snapshots, so this
script reads what a clone always carries, all from one release commit (CC0 1.0):

* ``src/ontology/releases/subsets/*.obo``: the subset files, with names, exact / related synonyms
  (acronyms included) and ``is_a`` parents of about 8,000 terms;
* ``DOreports/HumanDO.tsv``: every current term's label and its parent's label (the hierarchy);
* ``src/translations/doid-es-{translated,untranslated}.tsv``: the English source text of labels and
  exact synonyms sent for translation, more synonyms for terms outside the subsets.

It then fills in exact and related synonyms (and parents) of terms that are still current from the
last full ``src/ontology/doid.obo`` the snapshot holds (``--legacy-commit``, the 2016-09-01 release,
licensed CC BY 3.0 at the time: hence the attribution in the NOTICE).

With ``--mappings``, DO and NCIt terms that MONDO says are exactly one disease are joined, and
MONDO's and Orphanet's labels for them added (see `add_mappings`).

With ``--mondo /path/to/mondo/.git``, it adds related synonyms from **MONDO** (CC BY 4.0),
``src/ontology/reports/new-rare-diseases.tsv`` (label and synonyms of each rare disease; the
report does not say which synonyms are exact, so all are kept as *related*, the weaker link): a
MONDO disease whose label is the label or an exact synonym of exactly one DO term lends that term
its other names ("Ormond disease" for a retroperitoneal fibrosis). Only names the DO does not
already have are added.

The output keeps the raw strings, ``{"source": ..., "terms": {id: [label, [parents]]}, "exact":
{id: [synonym, ...]}, "related": {id: [synonym, ...]}}``, plus ``"index"``: the normalised lookup
tables, stamped with a fingerprint of the normalising code. When that code changes the package
notices and indexes the raw strings itself (a few seconds per process): rerun this script
(with the project importable, e.g. ``.venv/bin/python scripts/build_disease_terms.py ...``).
"""

from __future__ import annotations

import argparse
import csv
import functools
import gzip
import io
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "drafting" / "diagnoses" / "data" / "disease_terms.json.gz"
LEGACY_COMMIT = "d172fa5ea86a7faf9e1a976dad8ad5d8e944d646"  # release 2016-09-01, last full doid.obo
MONDO_REPORT = "src/ontology/reports/new-rare-diseases.tsv"
NCIT_FILE = "src/ontology/sources/ncit-disease-2018-06-08.json.gz"  # in the MONDO repository
NCIT_ROOT = "NCIT:C7057"  # Disease, Disorder or Finding
_ADJECTIVE = ("al", "ar", "ic", "ory", "ous", "ive", "ing", "ed", "ent", "ant", "ary")


def git(repo: str, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", repo, *args], check=True, capture_output=True, text=True
    ).stdout


def parse_obo(text: str) -> dict[str, dict]:
    """Terms of an OBO file: id -> {name, exact, related, parents, obsolete}."""
    terms: dict[str, dict] = {}
    for block in text.split("\n[")[1:]:
        if not block.startswith("Term]"):
            continue
        term: dict = {"exact": [], "related": [], "parents": [], "obsolete": False}
        for line in block.splitlines()[1:]:
            key, _, value = line.partition(": ")
            if key == "id":
                term["id"] = value.strip()
            elif key == "name":
                term["name"] = value.strip()
            elif key == "synonym":
                m = re.match(r'"((?:[^"\\]|\\.)*)"\s+(\w+)', value)
                if m:
                    scope = "related" if m.group(2) in {"RELATED"} else m.group(2)
                    syn = m.group(1).replace('\\"', '"')
                    if scope == "related":
                        term["related"].append(syn)
                    elif scope not in {"NARROW", "BROAD"}:  # EXACT, or an acronym type
                        term["exact"].append(syn)
            elif key == "is_a":
                term["parents"].append(value.split("!")[0].strip())
            elif key == "is_obsolete" and value.strip() == "true":
                term["obsolete"] = True
        if term.get("id", "").startswith("DOID:") and "name" in term:
            terms[term["id"]] = term
    return terms


def build(repo: str, commit: str, legacy_commit: str) -> dict:
    files = git(repo, "ls-tree", "-r", "--name-only", commit, "src/ontology/releases/subsets").split()
    subsets: dict[str, dict] = {}
    for path in files:
        if path.endswith(".obo"):
            for tid, term in parse_obo(git(repo, "show", f"{commit}:{path}")).items():
                subsets.setdefault(tid, term)
    release = re.search(
        r"data-version: \S*releases/(\d{4}-\d{2}-\d{2})",
        git(repo, "show", f"{commit}:src/ontology/releases/subsets/GOLD.obo"),
    )

    labels: dict[str, str] = {}
    parent_labels: dict[str, list[str]] = defaultdict(list)
    rows = csv.reader(io.StringIO(git(repo, "show", f"{commit}:DOreports/HumanDO.tsv")), delimiter="\t")
    next(rows)
    for row in rows:
        if len(row) < 2 or not row[0].startswith("DOID:"):
            continue
        labels[row[0]] = row[1]
        if len(row) > 2 and row[2]:
            parent_labels[row[0]].append(row[2])
    by_label = {label: tid for tid, label in labels.items()}

    exact: dict[str, set[str]] = defaultdict(set)
    related: dict[str, set[str]] = defaultdict(set)
    parents: dict[str, set[str]] = defaultdict(set)
    for tid in labels:
        parents[tid].update(by_label[p] for p in parent_labels[tid] if p in by_label)
    for tid, term in subsets.items():
        if tid in labels:
            exact[tid].update(term["exact"])
            related[tid].update(term["related"])
            parents[tid].update(p for p in term["parents"] if p in labels)

    for name in ("doid-es-translated.tsv", "doid-es-untranslated.tsv"):
        text = git(repo, "show", f"{commit}:src/translations/{name}")
        for row in csv.DictReader(io.StringIO(text), delimiter="\t"):
            tid = row.get("source_id") or ""
            if tid in labels and row.get("predicate") == "oboInOwl:hasExactSynonym":
                exact[tid].add(row["source_text"].strip())

    legacy = parse_obo(git(repo, "show", f"{legacy_commit}:src/ontology/doid.obo"))
    for tid, term in legacy.items():
        if tid in labels and not term["obsolete"]:
            exact[tid].update(term["exact"])
            related[tid].update(term["related"])
            parents[tid].update(p for p in term["parents"] if p in labels)

    def clean(values: set[str], label: str) -> list[str]:
        return sorted(v for v in values if v and v.lower() != label.lower())

    return {
        "source": {
            "name": "Human Disease Ontology",
            "repository": "https://github.com/DiseaseOntology/HumanDiseaseOntology",
            "commit": git(repo, "rev-parse", commit).strip(),
            "release": release.group(1) if release else "",
            "legacy_commit": legacy_commit,
            "licence": "CC0 1.0 (legacy 2016 synonyms: CC BY 3.0)",
        },
        "terms": {tid: [labels[tid], sorted(parents[tid])] for tid in sorted(labels)},
        "exact": {t: s for t in sorted(exact) if (s := clean(exact[t], labels[t]))},
        "related": {t: s for t in sorted(related) if (s := clean(related[t], labels[t]))},
    }


def add_mondo(data: dict, repo: str, commit: str) -> int:
    """Add MONDO's names as related synonyms of the DO term its label names (see the docstring);
    returns how many were added."""
    from drafting.diagnoses import terminology
    from drafting.diagnoses.text import key

    terms = terminology.build(data)
    related: dict[str, set[str]] = defaultdict(set, {t: set(v) for t, v in data["related"].items()})
    added = 0
    text = git(repo, "show", f"{commit}:{MONDO_REPORT}")
    for row in csv.DictReader(io.StringIO(text), delimiter="\t"):
        names = [row["LABEL"], *(s for s in (row.get("SYNONYMS") or "").split("|") if s.strip())]
        ids = terms.exact.get(key(names[0]), set())
        if len(ids) != 1:
            continue
        (tid,) = ids
        for name in names[1:]:
            if not terms.exact.get(key(name)) and name not in related[tid]:
                related[tid].add(name)
                added += 1
    data["related"] = {t: sorted(v) for t, v in sorted(related.items()) if v}
    data["source"]["mondo"] = mondo_source("Mondo Disease Ontology", repo, commit, MONDO_REPORT)
    return added


def mondo_source(name: str, repo: str, commit: str, file: str) -> dict[str, str]:
    """Provenance of a resource read from the MONDO repository (CC BY 4.0) at ``commit``."""
    return {
        "name": name,
        "repository": "https://github.com/monarch-initiative/mondo",
        "commit": git(repo, "rev-parse", commit).strip(),
        "file": file,
        "licence": "CC BY 4.0",
    }


def add_ncit(data: dict, repo: str, commit: str) -> int:
    """Add the NCI Thesaurus's diseases, disorders and findings (CC BY 4.0) as terms of their own
    (ids ``NCIT:C...``): label, exact synonyms and is-a parents inside NCIt. A name that NCIt and
    the DO share finds both ids, so NCIt's synonyms link DO names ("Pulseless disease" and
    "Takayasu arteritis"). Returns how many terms were added."""
    blob = subprocess.run(
        ["git", "--git-dir", repo, "show", f"{commit}:{NCIT_FILE}"], check=True, capture_output=True
    ).stdout
    graph = json.loads(gzip.decompress(blob))["graphs"][0]

    def short(uri: str) -> str:
        return uri.rsplit("/", 1)[-1].replace("NCIT_", "NCIT:")

    parents: dict[str, set[str]] = defaultdict(set)
    for edge in graph["edges"]:
        if edge["pred"] == "is_a":
            parents[short(edge["sub"])].add(short(edge["obj"]))
    nodes = {short(n["id"]): n for n in graph["nodes"] if n.get("type") == "CLASS" and n.get("lbl")}

    def under_root(tid: str, seen: set[str]) -> bool:
        if tid == NCIT_ROOT:
            return True
        seen.add(tid)
        return any(p not in seen and under_root(p, seen) for p in parents.get(tid, ()))

    from drafting.diagnoses.text import key
    from drafting.diagnoses.units import _ANATOMY

    ORGANS = set(_ANATOMY) | set(_ANATOMY.values())

    kept = {tid for tid in nodes if tid != NCIT_ROOT and under_root(tid, set())}

    def names(node: dict) -> list[str]:
        syns = node.get("meta", {}).get("synonyms", [])
        return [node["lbl"].strip(), *(s["val"].strip() for s in syns if s.get("pred") == "hasExactSynonym")]

    name_keys: dict[str, set[str]] = defaultdict(set)
    for tid in kept:
        for name in names(nodes[tid]):
            name_keys[key(name)].add(tid)

    def usable(name: str, tid: str) -> bool:
        # "Kidney Disorder", "Invasive", "Recurrent": a lone organ or adjective (once a weak word
        # is gone) qualifies a diagnosis, it is none ("Pulseless Disease", "Cushing Disease" are);
        # and a name that an ancestor also bears ("Neurofibromatosis" for neurofibromatosis type 1,
        # "Nephroblastoma" for Wilms tumor of the kidney) names the ancestor, not this subtype
        k = key(name)
        if " " not in k and (k in ORGANS or k.endswith(_ADJECTIVE)):
            return False
        return not any(other in lineage(tid) for other in name_keys.get(k, set()) - {tid})

    @functools.cache
    def lineage(tid: str) -> frozenset[str]:
        out: set[str] = set()
        stack = list(parents.get(tid, ()))
        while stack:
            p = stack.pop()
            if p not in out:
                out.add(p)
                stack.extend(parents.get(p, ()))
        return frozenset(out)

    for tid in sorted(kept):
        node = nodes[tid]
        label = node["lbl"].strip()
        if not usable(label, tid):
            label = f"{label} (NCIt {tid})"  # kept for the hierarchy, never matched by name
        data["terms"][tid] = [label, sorted(p for p in parents.get(tid, ()) if p in kept)]
        synonyms = {s for s in names(node)[1:] if s.lower() != label.lower() and usable(s, tid)}
        if synonyms:
            data["exact"][tid] = sorted(synonyms)
    data["source"]["ncit"] = mondo_source(
        "NCI Thesaurus (diseases, disorders and findings)", repo, commit, NCIT_FILE
    )
    return len(kept)


MAPPINGS = "src/ontology/mappings/mondo_exactmatch_{}.sssom.tsv"


def add_mappings(data: dict, repo: str, commit: str) -> tuple[int, int]:
    """Join the DO's and NCIt's terms through MONDO's curated exact matches (CC BY 4.0) and name
    them with MONDO's and Orphanet's labels.

    ``mondo_exactmatch_{doid,ncit,orphanet}.sssom.tsv`` say which DO, NCIt and Orphanet concepts
    a MONDO disease is exactly. A DO and an NCIt term that match one MONDO disease get each other's
    names as exact synonyms (so "Hepatocellular adenoma" and NCIt's "Hepatic adenoma" are one
    diagnosis, not two distinct terms); the MONDO label and the Orphanet label become related
    synonyms of the DO term (or of the NCIt term when no DO term matches): MONDO's "osteochondritis
    of tarsal/metatarsal bone" for the DO's "Kohler's disease". Returns (terms joined, names added).
    """
    from drafting.diagnoses.text import key

    def rows(source: str) -> list[dict[str, str]]:
        text = git(repo, "show", f"{commit}:{MAPPINGS.format(source)}")
        lines = [line for line in text.splitlines() if not line.startswith("#")]
        return [r for r in csv.DictReader(lines, delimiter="\t") if r["predicate_id"] == "skos:exactMatch"]

    label: dict[str, str] = {}
    matches: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for source in ("doid", "ncit", "orphanet"):
        for r in rows(source):
            label[r["subject_id"]] = r["subject_label"]
            # Orphanet concepts are kept by name (they are no terms of the index), others by id
            value = r["object_label"] if source == "orphanet" else r["object_id"]
            matches[r["subject_id"]][source].add(value)

    def names(tid: str) -> list[str]:
        own = data["terms"][tid][0]
        return ([] if "(NCIt " in own else [own]) + list(data["exact"].get(tid, []))

    exact = defaultdict(set, {t: set(v) for t, v in data["exact"].items()})
    related = defaultdict(set, {t: set(v) for t, v in data["related"].items()})
    owners: dict[str, set[str]] = defaultdict(set)
    for tid in data["terms"]:
        for n in names(tid):
            owners[key(n)].add(tid)
    known = set(owners)

    def lend(src: str, dst: str) -> list[str]:
        # a name another term also bears stays with it: the DO lists "neurofibromatosis type 1"
        # as a synonym of neurofibromatosis, and NCIt's neurofibromatosis must not inherit it
        return [x for x in names(src) if not owners[key(x)] - {src, dst}]

    joined = added = 0
    for mondo, found in matches.items():
        doids = [t for t in found["doid"] if t in data["terms"]]
        ncits = [t for t in found["ncit"] if t in data["terms"]]
        if len(doids) > 1 or len(ncits) > 1:
            continue  # one MONDO disease, several terms of one source: not a one-to-one match
        if doids and ncits:
            (d,), (n,) = doids, ncits
            exact[d].update(x for x in lend(n, d) if key(x) != key(names(d)[0]))
            if "(NCIt " not in data["terms"][n][0]:
                exact[n].update(lend(d, n))
            joined += 1
        target = (doids or ncits or [None])[0]
        if target is None:
            continue
        for extra in (label.get(mondo, ""), *found["orphanet"]):
            if extra.strip() and key(extra) not in known:
                related[target].add(extra.strip())
                known.add(key(extra))
                added += 1
    data["exact"] = {t: sorted(v) for t, v in sorted(exact.items()) if v}
    data["related"] = {t: sorted(v) for t, v in sorted(related.items()) if v}
    data["source"]["mondo_mappings"] = mondo_source(
        "Mondo Disease Ontology exact matches (to DO, NCIt, Orphanet)", repo, commit,
        MAPPINGS.format("{doid,ncit,orphanet}"),
    )  # fmt: skip
    return joined, added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", help="the DO repository's git directory")
    parser.add_argument("commit", nargs="?", default="HEAD")
    parser.add_argument("--legacy-commit", default=LEGACY_COMMIT)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--mondo", help="the MONDO repository's git directory (related synonyms)")
    parser.add_argument("--mondo-commit", default="HEAD")
    parser.add_argument("--ncit", action="store_true", help="add NCIt's diseases (from the MONDO repository)")
    parser.add_argument(
        "--mappings", action="store_true", help="join DO and NCIt terms through MONDO's exact matches"
    )
    args = parser.parse_args(argv)
    data = build(args.repo, args.commit, args.legacy_commit)
    if args.mondo:
        print(f"{add_mondo(data, args.mondo, args.mondo_commit)} related synonyms from MONDO")
    if args.ncit:
        print(f"{add_ncit(data, args.mondo, args.mondo_commit)} NCIt terms (from the MONDO repository)")
    if args.mappings:
        joined, added = add_mappings(data, args.mondo, args.mondo_commit)
        print(f"{joined} DO-NCIt pairs joined, {added} MONDO and Orphanet names (MONDO exact matches)")
    # the normalised indexes too, so the package loads them instead of normalising 30,000 names
    from drafting.diagnoses import terminology

    data["index"] = terminology.index_of(terminology.build(data))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    # no file name and mtime 0 in the gzip header: the same input gives the same bytes
    with args.out.open("wb") as out, gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as fh:
        fh.write(raw)
    print(
        f"{len(data['terms'])} terms, {sum(map(len, data['exact'].values()))} exact and "
        f"{sum(map(len, data['related'].values()))} related synonyms -> {args.out} "
        f"({args.out.stat().st_size // 1024} KiB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
