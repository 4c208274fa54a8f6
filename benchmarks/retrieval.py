"""Retrieval benchmark: the built-in index against the LanceDB engine, side by side.

MedPix 2.0 train split (imported from ``<repo>/../shared/datasets``; skipped when absent): the
built-in index's build, cached load (same and new process) and top-5 query latency.

Synthetic corpora of 100,000 and 1,000,000 cases (sizes: ``--quick`` 10,000; or
``DRAFTING_BENCH_RETRIEVAL_SIZES=100000,300000``): each backend in its own process
(`benchmarks.retrieval_scale` says how the corpus and the queries are made: perturbed MedPix text,
real MiniLM vectors plus noise), reporting index build time, query p50 / p95 and the peak RSS of
the process that drafts. Targets for the engine at 1M: p50 < 50 ms, RSS < 1 GiB. The built-in
runs under a hard address-space cap (``DRAFTING_BENCH_BUILTIN_CAP_GIB``, default 8): at 1M it needs
about 18 GiB, so it is reported as exceeding the cap, with its memory also measured at 100,000
and 300,000 and extrapolated (labelled as such).

This replaces the earlier synthetic figure (built-in only, 100,000 cases, p50 < 50 ms), which could
not show whether retrieval scales past one machine's memory.

Run: ``python -m benchmarks.retrieval [--quick]`` or ``python -m benchmarks``.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import Figure, Timer, max_rss_mib, module_main, percentile

REPO = Path(__file__).resolve().parents[1]
MEDPIX_TRAIN = REPO.parent / "shared" / "datasets" / "medpix-2.0" / "cases_train.jsonl"
#: Synthetic corpus sizes of a full run; ``--quick`` uses `QUICK_SYNTHETIC_N` only.
SYNTHETIC_SIZES = (100_000, 1_000_000)
QUICK_SYNTHETIC_N = 10_000
#: Comma-separated sizes overriding the above, e.g. ``DRAFTING_BENCH_RETRIEVAL_SIZES=100000``.
SIZES_ENV = "DRAFTING_BENCH_RETRIEVAL_SIZES"
#: The built-in index runs under this address-space cap (GiB); override with the variable below.
BUILTIN_CAP_GIB = 8.0
CAP_ENV = "DRAFTING_BENCH_BUILTIN_CAP_GIB"
#: Sizes the built-in's memory is measured at when a larger size has to be extrapolated.
EXTRAPOLATE_FROM = (100_000, 300_000)


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


def _scale_sizes(quick: bool) -> list[int]:
    raw = os.environ.get(SIZES_ENV, "")
    if raw.strip():
        return sorted({int(float(p)) for p in raw.split(",") if p.strip()})
    return [QUICK_SYNTHETIC_N] if quick else list(SYNTHETIC_SIZES)


def _child(phase: str, n: int, vectors: Path, *, db: Path | None = None, queries: int,
           cap_gib: float = 0.0) -> dict:
    """Run one `benchmarks.retrieval_scale` phase in a new process; its JSON result."""
    import json
    import subprocess

    cmd = [sys.executable, "-m", "benchmarks.retrieval_scale", "--phase", phase, "--n", str(n),
           "--medpix", str(MEDPIX_TRAIN), "--vectors", str(vectors), "--queries", str(queries)]
    if db is not None:
        cmd += ["--db", str(db)]
    if cap_gib:
        cmd += ["--cap-gib", str(cap_gib)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if lines:
        return json.loads(lines[-1])
    # A process killed for memory (or any crash) before it could print: say so, do not guess.
    tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1][:200]
    return {"phase": phase, "n": n, "error": f"exit {proc.returncode}: {tail}", "cap_gib": cap_gib}


def _scale_figures(sizes: list[int], vectors: Path, tmp: Path, queries: int) -> list[Figure]:
    """Built-in vs LanceDB at each size, each in its own process (see `benchmarks.retrieval_scale`)."""
    cap = float(os.environ.get(CAP_ENV, BUILTIN_CAP_GIB))
    figures: list[Figure] = []
    for n in sizes:
        db = tmp / f"lancedb-{n}"
        built = _child("lancedb-build", n, vectors, db=db, queries=queries)
        label = f"retrieval/synthetic-{n}/lancedb"
        if "error" in built:
            figures.append(Figure(f"{label}/index_build", float("nan"), "s",
                                  note=f"FAILED: {built['error']}"))
            continue
        got = _child("lancedb-query", n, vectors, db=db, queries=queries)
        at_scale = n >= 1_000_000
        figures += [
            Figure(f"{label}/index_build", built["build_s"], "s",
                   note=f"streamed in batches, BM25 + IVF-RaBitQ indexes; {built['disk_mib']:.0f} MiB "
                        f"on disk; indexer peak RSS {built['peak_rss_mib']:.0f} MiB"),
        ]
        if "error" in got:
            figures.append(Figure(f"{label}/query_p50", float("nan"), "ms",
                                  note=f"FAILED: {got['error']}"))
            continue
        figures += [
            Figure(f"{label}/query_p50", got["p50_ms"], "ms", 50.0 if at_scale else None,
                   "top-5 hybrid (BM25 + IVF-RaBitQ, fused), query embedding excluded; embedded engine"),
            Figure(f"{label}/query_p95", got["p95_ms"], "ms", note=f"{got['queries']} queries"),
            Figure(f"{label}/peak_rss", got["peak_rss_mib"], "MiB", 1024.0 if at_scale else None,
                   "the drafting process: engine opened on disk, MiniLM loaded, cases resolved "
                   "lazily"),
        ]
        shutil.rmtree(db, ignore_errors=True)
    builtin_rss: dict[int, float] = {}
    builtin_sizes = sorted(set(sizes) | ({EXTRAPOLATE_FROM[1]} if max(sizes) > EXTRAPOLATE_FROM[1]
                                         else set()))
    for n in builtin_sizes:
        got = _child("builtin", n, vectors, queries=queries, cap_gib=cap)
        label = f"retrieval/synthetic-{n}/builtin"
        if "error" in got:
            figures.append(Figure(f"{label}/peak_rss", cap * 1024, "MiB",
                                  note=f"EXCEEDS the {cap:g} GiB address-space cap ({got['error']}): "
                                       "a lower bound, not a measurement"))
            continue
        builtin_rss[n] = got["peak_rss_mib"]
        figures += [
            Figure(f"{label}/index_build", got["build_s"], "s",
                   note=f"bm25s + in-memory vectors; corpus made in {got['make_corpus_s']:.0f} s"),
            Figure(f"{label}/query_p50", got["p50_ms"], "ms", 50.0 if n <= 100_000 else None,
                   "top-5 hybrid, query embedding excluded"),
            Figure(f"{label}/query_p95", got["p95_ms"], "ms", note=f"{got['queries']} queries"),
            Figure(f"{label}/peak_rss", got["peak_rss_mib"], "MiB",
                   note="the drafting process: corpus, index and MiniLM in memory"),
        ]
    lo, hi = EXTRAPOLATE_FROM
    big = max(sizes)
    if big > hi and lo in builtin_rss and hi in builtin_rss:
        slope = (builtin_rss[hi] - builtin_rss[lo]) / (hi - lo)
        guess = builtin_rss[hi] + slope * (big - hi)
        figures.append(Figure(f"retrieval/synthetic-{big}/builtin/peak_rss_extrapolated",
                              guess, "MiB", note=f"EXTRAPOLATED linearly from the {lo:,} and "
                              f"{hi:,} measurements, not measured"))
    return figures


def run(quick: bool = False) -> list[Figure]:
    """Run the benchmark and return its figures (nothing when the MedPix data is absent)."""
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
        if r.index.embeddings is None:
            print("skipped scale figures: they need the embeddings extra", file=sys.stderr)
            return figures
        vectors = tmp / "base-vectors.npy"
        np.save(vectors, r.index.embeddings)
        figures += _scale_figures(_scale_sizes(quick), vectors, tmp, 50 if quick else 200)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: print the figures."""
    return module_main(run, "python -m benchmarks.retrieval", "10,000 synthetic cases", argv)


if __name__ == "__main__":
    sys.exit(main())
