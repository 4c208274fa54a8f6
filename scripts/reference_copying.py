"""How much of a run's drafted findings is copied from the reference cases it was shown.

For each drafted case: the share of the findings' word 4-grams that occur in a retrieved
reference's imaging text or gold findings but nowhere in the case's own input (copied from another
patient), and the share that occurs in the case's own input (restated from this patient).

    python scripts/reference_copying.py RUN_DIR [RUN_DIR ...] --corpus-importer medpix \
        --corpus ../shared/datasets/medpix-2.0/cases_train.jsonl
"""

from __future__ import annotations

import argparse
import re
import statistics
from pathlib import Path

from drafting.evaluation.rundir import load_run
from drafting.importers import import_cases
from drafting.schema import Case, Draft

N = 4
_WORD = re.compile(r"[a-z0-9]+")


def ngrams(text: str, n: int = N) -> set[tuple[str, ...]]:
    """The word n-grams of a text, lower-cased, punctuation dropped."""
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def copying(draft: Draft, case: Case, refs: list[Case]) -> tuple[float, float] | None:
    """(copied from references, restated from the case) shares of the findings' n-grams."""
    grams = ngrams(draft.report.findings)
    if not grams:
        return None
    own = ngrams(" ".join([case.input.clinical_history, case.input.imaging_text(), case.input.labs]))
    other: set[tuple[str, ...]] = set()
    for ref in refs:
        other |= ngrams(ref.input.imaging_text() + " " + ref.gold.findings)
    return len((grams & other) - own) / len(grams), len(grams & own) / len(grams)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--corpus-importer", default="medpix")
    parser.add_argument("--cases", type=Path, help="case file of the run (default: the corpus)")
    args = parser.parse_args()
    corpus, _ = import_cases(args.corpus_importer, args.corpus)
    cases = corpus
    if args.cases:
        cases, _ = import_cases(args.corpus_importer, args.cases)
    by_id = {c.id: c for c in [*corpus, *cases]}
    for run_dir in args.runs:
        run = load_run(run_dir)
        rows = [r for r in run.results if r["status"] == "ok"]
        shares = []
        for row in rows:
            draft = Draft.model_validate(row["draft"])
            refs = [by_id[r.case_id] for r in draft.provenance.references if r.case_id in by_id]
            if (s := copying(draft, by_id[draft.case_id], refs)) is not None:
                shares.append(s)
        copied = [s[0] for s in shares]
        own = [s[1] for s in shares]
        print(
            f"{run_dir.name}: {len(shares)} drafts; {N}-grams copied from references "
            f"mean {statistics.mean(copied):.3f} (drafts with any: {sum(c > 0 for c in copied)}); "
            f"restated from the case mean {statistics.mean(own):.3f}"
        )


if __name__ == "__main__":
    main()
