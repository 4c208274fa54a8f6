"""One case of a run as a `CaseRow`: drafted (any error recorded, never raised), or a case file
that did not load."""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import logging
import time
from collections.abc import Callable

from drafting.errors import CaseFileError
from drafting.evaluation.records import CaseError, CaseRow, Timings, TokenCounts
from drafting.evaluation.setup import DraftFn
from drafting.llm import track_fixture_usage
from drafting.redact import redact
from drafting.schema import Case, Draft, StageRecord

log = logging.getLogger(__name__)

#: Told ``(case id, stage, event, tokens)`` as each stage of a case ends ("done" or "failed").
StageFn = Callable[[str, str, str, int], None]

_STAGE_SINK: contextvars.ContextVar[Callable[[str, str, StageRecord | None], None] | None] = (
    contextvars.ContextVar("drafting_stage_sink", default=None)
)


def report_stage(stage: str, event: str, record: StageRecord | None) -> None:
    """The chain's ``on_progress`` for harness runs: passes stage events to the case being drafted
    in this task (a no-op outside `draft_case`)."""
    sink = _STAGE_SINK.get()
    if sink is not None:
        sink(stage, event, record)


async def draft_case(case: Case, draft_fn: DraftFn, *, on_stage: StageFn | None = None) -> CaseRow:
    """Draft one case; any error becomes a failed row (the run goes on). Metrics come later.

    A failed case's tokens are those its stages spent before failing, the failing stage's
    attempts included, as far as the draft function reports them through `report_stage`.
    """
    keys: set[str] = set()
    started = time.perf_counter()
    draft: Draft | None = None
    error: CaseError | None = None
    spent: list[StageRecord] = []

    def sink(stage: str, event: str, record: StageRecord | None) -> None:
        if event in ("done", "failed") and record is not None:
            spent.append(record)
            if on_stage is not None:
                on_stage(case.id, stage, event, record.prompt_tokens + record.completion_tokens)

    token = _STAGE_SINK.set(sink)
    try:
        with track_fixture_usage() as used:
            try:
                draft = await draft_fn(case)
            finally:
                keys = set(used)
        if not isinstance(draft, Draft):
            raise TypeError(f"draft function returned {type(draft).__name__}, not Draft")
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, the run goes on
        draft = None
        error = error_info(exc)
        stage = f" in {error.stage}" if error.stage else ""
        log.warning("case %s failed%s: %s: %s", case.id, stage, error.type, error.message[:200])
    finally:
        _STAGE_SINK.reset(token)
    return CaseRow(
        case_id=case.id,
        case_sha256=case_sha256(case),
        status="ok" if error is None else "failed",
        error=error,
        draft=draft,
        timings=Timings(draft_s=round(time.perf_counter() - started, 4)),
        tokens=_tokens(draft) if draft is not None else _spent_tokens(spent),
        fixture_keys=sorted(keys),
    )


def error_info(exc: BaseException) -> CaseError:
    """Type, one-line message and stage (when the error knows it) of an exception."""
    lines = redact(str(exc)).strip().splitlines()  # a server may echo the key in its error
    stage = getattr(exc, "stage", None)
    return CaseError(
        type=type(exc).__name__,
        message=(lines[0] if lines else "")[:500],
        stage=str(stage) if stage else None,
    )


def _tokens(draft: Draft | None) -> TokenCounts:
    if draft is None:
        return TokenCounts()
    prompt = sum(s.prompt_tokens for s in draft.provenance.stages)
    completion = sum(s.completion_tokens for s in draft.provenance.stages)
    return TokenCounts(prompt=prompt, completion=completion, total=prompt + completion)


def _spent_tokens(records: list[StageRecord]) -> TokenCounts:
    prompt = sum(r.prompt_tokens for r in records)
    completion = sum(r.completion_tokens for r in records)
    return TokenCounts(prompt=prompt, completion=completion, total=prompt + completion)


#: Row kind of a case file (or importer record) that did not load.
LOAD_ERROR = "load_error"


def load_error_row(err: CaseFileError) -> CaseRow:
    """A failed row for a case file or record that did not load.

    Its id is ``load-error:<full path>`` (``:<line>`` for an importer record): unique per file,
    and never a real case's id (case ids cannot hold ``:`` or ``/``). It was
    ``load-error-<file stem>``: two bad files of the same name kept one row, and a real case
    with that id was never drafted.
    """
    return CaseRow(
        case_id=f"load-error:{err.path or 'unknown'}",
        kind=LOAD_ERROR,
        status="failed",
        error=CaseError(type=type(err).__name__, message=err.one_line()[:500], stage="load"),
    )


def case_sha256(case: Case) -> str:
    """sha256 of a case's content (input and gold): a resumed run re-drafts a changed case."""
    blob = json.dumps(case.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
