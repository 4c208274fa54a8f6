"""Score drafts against gold cases: the one scoring path of the harness.

`ascore_drafts` is the path; everything else wraps it. It embeds every text the embedding
metrics will need in one forward pass, then hands each metric every pair at once
(`Metric.score_many`), awaiting the metric when it is async (a metric writes `Metric.score` once,
sync or async). A metric that raises on the batch is scored pair by pair to isolate the bad pair,
and `failed_result` (the ONE place an exception becomes a result) records the crash as
``failed`` with the reason: a metric never stops the others.

Sync callers use `score_drafts` / `score_draft` (one event loop per call, not per metric); the
runner scores on a `ScoringWorker`: one thread with one event loop for the whole run, which keeps
CPU-bound metrics off the drafting loop and scores one case at a time.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from drafting.errors import InputError
from drafting.evaluation.metrics import Metric, MetricResult, build_metrics
from drafting.evaluation.metrics.base import error_reason, resolve
from drafting.schema import Case, Draft

log = logging.getLogger(__name__)

T = TypeVar("T")


def failed_result(metric: Metric, exc: BaseException) -> MetricResult:
    """The result of a metric that raised: ``failed``, with the exception as the reason."""
    log.warning("metric %s failed: %s", metric.name, type(exc).__name__)
    return metric.failed(error_reason(exc))


async def ascore_drafts(
    pairs: Sequence[tuple[Draft, Case]], metrics: Sequence[Metric] | None = None
) -> list[list[MetricResult]]:
    """Score many drafts, each against its gold case.

    Args:
        pairs: (draft, gold case) pairs.
        metrics: The metrics; None builds `DEFAULT_METRICS`.

    Returns:
        One list per pair, with one result per metric in the metrics' order. Never raises for a
        metric's crash: that metric's result is ``failed``.
    """
    metrics = build_metrics() if metrics is None else list(metrics)
    _prefetch_embeddings(pairs, metrics)
    columns = [await _score_column(metric, pairs) for metric in metrics]
    return [[column[i] for column in columns] for i in range(len(pairs))]


async def _score_column(metric: Metric, pairs: Sequence[tuple[Draft, Case]]) -> list[MetricResult]:
    """One metric over every pair: in one batch, else pair by pair with crashes recorded."""
    try:
        results = list(await resolve(metric.score_many(list(pairs))))
        if len(results) == len(pairs):
            return results
        log.warning("metric %s returned %d results for %d drafts; scoring one by one",
                    metric.name, len(results), len(pairs))
    except Exception:  # noqa: BLE001 - score one by one to isolate the bad pair
        pass
    column: list[MetricResult] = []
    for draft, gold in pairs:
        try:
            column.append(await resolve(metric.score(draft, gold)))
        except Exception as exc:  # noqa: BLE001 - recorded as "failed", never raised
            column.append(failed_result(metric, exc))
    return column


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


async def ascore_draft(
    draft: Draft, gold: Case, metrics: Sequence[Metric] | None = None
) -> list[MetricResult]:
    """Score one draft against its gold case; see `ascore_drafts`."""
    return (await ascore_drafts([(draft, gold)], metrics))[0]


def score_drafts(
    pairs: Sequence[tuple[Draft, Case]], metrics: Sequence[Metric] | None = None
) -> list[list[MetricResult]]:
    """Sync `ascore_drafts` (one event loop for the call; usable inside a running loop)."""
    return run_sync(ascore_drafts(pairs, metrics))


def score_draft(draft: Draft, gold: Case, metrics: Sequence[Metric] | None = None) -> list[MetricResult]:
    """Sync `ascore_draft`."""
    return score_drafts([(draft, gold)], metrics)[0]


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from sync code, also when a loop is running in this thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="drafting-score") as pool:
        return pool.submit(asyncio.run, coro).result()


class ScoringWorker:
    """One thread running one event loop for a run's scoring, one case at a time.

    Use as a context manager; `score` is awaited from the runner's loop.
    """

    def __init__(self, metrics: Sequence[Metric]):
        self.metrics = list(metrics)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="drafting-score", daemon=True
        )
        self._lock: asyncio.Lock | None = None

    def __enter__(self) -> ScoringWorker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    async def score(self, draft: Draft, gold: Case) -> tuple[list[MetricResult], float]:
        """Score one draft on the worker; its results and the seconds scoring took.

        Timed on the worker, so time spent queued behind other cases is not counted.
        """
        future = asyncio.run_coroutine_threadsafe(self._timed(draft, gold), self._loop)
        return await asyncio.wrap_future(future)

    async def _timed(self, draft: Draft, gold: Case) -> tuple[list[MetricResult], float]:
        if self._lock is None:  # made on the worker's loop, where it is used
            self._lock = asyncio.Lock()
        async with self._lock:
            started = time.perf_counter()
            results = await ascore_draft(draft, gold, self.metrics) if self.metrics else []
            return results, round(time.perf_counter() - started, 4)


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

    from drafting.cases import first_validation_problem
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
            msg, field = first_validation_problem(exc)
            raise InputError(f"not a valid Draft JSON: {msg}", path=p, field=field) from None
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
