"""One retrieval backend at one synthetic corpus size, in its own process (run by
`benchmarks.retrieval`; not a benchmark module of its own).

The corpus: ``n`` cases cycling over the MedPix train split with perturbed text (words dropped and
swapped, seeded per case, so case ``j`` can be rebuilt on demand) and vectors that are the base
case's real MiniLM vector plus Gaussian noise, renormalised (embedding millions of texts on 2 cores
would take days; the search cost is the same). Queries are fresh perturbations of random base cases
(not in the corpus) with their own noisy vectors: query embedding is excluded from the timing, but
the MiniLM model is loaded in the query process, as it is in a drafting process, so the peak RSS
is that of a process that drafts.

Phases (``--phase``):

- ``builtin``: build the in-process index over all ``n`` cases, then time queries. Run under a
  hard address-space cap (``--cap-gib``, `resource.RLIMIT_AS`) so a corpus that does not fit
  fails alone (exit 3) instead of pressing the machine's other processes.
- ``lancedb-build``: stream the corpus into an embedded LanceDB table in batches, build its
  BM25 and IVF-RaBitQ indexes.
- ``lancedb-query``: a new process (the drafting process) opens that table and times queries;
  hits resolve to cases in a lazy store that rebuilds case ``j`` on demand. Opening starts the
  retriever's sampling of term frequencies (for trimming long full-text queries) in the
  background, about a second at 1M rows; the untimed first queries wait for it.

Each phase prints one JSON object on its last stdout line.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

NOISE = 0.02
BATCH = 20_000
MODEL = "bench-noisy-minilm"
EXIT_OVER_CAP = 3


def perturb(text: str, rng: random.Random) -> str:
    """Drop ~15% of words and swap a few neighbours, sentence by sentence."""
    out = []
    for sentence in text.split(". "):
        words = [w for w in sentence.split() if rng.random() > 0.15]
        for _ in range(len(words) // 8):
            if len(words) > 1:
                i = rng.randrange(len(words) - 1)
                words[i], words[i + 1] = words[i + 1], words[i]
        out.append(" ".join(words))
    return ". ".join(out)


def synthetic_case(base: list, j: int, *, prefix: str = "syn", seed: int = 0):  # noqa: ANN201
    """Case ``j`` of the synthetic corpus: base case ``j % len(base)``, text perturbed with a
    generator seeded by ``j`` (so any case can be rebuilt alone)."""
    from drafting.schema import Case, CaseInput, ImagingStudy

    rng = random.Random(seed * 1_000_003 + j)
    b = base[j % len(base)]
    studies = [ImagingStudy.model_construct(modality=s.modality, region=s.region,
                                            description=perturb(s.description, rng))
               for s in b.input.imaging]
    inp = CaseInput.model_construct(age=b.input.age, sex=b.input.sex, labs="",
                                    clinical_history=perturb(b.input.clinical_history, rng),
                                    imaging=studies)
    return Case.model_construct(id=f"{prefix}{j:07d}", title=b.title, source="synthetic",
                                license="", topic=b.topic, input=inp, gold=b.gold)


def noisy(base_vectors: np.ndarray, sources: np.ndarray, seed: int) -> np.ndarray:
    """Base vectors plus Gaussian noise (sd `NOISE`), renormalised."""
    rng = np.random.default_rng(seed)
    v = base_vectors[sources] + rng.normal(0, NOISE, (len(sources), base_vectors.shape[1]))
    v = v.astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


class SyntheticStore:
    """The case store of the synthetic corpus: rebuilds case ``synNNNNNNN`` on demand (what a
    directory of case files does for a real corpus: nothing is held in memory)."""

    def __init__(self, base: list, n: int):
        self.base, self.n = base, n

    def _index(self, case_id: object) -> int | None:
        if not isinstance(case_id, str) or not case_id.startswith("syn"):
            return None
        try:
            j = int(case_id[3:])
        except ValueError:
            return None
        return j if 0 <= j < self.n else None

    def __contains__(self, case_id: object) -> bool:
        return self._index(case_id) is not None

    def get(self, case_id: str):  # noqa: ANN201
        j = self._index(case_id)
        if j is None:
            raise KeyError(case_id)
        return synthetic_case(self.base, j)


def batches(base: list, base_vectors: np.ndarray, n: int) -> Iterator[tuple[list, np.ndarray]]:
    """The corpus in batches of `BATCH` cases with their vectors."""
    for lo in range(0, n, BATCH):
        hi = min(n, lo + BATCH)
        cases = [synthetic_case(base, j) for j in range(lo, hi)]
        yield cases, noisy(base_vectors, np.arange(lo, hi) % len(base), seed=lo)


def queries(base: list, base_vectors: np.ndarray, count: int) -> list[tuple[object, np.ndarray]]:
    """Fresh query cases (ids outside the corpus) and their vectors."""
    picks = np.random.default_rng(7).integers(0, len(base), count)
    cases = [synthetic_case(base, int(i), prefix="query", seed=1) for i in picks]
    return list(zip(cases, noisy(base_vectors, picks, seed=99), strict=True))


def time_queries(retriever, qs: list) -> list[float]:  # noqa: ANN001
    out = []
    for case, vec in qs:
        start = time.perf_counter()
        hits = retriever.search(case, k=5, query_vector=vec)
        out.append(time.perf_counter() - start)
        assert hits, "a query found nothing"
    return out[5:]  # the first calls warm caches


def load_model() -> None:
    """Load MiniLM and embed one query, as a drafting process does before it retrieves."""
    from drafting import embeddings

    if embeddings.available():
        embeddings.embed(["warm up the model"], cache=False)


def peak_rss_mib() -> float:
    """This process's own peak RSS.

    Not ``ru_maxrss``: Linux carries it across ``execve`` from the forked parent's memory, so a
    phase started by a benchmark parent that had already loaded MiniLM and MedPix reported the
    parent's ~1.1 GiB. ``VmHWM`` belongs to the process's own address space.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", required=True, choices=["builtin", "lancedb-build", "lancedb-query"])
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--medpix", required=True)
    parser.add_argument("--vectors", required=True, help=".npy of the base cases' MiniLM vectors")
    parser.add_argument("--db", help="lancedb directory")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--cap-gib", type=float, default=0.0)
    args = parser.parse_args(argv)
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    if args.cap_gib:
        cap = int(args.cap_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    from drafting.importers import import_cases

    base, _ = import_cases("medpix", args.medpix)
    base_vectors = np.load(args.vectors)
    out: dict[str, float | str] = {"phase": args.phase, "n": args.n}
    try:
        if args.phase == "builtin":
            out.update(_builtin(base, base_vectors, args))
        elif args.phase == "lancedb-build":
            out.update(_lance_build(base, base_vectors, args))
        else:
            out.update(_lance_query(base, base_vectors, args))
    except MemoryError:
        print(json.dumps({**out, "error": "MemoryError", "cap_gib": args.cap_gib,
                          "peak_rss_mib": peak_rss_mib()}))
        return EXIT_OVER_CAP
    out["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(out))
    return 0


def _builtin(base: list, base_vectors: np.ndarray, args: argparse.Namespace) -> dict:
    from drafting.cases import ReferenceStore
    from drafting.retrieval import Retriever

    start = time.perf_counter()
    cases, vecs = [], []
    for c, v in batches(base, base_vectors, args.n):
        cases.extend(c)
        vecs.append(v)
    vectors = np.concatenate(vecs)
    del vecs
    made = time.perf_counter() - start
    store = ReferenceStore(cases)
    start = time.perf_counter()
    r = Retriever.from_store(store, mode="hybrid", embed_fn=lambda _t: vectors, model_name=MODEL,
                             use_cache=False)
    build = time.perf_counter() - start
    load_model()
    times = time_queries(r, queries(base, base_vectors, args.queries))
    return {"make_corpus_s": made, "build_s": build, **_percentiles(times)}


def _lance_build(base: list, base_vectors: np.ndarray, args: argparse.Namespace) -> dict:
    from drafting.retrieval.lancedb_backend import bulk_load, connect

    start = time.perf_counter()
    report = bulk_load(connect(args.db), batches(base, base_vectors, args.n), model_name=MODEL)
    return {"build_s": time.perf_counter() - start, "rows": report.rows,
            "disk_mib": sum(p.stat().st_size for p in Path(args.db).rglob("*") if p.is_file())
            / 2**20}


def _lance_query(base: list, base_vectors: np.ndarray, args: argparse.Namespace) -> dict:
    from drafting.retrieval.lancedb_backend import LanceRetriever

    start = time.perf_counter()
    r = LanceRetriever.open(SyntheticStore(base, args.n), uri=args.db, mode="hybrid", sync=False,
                            embed_fn=lambda t: np.zeros((len(t), 384), np.float32),
                            model_name=MODEL)
    opened = time.perf_counter() - start
    load_model()
    times = time_queries(r, queries(base, base_vectors, args.queries))
    return {"open_s": opened, **_percentiles(times)}


def _percentiles(times: list[float]) -> dict[str, float]:
    arr = np.asarray(times) * 1e3
    return {"p50_ms": float(np.percentile(arr, 50)), "p95_ms": float(np.percentile(arr, 95)),
            "queries": len(times)}


if __name__ == "__main__":
    sys.exit(main())
