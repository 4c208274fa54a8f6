"""`python -m benchmarks.diagnosis_matcher [--no-embeddings] [--failures tune]`: how often is the
diagnosis matcher right, per category, before (the matcher of commit acfd874: exact, token-set
fuzzy >= 90, MiniLM cosine >= 0.85) and after: the rules alone (`drafting.diagnoses.match_diagnosis`)
and as the diagnosis metrics score (`DiagnosisMatcher`: those rules plus the MiniLM tie-break on
pairs no rule decided; the held-out targets are checked on this one, the harness's verdicts).

The labelled pairs live in ``tests/data/diagnosis_pairs.csv`` (candidate, MedPix case id, category,
expected verdict, split, reason); the gold diagnosis is read from the MedPix 2.0 train/dev files
beside the project (never copied into the repository). ``split`` is ``tune`` or ``heldout``
(40% of each category, fixed before any tuning): figures are printed for both, failures only for
the tune split.

Precision and recall are those of the verdict ``same`` (a hit): precision = pairs labelled and
predicted same / pairs predicted same; recall = pairs labelled and predicted same / pairs labelled
same. Targets on the held-out split: precision >= 0.90, recall >= 0.75.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import Figure, print_figures

REPO = Path(__file__).resolve().parents[1]
PAIRS = REPO / "tests" / "data" / "diagnosis_pairs.csv"
MEDPIX = REPO.parent / "shared" / "datasets" / "medpix-2.0"
PRECISION_TARGET, RECALL_TARGET = 0.90, 0.75
#: The labelled set grew in three batches: ids p* were written while the matcher was built; ids q*
#: and r* were written later, each by a separate labeller who never saw the matcher or its output.
BATCHES = {"p": "first batch", "q": "second batch, labelled blind", "r": "third batch, labelled blind"}


@dataclass(frozen=True)
class Pair:
    """One labelled (candidate, gold) pair."""

    id: str
    case_id: str
    candidate: str
    gold: str
    category: str
    expected: str
    split: str
    reason: str


def medpix_diagnoses(medpix: Path = MEDPIX) -> dict[str, str]:
    """MedPix case id -> its case diagnosis (whitespace collapsed), from the train and dev splits."""
    out: dict[str, str] = {}
    for split in ("train", "dev"):
        with (medpix / f"cases_{split}.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                out[row["U_id"]] = " ".join((row["Case"].get("Case Diagnosis") or "").split())
    return out


def load_pairs(path: Path = PAIRS, medpix: Path = MEDPIX) -> list[Pair]:
    """The labelled pairs with their gold diagnoses filled in from MedPix.

    Raises:
        FileNotFoundError: The MedPix files are not beside the project.
        KeyError: A pair names a case that is not in the train or dev split.
    """
    gold = medpix_diagnoses(medpix)
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            Pair(
                r["id"],
                r["case_id"],
                r["candidate"],
                gold[r["case_id"]],
                r["category"],
                r["expected"],
                r["split"],
                r["reason"],
            )
            for r in csv.DictReader(fh)
        ]


def legacy_matcher(use_embeddings: bool = True) -> Callable[[list[tuple[str, str]]], list[str]]:
    """Today's (acfd874) rule, re-stated: exact, token_set_ratio >= 90, MiniLM cosine >= 0.85.

    It knows only same/different."""
    import re

    from rapidfuzz import fuzz

    from drafting.evaluation.metrics._text import STOPWORDS

    def norm(text: str) -> str:
        return " ".join(w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS)

    def run(pairs: list[tuple[str, str]]) -> list[str]:
        out, undecided = [], []
        for i, (c, g) in enumerate(pairs):
            a, b = norm(c), norm(g)
            hit = bool(a and b) and (a == b or fuzz.token_set_ratio(a, b) >= 90)
            out.append("same" if hit else "different")
            if not hit and a and b:
                undecided.append(i)
        if use_embeddings and undecided:
            from drafting.embeddings import available

            if available():
                from drafting.evaluation.metrics._embedding import batched_similarity

                sims = batched_similarity([(pairs[i][1], pairs[i][0]) for i in undecided])
                for i, sim in zip(undecided, sims, strict=True):
                    if sim >= 0.85:
                        out[i] = "same"
        return out

    return run


def new_matcher(pairs: list[tuple[str, str]]) -> list[str]:
    from drafting.diagnoses import match_diagnosis

    return [match_diagnosis(c, g).verdict for c, g in pairs]


def scored_matcher(pairs: list[tuple[str, str]]) -> list[str]:
    """Verdicts as the diagnosis metrics give them: the rules, then the MiniLM tie-break (when the
    embeddings extra is installed; else the rules alone)."""
    from drafting.evaluation.metrics.diagnosis import DiagnosisMatcher

    return [m.verdict.verdict for m in DiagnosisMatcher().match_many(pairs)]


@dataclass
class Score:
    """Counts for precision and recall of ``same``."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    n: int = 0
    agree: int = 0

    def add(self, expected: str, got: str) -> None:
        self.n += 1
        self.agree += expected == got
        if got == "same" and expected == "same":
            self.tp += 1
        elif got == "same":
            self.fp += 1
        elif expected == "same":
            self.fn += 1

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def score(pairs: Iterable[Pair], verdicts: Iterable[str]) -> dict[str, Score]:
    """Category (and ``ALL``) -> counts."""
    out: dict[str, Score] = defaultdict(Score)
    for pair, got in zip(pairs, verdicts, strict=True):
        out[pair.category].add(pair.expected, got)
        out["ALL"].add(pair.expected, got)
    return dict(out)


def _fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def table(split: str, before: dict[str, Score], rules: dict[str, Score], after: dict[str, Score]) -> str:
    """A printable per-category table for one split: before, rules alone, rules + MiniLM."""
    lines = [
        f"-- split: {split}",
        f"{'category':<20} {'n':>4}   {'P before':>8} {'R before':>8}   {'P rules':>8} {'R rules':>8}"
        f"   {'P after':>8} {'R after':>8}   {'3-way acc':>9}",
    ]
    for cat in sorted(after, key=lambda c: (c == "ALL", c)):
        b, r, a = before[cat], rules[cat], after[cat]
        lines.append(
            f"{cat:<20} {a.n:>4}   {_fmt(b.precision):>8} {_fmt(b.recall):>8}   "
            f"{_fmt(r.precision):>8} {_fmt(r.recall):>8}   "
            f"{_fmt(a.precision):>8} {_fmt(a.recall):>8}   {a.agree / a.n:>9.3f}"
        )
    return "\n".join(lines)


def evaluate(
    use_embeddings: bool = True,
    show_failures: str | None = None,
    splits: tuple[str, ...] = ("tune", "heldout"),
) -> dict[str, dict]:
    """Score both matchers on the splits; print the tables (and failures of one split)."""
    pairs = load_pairs()
    legacy = legacy_matcher(use_embeddings)
    results: dict[str, dict] = {}
    for split in splits:
        mine = [p for p in pairs if p.split == split]
        texts = [(p.candidate, p.gold) for p in mine]
        before, rules_v, after_v = legacy(texts), new_matcher(texts), scored_matcher(texts)
        before_s, rules_s, after_s = score(mine, before), score(mine, rules_v), score(mine, after_v)
        print(table(split, before_s, rules_s, after_s))
        for batch, label in BATCHES.items():
            part = [(p, v) for p, v in zip(mine, after_v, strict=True) if p.id.startswith(batch)]
            b = score([p for p, _ in part], [v for _, v in part])["ALL"]
            print(f"   {label} ({batch}*, n={b.n}): after P {_fmt(b.precision)} R {_fmt(b.recall)}")
        if show_failures == split:
            from drafting.diagnoses import match_diagnosis

            for p, got in zip(mine, after_v, strict=True):
                if got != p.expected:
                    v = match_diagnosis(p.candidate, p.gold)
                    print(
                        f"  {p.id} [{p.category}] want {p.expected} got {got} ({v.rule}): "
                        f"{p.candidate!r} vs {p.gold!r} -- {v.reason}"
                    )
        results[split] = {
            "before": before_s["ALL"],
            "rules": rules_s["ALL"],
            "after": after_s["ALL"],
            "n": len(mine),
        }
    return results


def timings() -> list[Figure]:
    """Terminology load time (fresh process) and per-pair matching time (cache cleared)."""
    import subprocess

    code = (
        "import time; t = time.perf_counter(); from drafting.diagnoses.terminology import load; "
        "load(); print(time.perf_counter() - t)"
    )
    load_s = float(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=REPO
        ).stdout.strip()
    )
    from drafting.diagnoses import match_diagnosis
    from drafting.diagnoses.terminology import load

    load()
    pairs = [(p.candidate, p.gold) for p in load_pairs()]
    match_diagnosis.cache_clear()
    t = time.perf_counter()
    for c, g in pairs:
        match_diagnosis(c, g)
    per_pair = (time.perf_counter() - t) / len(pairs)
    return [
        Figure(
            "diagnosis_matcher/terminology_load",
            load_s,
            "s",
            target=3.0,
            note="fresh process, import + load + index",
        ),
        Figure(
            "diagnosis_matcher/per_pair",
            per_pair * 1000,
            "ms",
            target=5.0,
            note=f"{len(pairs)} labelled pairs, cache cleared",
        ),
        Figure(
            "diagnosis_matcher/1000_case_run_top3",
            per_pair * 3000 + load_s,
            "s",
            target=30.0,
            note="load + 3 pairs per case x 1000 cases",
        ),
    ]


def run(quick: bool = False) -> list[Figure]:
    """Entry point for ``python -m benchmarks``: tables on stdout, figures returned."""
    if not (MEDPIX / "cases_train.jsonl").is_file():
        print(f"skipped: MedPix 2.0 not found at {MEDPIX}", file=sys.stderr)
        return []
    res = evaluate(use_embeddings=not quick)
    figures = []
    for split, r in res.items():
        for when in ("before", "rules", "after"):
            s: Score = r[when]
            figures += [
                Figure(
                    f"diagnosis_matcher/{split}/{when}/same_precision",
                    s.precision or 0.0,
                    "ratio",
                    note=f"n={r['n']}; target >= {PRECISION_TARGET} held-out, after",
                ),
                Figure(
                    f"diagnosis_matcher/{split}/{when}/same_recall",
                    s.recall or 0.0,
                    "ratio",
                    note=f"n={r['n']}; target >= {RECALL_TARGET} held-out, after",
                ),
            ]
    return figures + timings()


def main(argv: list[str] | None = None) -> int:
    """Print the tables and timings; exit 1 when the held-out targets are missed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.diagnosis_matcher", description=__doc__)
    parser.add_argument(
        "--no-embeddings", action="store_true", help="the 'before' matcher without its MiniLM rule (faster)"
    )
    parser.add_argument("--failures", choices=["tune"], help="list the new matcher's errors on a split")
    parser.add_argument("--tune-only", action="store_true", help="score the tune split only (while tuning)")
    args = parser.parse_args(argv)
    if not (MEDPIX / "cases_train.jsonl").is_file():
        print(f"error: MedPix 2.0 not found at {MEDPIX}", file=sys.stderr)
        return 2
    splits = ("tune",) if args.tune_only else ("tune", "heldout")
    res = evaluate(use_embeddings=not args.no_embeddings, show_failures=args.failures, splits=splits)
    print_figures(timings())
    if args.tune_only:
        return 0
    held = res["heldout"]["after"]
    ok = (held.precision or 0) >= PRECISION_TARGET and (held.recall or 0) >= RECALL_TARGET
    print(
        f"held-out after: precision {_fmt(held.precision)} (target >= {PRECISION_TARGET}), "
        f"recall {_fmt(held.recall)} (target >= {RECALL_TARGET}): {'ok' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
