"""Shared pieces of the fault tests: a suite of synthetic cases drafted by the real chain against
a loopback server, with short timeouts and retry waits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.evaluation.harness_support import make_cases
from tests.support import SEEDS_DIR

#: Deterministic metrics only: no model, no embeddings (diagnosis matching embeds), fast.
FAST_METRICS = [
    "structure.sections_present",
    "structure.disclaimer",
    "rehabilitation.fitt_vp_completeness",
    "rehabilitation.precautions_monitoring",
    "cost.tokens",
]


def write_unique_cases(directory: Path, n: int) -> None:
    """n cases copied from the seeds, each with its own history text (so each case's requests
    differ: a retried request is recognisable by its body)."""
    from drafting.cases import save_case

    for case in make_cases(directory, n=n):
        case.input.clinical_history += f" Patient number {case.id}."
        save_case(case, directory)


def write_chain_suite(tmp: Path, base_url: str, n_cases: int, *, mode: str = "live",
                      name: str = "faults") -> Path:
    """A suite drafting ``n_cases`` synthetic cases through the real chain at ``base_url``.

    The corpus is the two seed cases, retrieval BM25 only (no embedding model loads).
    """
    write_unique_cases(tmp / "cases", n_cases)
    data: dict[str, Any] = {
        "name": name,
        "cases": {"dir": str(tmp / "cases")},
        "drafter": {"backend": "openai", "base_url": base_url, "model": "fake-model", "k": 1,
                    "retrieval_mode": "bm25", "corpus": {"dir": str(SEEDS_DIR)}},
        "metrics": FAST_METRICS,
        "fixtures": {"mode": mode, "dir": str(tmp / "fixtures")},
    }
    path = tmp / "suite.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def short_waits(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Give the suite's endpoints short timeouts and retry waits (the suite file cannot)."""
    from drafting.evaluation import setup

    def apply(**fields: Any) -> None:
        settings = {"timeout_s": 0.5, "backoff_s": 0.05, "max_wait_s": 5.0, "max_attempts": 4,
                    "api_key": None, **fields}
        original = setup.build_endpoint

        def build(s: Any, *, judge: bool = False) -> Any:
            ep = original(s, judge=judge)
            return ep.model_copy(update=settings) if ep is not None else None

        monkeypatch.setattr(setup, "build_endpoint", build)

    return apply
