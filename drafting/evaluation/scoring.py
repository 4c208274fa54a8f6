"""Score drafts against gold cases with a list of metrics.

A metric that raises never stops the others: its result is ``failed`` with the reason.
`score_drafts` hands each metric every pair at once (`Metric.score_many`), so embedding metrics
embed all their texts in one call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from drafting.errors import InputError
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
    _prefetch_embeddings(pairs, metrics)
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


def _prefetch_embeddings(pairs: Sequence[tuple[Draft, Case]], metrics: Sequence[Metric]) -> None:
    """Embed every text the embedding metrics will need in one forward pass (cached for them).

    Several metrics embed a few short texts each; one batch costs about what one tiny call does.
    """
    texts: list[str] = []
    for metric in metrics:
        if metric.kind != "embedding":
            continue
        for draft, gold in pairs:
            try:
                texts += metric.embedding_texts(draft, gold)
            except Exception:  # noqa: BLE001 - the metric itself will report the problem
                continue
    if texts:
        from drafting.evaluation.metrics._embedding import embed_cached

        try:
            embed_cached(texts)
        except Exception as exc:  # noqa: BLE001 - each metric falls back to its own path
            log.warning("embedding prefetch failed: %s", type(exc).__name__)


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


def load_draft_file(
    path: str | Path, *, case_id: str | None = None, warnings: list[str] | None = None
) -> Draft:
    """Read a draft to score: our `Draft` JSON, or a Markdown report with the usual headings.

    A Markdown report is wrapped in a `Draft` with empty provenance; its case id comes from a
    ``# Draft report: <id>`` title, else ``case_id``, else the file name. Headings the reader
    ignores are named in ``warnings`` when it is given.

    Raises:
        InputError: The file cannot be read, or is neither a valid Draft JSON nor a report.
    """
    from pydantic import ValidationError

    from drafting.evaluation.markdown_parse import markdown_case_id, parse_markdown_report

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read draft ({error_reason(exc)})", path=p) from None
    if text.lstrip().startswith("{"):
        try:
            return Draft.model_validate_json(text)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            loc = ".".join(str(x) for x in err["loc"]) or "(document)"
            raise InputError(f"not a valid Draft JSON: {err['msg']}", path=p, field=loc) from None
    try:
        report = parse_markdown_report(text, warnings=warnings)
    except InputError as exc:
        raise InputError(exc.message, path=p) from None
    cid = markdown_case_id(text) or case_id or p.stem
    return Draft(case_id=cid, report=report)


def default_metric_names() -> list[str]:
    """`DEFAULT_METRICS`, without the embedding metrics when the embeddings extra is missing."""
    from drafting.embeddings import available
    from drafting.evaluation.metrics import DEFAULT_METRICS, DETERMINISTIC_METRICS

    if available():
        return list(DEFAULT_METRICS)
    keep = set(DETERMINISTIC_METRICS) | {"diagnosis.final_match", "diagnosis.top1_hit", "diagnosis.top3_hit"}
    return [m for m in DEFAULT_METRICS if m in keep]


def score_file(
    draft_path: str | Path,
    gold_path: str | Path,
    metrics: Sequence[str | dict] | None = None,
    *,
    judge_endpoint: object = None,
    warnings: list[str] | None = None,
) -> tuple[Draft, list[MetricResult]]:
    """Score a draft file (JSON or Markdown) against a gold case file.

    Args:
        draft_path: Our Draft JSON or a Markdown report.
        gold_path: A case YAML file with a gold report.
        metrics: Metric specs for `build_metrics`; None uses `default_metric_names`.
        judge_endpoint: Needed only for ``judge.*`` metrics.
        warnings: When given, what the Markdown reader ignored is appended to it.

    Returns:
        The draft as read, and one result per metric.
    """
    from drafting.cases import load_case

    gold = load_case(gold_path)
    draft = load_draft_file(draft_path, case_id=gold.id, warnings=warnings)
    built = build_metrics(
        default_metric_names() if metrics is None else list(metrics), judge_endpoint=judge_endpoint
    )
    return draft, score_draft(draft, gold, built)
