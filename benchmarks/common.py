"""Shared benchmark helpers: the `Figure` record, timers, peak memory, printing."""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    """One measured figure and, when there is one, its target.

    Attributes:
        name: What was measured, e.g. "retrieval/medpix-535/query_p50".
        value: The measurement.
        unit: "s", "ms", "MiB", "count", ...
        target: The upper bound it should stay under, or None.
        note: How it was measured, when that matters (e.g. synthetic embeddings).
    """

    name: str
    value: float
    unit: str
    target: float | None = None
    note: str = ""

    @property
    def ok(self) -> bool | None:
        """True when under target, False when over, None without a target."""
        return None if self.target is None else self.value < self.target

    def to_dict(self) -> dict[str, Any]:
        """``{name, value, unit, target, ok, note}``."""
        return {**asdict(self), "ok": self.ok}

    def line(self) -> str:
        """One printable line."""
        target = f"  (target < {self.target:g} {self.unit}: {'ok' if self.ok else 'MISSED'})" \
            if self.target is not None else ""
        note = f"  [{self.note}]" if self.note else ""
        return f"{self.name:<48} {self.value:>12.4g} {self.unit:<6}{target}{note}"


class Timer:
    """Wall-clock seconds of a ``with`` block, in ``.seconds``."""

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


def time_calls(fn: Callable[[], object], repeat: int, warmup: int = 3) -> list[float]:
    """Seconds of each of ``repeat`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    if len(values) == 1:
        return float(values[0])
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    if q <= 0:
        return float(min(values))
    if q >= 100:
        return float(max(values))
    return float(cuts[int(q) - 1])


@contextmanager
def traced_peak() -> Iterator[dict[str, float]]:
    """Peak Python-heap MiB allocated inside the block (tracemalloc; numpy buffers included).

    Yields a dict whose ``"mib"`` is filled in when the block ends.
    """
    result: dict[str, float] = {"mib": 0.0}
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        yield result
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result["mib"] = peak / 2**20


def max_rss_mib() -> float:
    """The process's peak resident set size so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_figures(figures: Sequence[Figure], out: Any = None) -> None:
    """Print figures one per line."""
    out = out or sys.stdout
    for f in figures:
        print(f.line(), file=out)


def write_json(figures: Sequence[Figure], path: str | Path) -> None:
    """Write every figure as a JSON list of ``{name, value, unit, target, ok, note}``."""
    Path(path).write_text(json.dumps([f.to_dict() for f in figures], indent=1) + "\n",
                          encoding="utf-8")


def module_main(
    run: Callable[..., list[Figure]], prog: str, quick_help: str, argv: list[str] | None = None
) -> int:
    """Command-line entry of one benchmark module: run it, print its figures.

    Returns:
        1 when a figure misses its target, else 0.
    """
    import argparse

    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    args = parser.parse_args(argv)
    figures = run(quick=args.quick)
    print_figures(figures)
    return 1 if any(f.ok is False for f in figures) else 0
