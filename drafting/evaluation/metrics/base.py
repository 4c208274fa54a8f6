"""The metric contract: `MetricResult`, `MetricMeta`, the `Metric` base class and its defaults.

A metric is a small named object that scores one draft against one gold case through ONE entry
point, `Metric.score`, written either as a plain function or as a coroutine (``async def``): the
scorer (`drafting.evaluation.scoring`) adapts, as pydantic_evals' ``evaluate`` does. A metric
that can do better on many pairs at once (embedding metrics) may also override `score_many`;
embedding metrics declare their texts in `embedding_texts` so that the scorer embeds every
metric's texts in one forward pass before scoring.

A metric never returns 0 for "could not score": an empty gold field gives ``not_applicable``, a
judge reply that does not parse gives ``unscored``; an unexpected exception becomes ``failed``
with the reason in one place only, the scorer. Metrics do not catch their own crashes.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Sequence
from typing import Any, Literal, TypeVar, cast

from pydantic import BaseModel, Field, field_serializer, model_validator

from drafting.schema import Case, Draft

T = TypeVar("T")

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

    @field_serializer("value")
    def _stable_value(self, value: float | None) -> float | None:
        # Rounded when written, so that files are stable across platforms' float printing.
        return round(value, 10) if value is not None else None


class MetricMeta(BaseModel):
    """What a run records about each metric (config.json): how to read and gate its values.

    Attributes:
        section: Report section (structure, findings, diagnosis, ...; "other" when unknown).
        kind: deterministic, embedding or judge.
        higher_is_better: False for costs.
        bounded: True when values lie in [0, 1] (the default minimum effect applies).
        params: The metric's parameters, so runs are comparable.
    """

    section: str = "other"
    kind: str = ""
    higher_is_better: bool = True
    bounded: bool = True
    params: dict[str, Any] = Field(default_factory=dict)


def in_range(name: str, value: float, high: float) -> float:
    """``value`` when it lies in (0, high], for a metric's parameter.

    Raises:
        ValueError: Outside that range (the message names the parameter).
    """
    if not 0 < value <= high:
        raise ValueError(f"{name} must be in (0, {high:g}]")
    return value


class Metric:
    """Base class of every metric.

    Subclasses set the class attributes and implement `score` (sync or async). `score_many`
    defaults to a loop over `score`; embedding metrics override it to embed every text of every
    pair in one call.
    """

    name: str = ""
    section: Section = "structure"
    kind: Kind = "deterministic"
    higher_is_better: bool = True
    bounded: bool = True

    def params(self) -> dict[str, Any]:
        """The metric's parameters, recorded with results so runs are comparable."""
        return {}

    def meta(self) -> MetricMeta:
        """What a run records about this metric."""
        return MetricMeta(
            section=self.section or "other",
            kind=self.kind,
            higher_is_better=self.higher_is_better,
            bounded=self.bounded,
            params=self.params(),
        )

    def score(
        self, draft: Draft, gold: Case
    ) -> MetricResult | Awaitable[MetricResult]:  # pragma: no cover - abstract
        """Score one draft against its gold case; a subclass may write it as ``async def``."""
        raise NotImplementedError

    def score_many(
        self, pairs: Sequence[tuple[Draft, Case]]
    ) -> list[MetricResult] | Awaitable[list[MetricResult]]:
        """Score many (draft, gold) pairs; the default scores them one by one.

        Returns a list for a sync `score`, a coroutine giving the list for an async one.
        """
        if inspect.iscoroutinefunction(self.score):

            async def one_by_one() -> list[MetricResult]:
                return [await resolve(self.score(d, g)) for d, g in pairs]

            return one_by_one()
        return [cast(MetricResult, self.score(d, g)) for d, g in pairs]

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


async def resolve(value: T | Awaitable[T]) -> T:
    """``value``, awaited when it is awaitable: how a sync or async `Metric.score` is adapted."""
    if inspect.isawaitable(value):
        return await value
    return value
