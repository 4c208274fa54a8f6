"""Build drafting/diagnoses/data/disease_terms.json.gz from a clone of the Human Disease Ontology.

Usage::

    python scripts/build_disease_terms.py /path/to/HumanDiseaseOntology/.git [COMMIT]

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

The output keeps the raw strings, ``{"source": ..., "terms": {id: [label, [parents]]}, "exact":
{id: [synonym, ...]}, "related": {id: [synonym, ...]}}``, plus ``"index"``: the normalised lookup
tables, stamped with a fingerprint of the normalising code. When that code changes the package
notices and indexes the raw strings itself (a few seconds per process): rerun this script
(with the project importable, e.g. ``.venv/bin/python scripts/build_disease_terms.py ...``).
"""

from __future__ import annotations

import argparse
import csv
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", help="the DO repository's git directory")
    parser.add_argument("commit", nargs="?", default="HEAD")
    parser.add_argument("--legacy-commit", default=LEGACY_COMMIT)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    data = build(args.repo, args.commit, args.legacy_commit)
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
