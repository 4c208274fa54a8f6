"""Retrieval benchmark: index build, cached load, top-5 query latency and memory.

Two corpora: the MedPix 2.0 train split (imported from ``<repo>/../shared/datasets``; skipped when
absent) and a synthetic corpus of 100,000 cases made by repeating MedPix cases with perturbed text
(words dropped and shuffled within sentences). Embedding 100,000 texts with MiniLM on 2 cores would
take most of an hour, so the synthetic corpus's embeddings are the real cases' MiniLM embeddings
plus small Gaussian noise, renormalised: the dense search cost is the same, the vectors are not
real embeddings of the perturbed text. Query latency excludes embedding the query (a precomputed
vector is passed), as the targets specify.

Run: ``python -m benchmarks.retrieval [--quick]`` or ``python -m benchmarks``.
"""

from __future__ import annotations

import logging
import random
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import Figure, Timer, max_rss_mib, module_main, percentile

REPO = Path(__file__).resolve().parents[1]
MEDPIX_TRAIN = REPO.parent / "shared" / "datasets" / "medpix-2.0" / "cases_train.jsonl"
SYNTHETIC_N = 100_000
QUICK_SYNTHETIC_N = 10_000
NOISE = 0.02  # per-dimension standard deviation added to a real 384-d unit vector


def _perturb(text: str, rng: random.Random) -> str:
    """Drop ~15% of words and swap a few neighbours, sentence by sentence."""
    out = []
    for sentence in text.split(". "):
        words = [w for w in sentence.split() if rng.random() > 0.15]
        for _ in range(len(words) // 8):
            i = rng.randrange(len(words) - 1) if len(words) > 1 else 0
            if len(words) > 1:
                words[i], words[i + 1] = words[i + 1], words[i]
        out.append(" ".join(words))
    return ". ".join(out)


def synthetic_cases(base: list, n: int, seed: int = 0) -> tuple[list, np.ndarray]:
    """``n`` cases cycling over ``base`` with perturbed input text, and each one's source index."""
    from drafting.schema import Case, CaseInput, ImagingStudy

    rng = random.Random(seed)
    cases, source = [], np.empty(n, dtype=np.int64)
    for j in range(n):
        i = j % len(base)
        b = base[i]
        studies = [ImagingStudy.model_construct(modality=s.modality, region=s.region,
                                                description=_perturb(s.description, rng))
                   for s in b.input.imaging]
        inp = CaseInput.model_construct(
            age=b.input.age, sex=b.input.sex, labs="",
            clinical_history=_perturb(b.input.clinical_history, rng), imaging=studies,
        )
        # model_construct skips validation: 100,000 cases of known-good data.
        cases.append(Case.model_construct(id=f"syn{j:06d}", title=b.title, source="synthetic",
                                          license="", topic=b.topic, input=inp, gold=b.gold))
        source[j] = i
    return cases, source


def _noisy(base_vectors: np.ndarray, source: np.ndarray, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = base_vectors[source] + rng.normal(0, NOISE, (len(source), base_vectors.shape[1])).astype(
        np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v.astype(np.float32)


def _bench_corpus(label: str, store, cache: Path, *, embed_fn, model_name: str | None,
                  n_queries: int, targets: dict[str, float],
                  note: str = "") -> tuple[list[Figure], object]:
    """Build, reload from cache, then time top-5 queries with the corpus's own cases.

    A query's vector is its own row of the index's embedding matrix (same text, same vector):
    the timing excludes embedding, and the query itself is excluded from its hits by id.
    """
    from drafting.retrieval import Retriever

    figures: list[Figure] = []
    n = len(store)
    with Timer() as build:
        r = Retriever.from_store(store, mode="auto", cache_dir=cache, embed_fn=embed_fn,
                                 model_name=model_name)
    assert not r.from_cache
    figures.append(Figure(f"retrieval/{label}/index_build", build.seconds, "s",
                          note=f"mode {r.mode}; {note}".strip("; ")))
    with Timer() as load:
        r = Retriever.from_store(store, mode="auto", cache_dir=cache, embed_fn=embed_fn,
                                 model_name=model_name)
    assert r.from_cache, "second build did not load from the cache"
    figures.append(Figure(f"retrieval/{label}/cached_load", load.seconds, "s",
                          targets.get("cached_load"), "includes hashing the corpus for the key"))
    query_vectors = r.index.embeddings
    rng = np.random.default_rng(2)
    picks = rng.choice(n, size=min(n_queries, n), replace=False)
    times = []
    import time
    for p in picks:
        case = store.cases[int(p)]
        vec = query_vectors[int(p)] if query_vectors is not None else None
        start = time.perf_counter()
        hits = r.search(case, k=5, query_vector=vec)
        times.append(time.perf_counter() - start)
        assert hits and hits[0].case_id != case.id
    times = times[3:]  # first calls warm caches
    figures.append(Figure(f"retrieval/{label}/query_p50", percentile(times, 50) * 1e3, "ms",
                          targets.get("p50"), f"top-5 {r.mode}, query embedding excluded"))
    figures.append(Figure(f"retrieval/{label}/query_p95", percentile(times, 95) * 1e3, "ms",
                          note=f"{len(times)} queries"))
    figures.append(Figure(f"retrieval/{label}/peak_rss", max_rss_mib(), "MiB",
                          note="process high-water mark so far (includes the embedding model)"))
    return figures, r


_FRESH_LOAD = """
import sys, time
from drafting.cases import ReferenceStore
from drafting.importers import import_cases
store = ReferenceStore(import_cases("medpix", sys.argv[1])[0])
start = time.perf_counter()
from drafting.retrieval import Retriever
r = Retriever.from_store(store, mode="auto", cache_dir=sys.argv[2])
print(time.perf_counter() - start, r.from_cache)
"""


def fresh_process_load(cache: Path) -> tuple[float, bool]:
    """Seconds a new Python process takes to get a retriever from the cache (imports included)."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", _FRESH_LOAD, str(MEDPIX_TRAIN), str(cache)],
                         capture_output=True, text=True, check=True, cwd=REPO)
    seconds, from_cache = out.stdout.split()
    return float(seconds), from_cache == "True"


def run(quick: bool = False) -> list[Figure]:
    """Run the benchmark and return its figures (MedPix figures only when the data is present)."""
    from drafting import embeddings
    from drafting.cases import ReferenceStore
    from drafting.importers import import_cases

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    if not MEDPIX_TRAIN.is_file():
        print(f"skipped: MedPix train split not found at {MEDPIX_TRAIN}", file=sys.stderr)
        return []
    base, _errors = import_cases("medpix", MEDPIX_TRAIN)
    store = ReferenceStore(base)
    figures: list[Figure] = []
    tmp = Path(tempfile.mkdtemp(prefix="drafting-bench-retrieval-"))
    try:
        dense = embeddings.available()
        figs, r = _bench_corpus(
            f"medpix-{len(store)}", store, tmp / "medpix", embed_fn=None, model_name=None,
            n_queries=len(store) if not quick else 100,
            targets={"p50": 10.0, "cached_load": 2.0},
            note="build includes MiniLM embedding" if dense else "",
        )
        figures += figs
        seconds, from_cache = fresh_process_load(tmp / "medpix")
        figures.append(Figure(f"retrieval/medpix-{len(store)}/cached_load_new_process", seconds,
                              "s", 2.0, "a second process: bm25s import + cache load"
                              + ("" if from_cache else "; NOT FROM CACHE")))
        base_vectors = r.index.embeddings
        n_syn = QUICK_SYNTHETIC_N if quick else SYNTHETIC_N
        with Timer() as make:
            syn_cases, source = synthetic_cases(base, n_syn)
        syn_store = ReferenceStore(syn_cases)
        vectors = _noisy(base_vectors, source) if dense and base_vectors is not None else None
        note = ("synthetic: perturbed MedPix text; embeddings = real MiniLM vectors + noise "
                f"(sd {NOISE}), renormalised" if vectors is not None else "synthetic, BM25 only")
        figures.append(Figure(f"retrieval/synthetic-{n_syn}/make_corpus", make.seconds, "s"))
        figs, _ = _bench_corpus(
            f"synthetic-{n_syn}", syn_store, tmp / "synthetic",
            embed_fn=(lambda t: vectors) if vectors is not None else None,
            model_name="bench-noisy-minilm" if vectors is not None else None,
            n_queries=300 if not quick else 100,
            targets={"p50": 50.0}, note=note,
        )
        figures += figs
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: print the figures."""
    return module_main(run, "python -m benchmarks.retrieval", "10,000 synthetic cases", argv)


if __name__ == "__main__":
    sys.exit(main())
