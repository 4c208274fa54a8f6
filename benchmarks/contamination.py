"""Contamination guard: where its threshold sits, whether LSH finds what exact Jaccard finds, and
what a query costs on a large corpus.

Exact Jaccard similarity of input five-gram shingles over every pair of:

- MedPix dev x train (67 x 532): the one known duplicate (MPX2046 / MPX2531) against the nearest
  non-duplicate of every dev case;
- MedPix train x train (every pair): no duplicate is known there, so its maximum is the
  nearest non-duplicate pair;
- the two seeds (two patients with the same disease) and the seeds against MedPix train.

Then the LSH guard (`drafting.evaluation.contamination`) must report exactly the exact pairs at or
above the threshold, and a synthetic corpus (MedPix train repeated with words dropped, 100,000
cases; 10,000 with --quick) gives the build time and per-query time at scale.

Run: ``python -m benchmarks.contamination [--quick]`` (prints the distribution, then figures).
"""

from __future__ import annotations

import random
import statistics
import sys
from pathlib import Path

from benchmarks.common import Figure, Timer, module_main, percentile

REPO = Path(__file__).resolve().parents[1]
MEDPIX = REPO.parent / "shared" / "datasets" / "medpix-2.0"
KNOWN_DUPLICATES = {("MPX2046", "MPX2531")}


def _exact_best(queries, corpus, same_split: bool):  # type: ignore[no-untyped-def]
    from drafting.evaluation.contamination import case_shingles, jaccard

    shingled = [(c.id, case_shingles(c)) for c in corpus]
    best = []
    for q in queries:
        qs = case_shingles(q)
        scores = sorted(((jaccard(qs, s), cid) for cid, s in shingled if cid != q.id), reverse=True)
        if scores:
            best.append((q.id, scores[0][1], scores[0][0], scores))
    return best


def _perturb(text: str, rng: random.Random) -> str:
    return " ".join(w for w in text.split() if rng.random() > 0.2)


def run(quick: bool = False) -> list[Figure]:
    """Measure the guard; empty when the MedPix data is absent."""
    from drafting.cases import load_cases
    from drafting.evaluation.contamination import DEFAULT_THRESHOLD, find_near_duplicates
    from drafting.importers import import_cases

    if not (MEDPIX / "cases_dev.jsonl").is_file():
        print(f"MedPix data not found at {MEDPIX}; skipped", file=sys.stderr)
        return []
    dev, _ = import_cases("medpix", MEDPIX / "cases_dev.jsonl")
    train, _ = import_cases("medpix", MEDPIX / "cases_train.jsonl")
    seeds = load_cases([REPO / "reference_cases" / "seeds"]).cases
    figures: list[Figure] = []

    dev_best = _exact_best(dev, train, same_split=False)
    dup = [s for q, r, s, _ in dev_best if (q, r) in KNOWN_DUPLICATES]
    nondup = []
    for q, _r, _s, scores in dev_best:
        nondup += [s for s, cid in scores[:1] if (q, cid) not in KNOWN_DUPLICATES]
        if (q, scores[0][1]) in KNOWN_DUPLICATES and len(scores) > 1:
            nondup.append(scores[1][0])
    print(f"dev x train: duplicate pair(s) {sorted(KNOWN_DUPLICATES)} similarity {dup}")
    top = sorted(((s, q, r) for q, r, s, _ in dev_best), reverse=True)[:6]
    print("dev x train, nearest corpus case per dev case, top 6: "
          + ", ".join(f"{q}/{r} {s:.3f}" for s, q, r in top))
    print(f"dev x train nearest non-duplicates: median {statistics.median(nondup):.3f}, "
          f"p95 {percentile(nondup, 95):.3f}, max {max(nondup):.3f}")
    figures += [
        Figure("contamination/dev_train/duplicate_similarity", min(dup) if dup else 0.0, "jaccard",
               note="MPX2046 / MPX2531; must be >= the threshold"),
        Figure("contamination/dev_train/nearest_nonduplicate_max", max(nondup), "jaccard",
               target=DEFAULT_THRESHOLD, note="must stay below the threshold"),
    ]
    pool = train if not quick else train[:200]
    train_best = _exact_best(pool, train, same_split=True)
    tt = max(s for _q, _r, s, _ in train_best)
    print(f"train x train ({len(pool)} queries): max {tt:.3f}, median of nearest "
          f"{statistics.median(s for _q, _r, s, _ in train_best):.3f}")
    figures.append(Figure("contamination/train_train/nearest_max", tt, "jaccard",
                          target=DEFAULT_THRESHOLD, note="no known duplicate within train"))
    seed_best = _exact_best(seeds, [*seeds, *train], same_split=True)
    for q, r, s, _ in seed_best:
        print(f"seed {q}: nearest {r} {s:.3f}")
    figures.append(Figure("contamination/seeds/nearest_max", max(s for *_, s, _x in seed_best),
                          "jaccard", target=DEFAULT_THRESHOLD))

    with Timer() as t:
        found = find_near_duplicates(dev, train, method="minhash")
    exact = {(q, r) for q, r, s, _ in dev_best if s >= DEFAULT_THRESHOLD}
    lsh = {(p.case_id, p.reference_id) for p in found}
    print(f"LSH guard on dev x train: {sorted(lsh)}; exact pairs >= threshold: {sorted(exact)}")
    figures += [
        Figure("contamination/dev_train/lsh_missed", len(exact - lsh), "pairs", target=0.5),
        Figure("contamination/dev_train/lsh_extra", len(lsh - exact), "pairs", target=0.5),
        Figure("contamination/dev_train/guard_seconds", t.seconds, "s"),
    ]

    n = 10_000 if quick else 100_000
    rng = random.Random(0)
    big = []
    for i in range(n):
        src = train[i % len(train)]
        inp = src.input.model_copy(update={
            "clinical_history": _perturb(src.input.clinical_history, rng) or "text",
            "imaging": [],
        })
        big.append(src.model_copy(update={"id": f"SYN{i:06d}", "input": inp}))
    from drafting.evaluation.contamination import ContaminationIndex

    with Timer() as build:
        index = ContaminationIndex(big, method="minhash")
    times = []
    for case in dev:
        with Timer() as q:
            index.near_duplicates(case)
        times.append(q.seconds * 1000)
    figures += [
        Figure(f"contamination/synthetic-{n}/index_build", build.seconds, "s"),
        Figure(f"contamination/synthetic-{n}/query_p50", percentile(times, 50), "ms"),
        Figure(f"contamination/synthetic-{n}/query_p95", percentile(times, 95), "ms"),
    ]
    return figures


if __name__ == "__main__":
    sys.exit(module_main(run, "python -m benchmarks.contamination",
                         "train x train on 200 queries, a 10,000-case synthetic corpus"))
