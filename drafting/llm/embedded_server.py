"""The embedded model server's entry point: ``llama_cpp.server`` with greedy grammar sampling
checked on the chosen token first (`drafting.llm.llama_sampling`).

Run by `drafting.llm.local_server` as ``python -m drafting.llm.embedded_server`` with
``llama_cpp.server``'s own arguments; everything else is llama_cpp.server's.
"""

from __future__ import annotations


def main() -> None:
    """Install the grammar-checked sampler, then run ``llama_cpp.server``'s command line."""
    from llama_cpp.server.__main__ import main as serve

    from drafting.llm.llama_sampling import install

    install()
    serve()


if __name__ == "__main__":
    main()
