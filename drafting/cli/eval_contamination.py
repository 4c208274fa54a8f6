"""`drafting eval contamination`: list cases whose input nearly repeats a reference case's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from drafting.cli._common import console, err_console, escape


def contamination(
    cases: Annotated[
        Path, typer.Option("--cases", help="The cases to draft: a directory or file of case YAML, "
                                           "or a dataset file with --importer.")
    ],
    corpus: Annotated[
        Path, typer.Option("--corpus", help="The reference corpus, given the same way.")
    ],
    importer: Annotated[
        str | None, typer.Option("--importer", help="Dataset format of .jsonl sources (medpix).")
    ] = None,
    threshold: Annotated[
        float,
        typer.Option("--threshold", min=0.01, max=1.0,
                     help="Jaccard similarity of input 5-gram shingles that makes a near-duplicate."),
    ] = 0.2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the pairs as JSON.")] = False,
) -> int:
    """List cases whose input is a near-duplicate of a corpus case's (same patient, other id)."""
    from drafting.evaluation.contamination import find_near_duplicates, load_contamination_sources

    the_cases, the_corpus = load_contamination_sources(str(cases), str(corpus), importer=importer)
    pairs = find_near_duplicates(the_cases, the_corpus, threshold=threshold)
    if as_json:
        print(json.dumps([p.to_dict() for p in pairs], indent=2))
        return 0
    for p in pairs:
        console.print(f"{escape(p.case_id)}\t{escape(p.reference_id)}\t{p.similarity:.3f}")
    err_console.print(
        f"{len(pairs)} near-duplicate pair(s) among {len(the_cases)} cases and "
        f"{len(the_corpus)} reference cases (threshold {threshold:g})"
    )
    return 0


def register(app: typer.Typer) -> None:
    """Attach `contamination` to the `drafting eval` group."""
    from drafting.cli.evaluate import eval_app

    eval_app.command("contamination")(contamination)
