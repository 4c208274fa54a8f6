"""Contamination guard: find cases whose input is a near-duplicate of a reference-corpus case.

"Never its own reference" works by id; the same patient can sit in a corpus under another id
(MedPix dev MPX2046 and train MPX2531), and retrieving that copy hands the draft its own gold.

Similarity is the Jaccard index of the two inputs' word five-gram shingle sets (history,
examination and imaging text; never the gold). Candidates come from an inverted index of
shingles for corpora up to `EXACT_LIMIT` cases, and from MinHash LSH (`datasketch`) beyond, so a
query costs about the same against a million cases as against five hundred; every candidate is
then scored with the exact Jaccard index, so the reported similarity never depends on hashing
luck. The LSH candidate threshold sits at half the decision threshold, which keeps LSH misses of
true duplicates negligible (none on MedPix dev x train).

Threshold (`DEFAULT_THRESHOLD` = 0.2), measured with ``python -m benchmarks.contamination``
(exact Jaccard over every pair): on MedPix dev x train the one known duplicate pair
(MPX2046 / MPX2531) scores 0.435; the nearest non-duplicate pair of dev x train scores 0.058
and of train x train 0.058; the two seeds (two patients with one disease) 0.0. The threshold
sits about 3.4 times above the nearest non-duplicate and half the duplicate's similarity.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from drafting.evaluation.metrics._defects import shingles
from drafting.schema import Case

#: Jaccard similarity of input five-gram shingles at or above which two cases are near-duplicates.
DEFAULT_THRESHOLD = 0.2
#: MinHash permutations: 128 gives a Jaccard estimate with a standard error of about 0.04.
NUM_PERM = 128


@dataclass(frozen=True)
class NearDuplicate:
    """A case whose input nearly repeats a reference case's input.

    Attributes:
        case_id: The case (to be drafted).
        reference_id: The corpus case it nearly repeats.
        similarity: Jaccard index of the two inputs' word five-gram shingles, in [0, 1].
    """

    case_id: str
    reference_id: str
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        """As plain JSON data."""
        return asdict(self)


def case_shingles(case: Case) -> set[str]:
    """The word five-gram shingles of a case's input (history, examination, imaging)."""
    from drafting.retrieval.text import input_text

    return shingles(input_text(case.input))


def jaccard(a: set[str], b: set[str]) -> float:
    """|a & b| / |a | b| (0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


#: Corpora up to this size are searched exactly through an inverted index of shingles (no
#: hashing, and no import of datasketch/scipy, ~0.4 s of CPU); larger ones through MinHash LSH,
#: whose memory and query cost stay flat where postings lists would not.
EXACT_LIMIT = 50_000


class ContaminationIndex:
    """Near-duplicate search over a reference corpus's inputs.

    Candidates come from an inverted index of shingles (``method="exact"``, every case sharing a
    shingle) or from MinHash LSH (``"minhash"``, at half the threshold); either way each candidate
    is scored with the exact Jaccard index, so both methods report the same similarities.

    Args:
        corpus: The reference cases.
        threshold: The Jaccard similarity that makes a near-duplicate.
        method: "exact", "minhash", or "auto" (exact up to `EXACT_LIMIT` cases).
    """

    def __init__(
        self, corpus: Iterable[Case], *, threshold: float = DEFAULT_THRESHOLD, method: str = "auto"
    ):
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if method not in ("auto", "exact", "minhash"):
            raise ValueError(f"unknown method {method!r} (auto, exact, minhash)")
        self.threshold = threshold
        self._cases = {c.id: c for c in corpus}
        if method == "auto":
            method = "exact" if len(self._cases) <= EXACT_LIMIT else "minhash"
        self.method = method
        ids = list(self._cases)
        sets = [case_shingles(self._cases[i]) for i in ids]
        self._postings: dict[str, list[str]] = {}
        self._sizes = {case_id: len(grams) for case_id, grams in zip(ids, sets, strict=True)}
        self._lsh: Any = None
        if method == "exact":
            for case_id, grams in zip(ids, sets, strict=True):
                for g in grams:
                    self._postings.setdefault(g, []).append(case_id)
            return
        from datasketch import MinHashLSH

        self._lsh = MinHashLSH(threshold=max(threshold / 2, 0.05), num_perm=NUM_PERM)
        with self._lsh.insertion_session() as session:
            for case_id, mh in zip(ids, _minhashes(sets), strict=True):
                session.insert(case_id, mh)

    def __len__(self) -> int:
        return len(self._cases)

    def _similarities(self, own: set[str]) -> dict[str, float]:
        """Exact Jaccard similarity of ``own`` with every candidate."""
        if self._lsh is not None:
            (mh,) = _minhashes([own])
            return {ref_id: jaccard(own, case_shingles(self._cases[ref_id]))
                    for ref_id in self._lsh.query(mh)}
        # Shared-shingle counts from the postings give the intersections, hence exact Jaccard.
        shared = Counter(case_id for g in own for case_id in self._postings.get(g, ()))
        return {ref_id: n / (len(own) + self._sizes[ref_id] - n) for ref_id, n in shared.items()}

    def near_duplicates(self, case: Case) -> list[NearDuplicate]:
        """Corpus cases (other ids) whose input is a near-duplicate of ``case``'s, most similar first."""
        own = case_shingles(case)
        if not own:
            return []
        found = []
        for ref_id, sim in self._similarities(own).items():
            if ref_id == case.id:
                continue
            if sim >= self.threshold:
                found.append(NearDuplicate(case.id, ref_id, round(sim, 4)))
        return sorted(found, key=lambda d: (-d.similarity, d.reference_id))


def _minhashes(sets: Sequence[set[str]]) -> list[Any]:
    from datasketch import MinHash

    return list(MinHash.bulk([[s.encode("utf-8") for s in grams] for grams in sets],
                             num_perm=NUM_PERM))


def find_near_duplicates(
    cases: Iterable[Case],
    corpus: Iterable[Case],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    method: str = "auto",
) -> list[NearDuplicate]:
    """Every (case, corpus case) pair of near-duplicate inputs, by case id then similarity.

    Args:
        cases: The cases to draft.
        corpus: The reference corpus they retrieve from.
        threshold: Jaccard similarity of input five-gram shingles at or above which a pair is
            a near-duplicate.
        method: Candidate search, see `ContaminationIndex`.

    Returns:
        The pairs; a case never pairs with a corpus case of its own id (already excluded by id).
    """
    index = ContaminationIndex(corpus, threshold=threshold, method=method)
    found: list[NearDuplicate] = []
    for case in sorted(cases, key=lambda c: c.id):
        found += index.near_duplicates(case)
    return found


def exclusions(pairs: Iterable[NearDuplicate]) -> dict[str, list[str]]:
    """case id -> the reference ids its retrieval must not return."""
    out: dict[str, list[str]] = {}
    for p in pairs:
        out.setdefault(p.case_id, []).append(p.reference_id)
    return out


def load_contamination_sources(
    cases: str, corpus: str, *, importer: str | None = None
) -> tuple[list[Case], list[Case]]:
    """Load the cases and the corpus for `drafting eval contamination`.

    Each is a directory or file of case YAML, or a dataset file read by ``importer``
    (e.g. a MedPix ``.jsonl`` with ``importer="medpix"``).

    Raises:
        InputError: A source cannot be read, or a dataset file without an importer.
    """
    from drafting.errors import ConfigError
    from drafting.evaluation.suite import CaseSource, load_case_source

    loaded: list[list[Case]] = []
    for raw, field in ((cases, "--cases"), (corpus, "--corpus")):
        if raw.endswith((".jsonl", ".json")):
            if not importer:
                raise ConfigError(f"{raw} is a dataset file: give --importer (e.g. medpix)",
                                  field="--importer")
            source = CaseSource(importer=importer, path=raw)
        else:
            source = CaseSource(dir=raw)
        got, _errors = load_case_source(source)
        if not got:
            raise ConfigError(f"no cases loaded from {raw}", field=field)
        loaded.append(got)
    return loaded[0], loaded[1]


# --- in a run ---------------------------------------------------------------------------------

#: The run-directory file holding the guard's findings (read into summary.json).
CONTAMINATION_FILE = "contamination.json"


def guard_run(
    run_dir: Any, cases: Sequence[Case], corpus: Sequence[Case], config: Any
) -> dict[str, list[str]]:
    """Run the guard for a suite run: write ``contamination.json`` and return the exclusions.

    Args:
        run_dir: The run directory.
        cases: The cases to draft.
        corpus: The reference corpus (empty: nothing to check).
        config: The suite's `ContaminationConfig` (``exclude``, ``threshold``).

    Returns:
        case id -> reference ids to exclude from its retrieval (empty when ``exclude`` is off).
    """
    from pathlib import Path

    from drafting.evaluation.rundir import write_json

    pairs = find_near_duplicates(cases, corpus, threshold=config.threshold) if corpus and cases else []
    write_json(
        Path(run_dir) / CONTAMINATION_FILE,
        {
            "threshold": config.threshold,
            "excluded": bool(config.exclude),
            "corpus_size": len(corpus),
            "pairs": [p.to_dict() for p in pairs],
        },
    )
    return exclusions(pairs) if config.exclude else {}


def contamination_notes(run_dir: Any) -> list[Any]:
    """The guard's findings of a run as a run note (kind ``contamination``) for summary.json and
    report.html; none for a run without a reference corpus or from before the guard existed."""
    from pathlib import Path

    from drafting.evaluation.records import RunNote
    from drafting.evaluation.rundir import read_json

    path = Path(run_dir) / CONTAMINATION_FILE
    if not path.exists():
        return []
    data = read_json(path)
    if not data.get("corpus_size"):
        return []
    pairs = data.get("pairs") or []
    scope = (f"Jaccard of input 5-gram shingles >= {data['threshold']:g} against "
             f"{data['corpus_size']} reference cases")
    if not pairs:
        message = f"no case's input nearly repeats a reference case's ({scope})"
    else:
        listed = ", ".join(f"{p['case_id']} ~ {p['reference_id']} ({p['similarity']:.3f})"
                           for p in pairs)
        action = ("excluded from that case's retrieval" if data.get("excluded")
                  else "NOT excluded: those drafts may have seen their own gold")
        message = f"{len(pairs)} near-duplicate reference(s) ({scope}): {listed}; {action}"
    return [RunNote(kind="contamination", message=message, details=data)]
