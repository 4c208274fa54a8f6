"""The embedded server's grammar-checked greedy sampler (`drafting.llm.llama_sampling`).

The wrapper's routing is checked without a model; that the sampler picks exactly the stock
chain's tokens is checked on the bundled SmolLM2 (``-m live``: it loads the model in-process and
generates a few hundred grammar-constrained tokens per variant).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from drafting.llm.llama_sampling import grammar_checked_init_sampler


class _Stock:
    """Stands in for ``Llama._init_sampler``: records that it was called."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, llama: object, **kwargs: Any) -> str:
        self.calls.append(kwargs)
        return "stock"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"temp": 0.8, "grammar": object()},  # sampling: llama.cpp's own chain
        {"temp": 0.0, "grammar": None},  # no grammar: nothing to check
        {"temp": 0.0, "grammar": object(), "logits_processor": []},  # a processor runs first
        {"grammar": object()},  # temperature left at llama-cpp-python's default (0.8)
    ],
)
def test_requests_other_than_greedy_with_a_grammar_get_the_stock_chain(kwargs: dict[str, Any]):
    stock = _Stock()
    assert grammar_checked_init_sampler(stock)(object(), **kwargs) == "stock"
    assert stock.calls == [kwargs]


def test_install_is_idempotent():
    pytest.importorskip("llama_cpp")
    from llama_cpp import Llama

    from drafting.llm import llama_sampling

    before = Llama._init_sampler
    try:
        llama_sampling.install()
        wrapped = Llama._init_sampler
        llama_sampling.install()
        assert Llama._init_sampler is wrapped is not before
    finally:
        Llama._init_sampler = before  # type: ignore[method-assign]


def test_the_entry_point_is_llama_cpp_servers_command_line():
    pytest.importorskip("llama_cpp.server")
    out = subprocess.run(
        [sys.executable, "-m", "drafting.llm.embedded_server", "--help"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "--model" in out.stdout and "--n_ctx" in out.stdout


@pytest.mark.live
@pytest.mark.timeout(900)
def test_checked_sampler_picks_exactly_the_stock_chains_tokens():
    """Same tokens as llama-cpp-python's penalties -> grammar -> greedy chain, for each stage's
    schema, with the top-k fallback and with the whole-vocabulary fallback only."""
    pytest.importorskip("llama_cpp")
    from llama_cpp import Llama

    from drafting.llm.local_server import find_gguf
    from drafting.schema import DiagnosisOutput, FindingsOutput, RehabilitationOutput

    llm = Llama(model_path=str(find_gguf()), n_ctx=2048, n_threads=2, verbose=False)
    stock_init = Llama._init_sampler
    case = (
        "Patient: 58-year-old female. Clinical history: two weeks of headache and left arm "
        "weakness. Imaging (MRI, brain): ring-enhancing lesion in the right frontal lobe with "
        "surrounding vasogenic oedema."
    )
    made: list[Any] = []

    def run(init: Any, model_cls: type) -> str:
        Llama._init_sampler = init  # type: ignore[method-assign]
        llm.reset()
        reply = llm.create_chat_completion(
            messages=[
                {"role": "system", "content": "Answer with JSON only."},
                {"role": "user", "content": f"Draft the {model_cls.__name__} for:\n{case}"},
            ],
            response_format={"type": "json_object", "schema": model_cls.model_json_schema()},
            temperature=0.0, max_tokens=160, seed=0,
        )  # fmt: skip
        return reply["choices"][0]["message"]["content"]

    def recording(fallback_top_k: int) -> Any:
        wrapped = grammar_checked_init_sampler(stock_init, fallback_top_k)

        def init(self: Llama, **kwargs: Any) -> Any:
            sampler = wrapped(self, **kwargs)
            made.append(sampler)
            return sampler

        return init

    try:
        for model_cls in (FindingsOutput, DiagnosisOutput, RehabilitationOutput):
            expected = run(stock_init, model_cls)
            for fallback_top_k in (64, 0):
                made.clear()
                assert run(recording(fallback_top_k), model_cls) == expected, (
                    model_cls.__name__, fallback_top_k,
                )  # fmt: skip
                sampler = made[-1]
                assert sampler.sampled > 0
                if fallback_top_k == 0:
                    assert sampler.full == sampler.rejected
    finally:
        Llama._init_sampler = stock_init  # type: ignore[method-assign]
    assert any(s.rejected for s in made), "no rejected greedy token: the fallback went untested"
