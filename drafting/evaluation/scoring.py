"""Score drafts against gold cases with a list of metrics.

A metric that raises never stops the others: its result is ``failed`` with the reason.
`score_drafts` hands each metric every pair at once (`Metric.score_many`), so embedding metrics
embed all their texts in one call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from drafting.evaluation.metrics import Metric, MetricResult, build_metrics
from drafting.evaluation.metrics.base import error_reason
from drafting.schema import Case, Draft

log = logging.getLogger(__name__)


def _failed(metric: Metric, exc: BaseException) -> MetricResult:
    log.warning("metric %s failed: %s", metric.name, type(exc).__name__)
    return metric.failed(error_reason(exc))


def score_drafts(
    pairs: Sequence[tuple[Draft, Case]], metrics: Sequence[Metric] | None = None
) -> list[list[MetricResult]]:
    """Score many drafts, each against its gold case.

    Args:
        pairs: (draft, gold case) pairs.
        metrics: The metrics; None builds `DEFAULT_METRICS`.

    Returns:
        One list per pair, with one result per metric in the metrics' order.
    """
    metrics = build_metrics() if metrics is None else list(metrics)
    columns: list[list[MetricResult]] = []
    for metric in metrics:
        try:
            results = metric.score_many(list(pairs))
            if len(results) != len(pairs):
                raise RuntimeError(f"returned {len(results)} results for {len(pairs)} drafts")
        except Exception:  # noqa: BLE001 - fall back to one by one to isolate the bad pair
            results = []
            for draft, gold in pairs:
                try:
                    results.append(metric.score(draft, gold))
                except Exception as exc:  # noqa: BLE001 - recorded as "failed", never raised
                    results.append(_failed(metric, exc))
        columns.append(results)
    return [[col[i] for col in columns] for i in range(len(pairs))]


def score_draft(draft: Draft, gold: Case, metrics: Sequence[Metric] | None = None) -> list[MetricResult]:
    """Score one draft against its gold case; see `score_drafts`."""
    return score_drafts([(draft, gold)], metrics)[0]


async def ascore_draft(
    draft: Draft, gold: Case, metrics: Sequence[Metric] | None = None
) -> list[MetricResult]:
    """Async twin of `score_draft`: metrics run concurrently through their ``ascore``."""
    metrics = build_metrics() if metrics is None else list(metrics)

    async def one(metric: Metric) -> MetricResult:
        try:
            return await metric.ascore(draft, gold)
        except Exception as exc:  # noqa: BLE001 - recorded as "failed", never raised
            return _failed(metric, exc)

    return list(await asyncio.gather(*(one(m) for m in metrics)))
