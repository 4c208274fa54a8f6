"""Embedded model against its own limit: one seed case drafted live with the embedded SmolLM2-135M
server, against the time llama.cpp itself needs for the same tokens.

The draft: `draft_report` on one seed case (the other seed as its reference), after an untimed
draft of the other seed that starts the server and loads the models (reported separately). Its
provenance gives each stage's prompt and completion tokens.

The limit: the same model file loaded with ``llama_cpp.Llama`` directly in this process (the
server's context length and thread count), and for each stage a fresh context (reset, so no KV
cache is reused from the previous stage) evaluates a prompt of that stage's prompt-token count and
generates that stage's completion-token count (greedy, no grammar, no HTTP). The sum over the
stages is what llama.cpp alone needs; the figure is the draft's wall time over it (target within
1.25x). Everything the project adds (retrieval, prompt rendering, HTTP to the local server, the
JSON-schema grammar, parsing, a repair attempt) is in the difference.

Until the reset was added, every stage's filler prompt began with the previous stage's, so
llama.cpp reused that prefix from its KV cache: of the seed case's 2118 prompt tokens only about
830 were evaluated (the third stage's prompt, a prefix of the second's, took one token), and the
limit came out near 6.5 s instead of about 9 s. The draft's own prompts share only their first
6-11 tokens, so that reuse was a saving the draft cannot have.

This replaces the earlier "everything else" share (wall time outside the model calls), which
counted the server's own overhead as model time.

Run: ``python -m benchmarks.embedded``. Skipped (no figures) when llama_cpp or the model is absent.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from benchmarks.common import Figure, Timer, module_main

REPO = Path(__file__).resolve().parents[1]


def llama_cpp_time(stages: list[tuple[int, int]], filler: str) -> tuple[float, float, float]:
    """Seconds llama.cpp alone needs for each (prompt tokens, completion tokens) stage, summed;
    also its prompt-eval and generation rates (tokens/s) over those stages."""
    import time

    from llama_cpp import Llama

    from drafting.llm.local_server import N_CTX, THREADS_ENV, find_gguf

    threads = int(os.environ.get(THREADS_ENV, "2"))
    llm = Llama(model_path=str(find_gguf()), n_ctx=N_CTX, n_threads=threads, verbose=False)
    base = llm.tokenize(filler.encode("utf-8"), add_bos=False)
    total = prompt_s = gen_s = 0.0
    prompt_n = gen_n = 0
    llm.generate(base[:16], temp=0.0, reset=True).__next__()  # first-call set-up, not timed
    for n_prompt, n_completion in stages:
        tokens = (base * (n_prompt // len(base) + 1))[:n_prompt]
        # Every stage's tokens start with the same filler, so `generate` would reuse the previous
        # stage's KV cache for the common prefix and evaluate only the rest (the third stage, a
        # prefix of the second, evaluated one token). The draft's prompts share only their first
        # few tokens; a fresh context each time is what is compared.
        llm.reset()
        start = time.perf_counter()
        first = None
        for i, _tok in enumerate(llm.generate(tokens, temp=0.0, top_k=1, reset=True), start=1):
            if first is None:
                first = time.perf_counter()  # the prompt evaluated and one token sampled
            if i >= max(n_completion, 1):
                break
        end = time.perf_counter()
        assert first is not None
        prompt_s += first - start
        gen_s += end - first
        prompt_n += n_prompt
        gen_n += max(n_completion - 1, 0)
        total += end - start
    return total, prompt_n / prompt_s, (gen_n / gen_s if gen_s else float("nan"))


def run(quick: bool = False) -> list[Figure]:
    """The live draft's wall time over llama.cpp's own time for the same tokens."""
    logging.getLogger("drafting").setLevel(logging.ERROR)
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        print("skipped: llama_cpp not installed", file=sys.stderr)
        return []
    from drafting.api import draft_report
    from drafting.cases import ReferenceStore, load_case
    from drafting.llm import resolve_endpoint
    from drafting.retrieval.text import input_text

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
    stages = [(s.prompt_tokens, s.completion_tokens) for s in draft.provenance.stages]
    model = sum(s.latency_s for s in draft.provenance.stages)
    filler = "\n".join(input_text(c.input) for c in cases)
    limit, prompt_rate, gen_rate = llama_cpp_time(stages, filler)
    tokens = draft.provenance.total_tokens()
    return [
        Figure("embedded/draft_wall", t.seconds, "s",
               note=f"case {cases[0].id}, {tokens} tokens over {len(stages)} calls: "
                    + ", ".join(f"{p}+{c}" for p, c in stages)),
        Figure("embedded/llama_cpp_time", limit, "s",
               note=f"llama_cpp.Llama alone, same prompt/completion token counts: prompt eval "
                    f"{prompt_rate:.0f} tok/s, generation {gen_rate:.1f} tok/s"),
        Figure("embedded/draft_over_llama_cpp", t.seconds / limit, "x", 1.25,
               "per-case drafting time over llama.cpp's own time for the same tokens"),
        Figure("embedded/model_call_time", model, "s",
               note="sum of stage latencies as the chain saw them (HTTP + server + grammar)"),
        Figure("embedded/first_draft_with_startup", first.seconds, "s",
               note="server start + model + embedding load + one draft; not in the ratio"),
    ]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: print the figures."""
    return module_main(run, "python -m benchmarks.embedded", "(same as a full run)", argv)


if __name__ == "__main__":
    sys.exit(main())
