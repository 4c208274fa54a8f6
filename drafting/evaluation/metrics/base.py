"""The metric contract: `MetricResult`, the `Metric` base class and its defaults.

A metric is a small named object that scores one draft against one gold case. It never returns 0
for "could not score": an empty gold field gives ``not_applicable``, a judge reply that does not
parse gives ``unscored``, an unexpected exception (captured by the scoring layer) ``failed``;
each with a reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from drafting.schema import Case, Draft

Status = Literal["scored", "not_applicable", "unscored", "failed"]
Section = Literal["structure", "findings", "diagnosis", "rehabilitation", "judge", "cost"]
Kind = Literal["deterministic", "embedding", "judge"]


class MetricResult(BaseModel):
    """One metric's verdict on one draft.

    Attributes:
        name: The metric name, e.g. ``diagnosis.final_match``.
        value: The score; in [0, 1] unless the metric is unbounded (cost). None unless scored.
        status: ``scored``, ``not_applicable`` (the gold lacks what the metric needs),
            ``unscored`` (a judge could not give a verdict) or ``failed`` (the metric raised).
        reason: Why the value is what it is, or why there is none.
        details: Metric-specific evidence (which rule matched, unsupported statements, ...).
    """

    name: str
    value: float | None = None
    status: Status = "scored"
    reason: str = ""
    details: dict[str, Any] = Field(default_factory=dict)
    bounded: bool = True

    @model_validator(mode="after")
    def _check(self) -> MetricResult:
        if self.status == "scored":
            if self.value is None:
                raise ValueError(f"{self.name}: a scored result needs a value")
            if self.bounded and not (-1e-9 <= self.value <= 1 + 1e-9):
                raise ValueError(f"{self.name}: value {self.value} is outside [0, 1]")
            if self.bounded:
                self.value = min(1.0, max(0.0, self.value))
        elif self.value is not None:
            raise ValueError(f"{self.name}: a {self.status} result carries no value")
        return self


class Metric:
    """Base class of every metric.

    Subclasses set the class attributes and implement `score`. `score_many` defaults to a loop;
    embedding metrics override it to embed every text of every pair in one call.
    """

    name: str = ""
    section: Section = "structure"
    kind: Kind = "deterministic"
    higher_is_better: bool = True
    bounded: bool = True

    def params(self) -> dict[str, Any]:
        """The metric's parameters, recorded with results so runs are comparable."""
        return {}

    def score(self, draft: Draft, gold: Case) -> MetricResult:  # pragma: no cover - abstract
        """Score one draft against its gold case."""
        raise NotImplementedError

    async def ascore(self, draft: Draft, gold: Case) -> MetricResult:
        """Async twin of `score`; by default runs `score` in a worker thread."""
        return await asyncio.to_thread(self.score, draft, gold)

    def score_many(self, pairs: Sequence[tuple[Draft, Case]]) -> list[MetricResult]:
        """Score many (draft, gold) pairs; the default scores them one by one."""
        return [self.score(d, g) for d, g in pairs]

    def embedding_texts(self, draft: Draft, gold: Case) -> list[str]:
        """Texts this metric will embed for the pair, so a scorer can embed every metric's texts
        in one forward pass before scoring (see `drafting.evaluation.scoring`). Default: none."""
        return []

    # --- helpers for subclasses ------------------------------------------------------------

    def result(self, value: float, reason: str = "", **details: Any) -> MetricResult:
        """A scored result."""
        return MetricResult(
            name=self.name, value=float(value), reason=reason, details=details, bounded=self.bounded
        )

    def not_applicable(self, reason: str, **details: Any) -> MetricResult:
        """A result for a pair the metric cannot judge (an empty gold field, ...)."""
        return MetricResult(
            name=self.name,
            status="not_applicable",
            reason=reason,
            details=details,
            bounded=self.bounded,
        )

    def unscored(self, reason: str, **details: Any) -> MetricResult:
        """A result for a judge that gave no usable verdict."""
        return MetricResult(
            name=self.name, status="unscored", reason=reason, details=details, bounded=self.bounded
        )

    def failed(self, reason: str, **details: Any) -> MetricResult:
        """A result for a metric that raised."""
        return MetricResult(
            name=self.name, status="failed", reason=reason, details=details, bounded=self.bounded
        )

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"<{type(self).__name__} {self.name}({params})>"


def error_reason(exc: BaseException) -> str:
    """A one-line reason for an exception: its type and first line, never a traceback."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
