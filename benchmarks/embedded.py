"""Embedded model: one seed case drafted live with the embedded SmolLM2-135M server; wall time
split into model server time and everything else.

Model time is the sum of the stage latencies in the draft's provenance (each the wall time of a
model call as the chain saw it: HTTP round trip on loopback plus generation). "Everything else" is
the draft's wall time minus that: case loading, retrieval, prompt rendering, parsing, assembly.
The one-time start (server launch, model and embedding loading) is measured by a first, untimed
draft of the other seed case and reported separately; it is not in "everything else".

Run: ``python -m benchmarks.embedded``. Skipped (no figures) when llama_cpp or the model is absent.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from benchmarks.common import Figure, Timer, module_main

REPO = Path(__file__).resolve().parents[1]


def run(quick: bool = False) -> list[Figure]:
    """Model vs non-model share of one live draft with the embedded model."""
    logging.getLogger("drafting").setLevel(logging.ERROR)
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        print("skipped: llama_cpp not installed", file=sys.stderr)
        return []
    from drafting.api import draft_report
    from drafting.cases import ReferenceStore, load_case
    from drafting.llm import resolve_endpoint

    seeds = sorted((REPO / "reference_cases" / "seeds").glob("*.yaml"))
    cases = [load_case(p) for p in seeds]
    store = ReferenceStore(cases)
    endpoint = resolve_endpoint(backend="local", fixtures="live")
    with Timer() as first:
        try:
            draft_report(cases[1], store=store, endpoint=endpoint, k=1)
        except Exception as exc:  # noqa: BLE001 - a parse failure still warmed everything up
            print(f"warm-up draft: {type(exc).__name__}", file=sys.stderr)
    with Timer() as t:
        draft = draft_report(cases[0], store=store, endpoint=endpoint, k=1)
    model = sum(s.latency_s for s in draft.provenance.stages)
    other = t.seconds - model
    tokens = draft.provenance.total_tokens()
    return [
        Figure("embedded/draft_wall", t.seconds, "s", note=f"case {cases[0].id}, {tokens} tokens"),
        Figure("embedded/model_time", model, "s", note="sum of stage latencies (provenance)"),
        Figure("embedded/everything_else_share", 100 * other / t.seconds, "%", 10.0,
               f"{other:.3f} s outside model calls (one-time start excluded)"),
        Figure("embedded/first_draft_with_startup", first.seconds, "s",
               note="server start + model + embedding load + one draft; reported, not in the share"),
    ]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: print the figures."""
    return module_main(run, "python -m benchmarks.embedded", "(same as a full run)", argv)


if __name__ == "__main__":
    sys.exit(main())
