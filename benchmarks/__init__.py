"""Benchmarks: `python -m benchmarks` runs every module in `MODULES` and prints its figures."""

#: Benchmark modules run by `python -m benchmarks`, in order. Each exposes
#: ``run(quick: bool = False) -> list[benchmarks.common.Figure]``.
MODULES = [
    "benchmarks.startup",
    "benchmarks.retrieval",
    "benchmarks.harness",
    "benchmarks.concurrency",
    "benchmarks.embedded",
    "benchmarks.diagnosis_matcher",
]
