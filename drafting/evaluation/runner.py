"""The suite runner: draft every case with bounded concurrency, score it, append its row.

Design: each case is drafted and then scored at once, and its single `CaseRow` (draft, metrics,
timings, tokens, fixture keys) is appended to ``results.jsonl`` before the next is reported. One
row per case keeps resume trivial (a case is done when its row exists) and a killed run never
leaves a drafted-but-unscored case behind. Drafting runs on the caller's event loop; scoring runs
on one `ScoringWorker` (a thread with its own loop): CPU-bound and embedding metrics stay off the
drafting loop, and cases are scored one at a time, so metric code need not be thread-safe.

The summary is computed from ``results.jsonl`` sorted by case id, so the order in which cases
finish, and whether the run was resumed, do not change it.

Layout: `drafting.evaluation.setup` resolves the suite into endpoints, metrics and a draft
function (once); `drafting.evaluation.case_rows` drafts one case into a row;
`drafting.evaluation.scoring` scores it; `drafting.evaluation.rundir` writes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol, TypedDict, Unpack

from drafting.errors import CaseFileError, ConfigError, InputError, StorageError
from drafting.evaluation import rundir
from drafting.evaluation.case_rows import LOAD_ERROR, case_sha256, draft_case, load_error_row
from drafting.evaluation.contamination import contamination_notes, guard_run
from drafting.evaluation.metrics import Metric
from drafting.evaluation.records import CaseRow, JudgeAgreement, RunConfig, RunNote
from drafting.evaluation.rundir import Run, load_run
from drafting.evaluation.scoring import ScoringWorker
from drafting.evaluation.setup import DRAFT_FN_ENV, DraftFn, RunSetup, check_suite, prepare_run
from drafting.evaluation.suite import Suite, apply_overrides, load_case_source, load_suite
from drafting.schema import Case


class RunObserver(Protocol):
    """Told about a run's progress (the CLI's progress bar is one). Every method is optional
    in spirit: implement them as no-ops when not needed."""

    def start(self, total: int) -> None:
        """The run has ``total`` cases (including those already done)."""

    def case_done(self, row: CaseRow) -> None:
        """A case finished (its row is written)."""

    def stage_done(self, case_id: str, stage: str, event: str, tokens: int) -> None:
        """A stage of a case ended (event "done" or "failed") having spent ``tokens``. Optional:
        observers without it are told about whole cases only."""

    def skipped(self, n: int) -> None:
        """``n`` cases were already done (a resumed run)."""

    def close(self) -> None:
        """The run ended (also on error)."""


class RunOptions(TypedDict, total=False):
    """What `run_suite` passes on to `arun_suite` besides the suite (see its Args)."""

    fixtures: str | None
    cases: str | Path | None
    prompts: dict[str, str] | None
    model: str | None
    concurrency: int
    resume: str | Path | None
    out: str | Path | None
    draft_fn: DraftFn | None
    metrics: Sequence[Metric] | None
    observer: RunObserver | None


def run_suite(suite: str | Path | Suite, **options: Unpack[RunOptions]) -> Run:
    """Run a suite and return the loaded run: `arun_suite` (the same arguments but
    ``on_run_dir``) under ``asyncio.run``.

    Raises:
        RunInterrupted: Ctrl-C after the run directory was created (it says where; the run
            resumes with ``resume=run_dir``).
    """
    opened: list[Path] = []
    try:
        return asyncio.run(arun_suite(suite, **options, on_run_dir=opened.append))
    except KeyboardInterrupt:
        if opened:
            raise RunInterrupted(opened[0]) from None
        raise


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; ``run_dir`` holds the partial run (resume it with ``resume=``)."""

    def __init__(self, run_dir: Path):
        super().__init__(str(run_dir))
        self.run_dir = run_dir


async def arun_suite(
    suite: str | Path | Suite,
    *,
    fixtures: str | None = None,
    cases: str | Path | None = None,
    prompts: dict[str, str] | None = None,
    model: str | None = None,
    concurrency: int = 4,
    resume: str | Path | None = None,
    out: str | Path | None = None,
    draft_fn: DraftFn | None = None,
    metrics: Sequence[Metric] | None = None,
    observer: RunObserver | None = None,
    on_run_dir: Callable[[Path], None] | None = None,
) -> Run:
    """Draft and score every case of a suite into a run directory.

    Args:
        suite: A suite file or a loaded `Suite`.
        fixtures: Fixture mode override (live, record, replay, auto).
        cases: A directory or file of cases replacing the suite's cases.
        prompts: stage -> version overrides.
        model: Drafter model override.
        concurrency: Cases drafted at once.
        resume: An existing run directory: cases already in its results.jsonl are skipped. The
            suite (with overrides) must resolve to the same configuration.
        out: Directory under which the run directory is created (default: ``eval/runs`` under
            the suite's repository root).
        draft_fn: Async ``(case) -> Draft`` replacing the real drafter (tests, custom chains).
        metrics: Metric objects replacing those the suite names.
        observer: Told about progress (e.g. the command line's progress bar).
        on_run_dir: Called with the run directory once it exists (to say where a run that is
            interrupted stands).

    Returns:
        The run, loaded back from its directory.

    Raises:
        ConfigError: A bad suite, override or resume directory.
    """
    if concurrency < 1:
        raise ConfigError("concurrency must be at least 1", field="--concurrency")
    s = suite if isinstance(suite, Suite) else load_suite(suite)
    s = apply_overrides(s, fixtures=fixtures, cases=cases, prompts=prompts, model=model)
    check_suite(s)  # before anything is created: a bad setting leaves no half-made run
    setup = prepare_run(
        s, draft_fn=draft_fn, metrics=metrics, hook=os.environ.get(DRAFT_FN_ENV, "").strip()
    )
    try:
        loaded, load_errors = load_case_source(s.cases)
    except InputError as exc:  # the case source as a whole: name the suite file and field
        raise ConfigError(exc.one_line(), path=s.source_path, field="cases") from None

    run_dir, done, lock = _open_run_dir(setup, resume=resume, out=out, cases=loaded)
    if on_run_dir is not None:
        on_run_dir(run_dir)
    try:
        with _storage_errors(run_dir):
            # The contamination guard, before any drafting: near-duplicate references are
            # reported and (by default) excluded from that case's retrieval.
            setup.exclude = guard_run(run_dir, loaded, setup.corpus, s.drafter.contamination)
            await _fill_run(run_dir, done, setup, loaded, load_errors, observer, concurrency)
            return finish_run(
                run_dir, cases={c.id: c for c in loaded}, notes=contamination_notes(run_dir)
            )
    finally:
        lock.release()


async def _fill_run(
    run_dir: Path,
    done: set[str],
    setup: RunSetup,
    loaded: list[Case],
    load_errors: list[CaseFileError],
    observer: RunObserver | None,
    concurrency: int,
) -> None:
    """Write a row for every case (and unreadable file) not done yet."""
    writer = rundir.ResultsWriter(run_dir / rundir.RESULTS)
    if observer is not None:
        observer.start(len(loaded) + len(load_errors))
    try:
        for err in load_errors:
            row = load_error_row(err)
            if row.case_id not in done:
                writer.write(row)
                done.add(row.case_id)
            if observer is not None:
                observer.case_done(row)
        pending = [c for c in loaded if c.id not in done]
        if observer is not None:
            observer.skipped(len(loaded) - len(pending))
        if pending:
            with _frozen_heap():
                await _draft_all(pending, setup, writer, observer, concurrency)
    finally:
        with contextlib.suppress(OSError):
            writer.close()
        if observer is not None:
            observer.close()



@contextlib.contextmanager
def _storage_errors(run_dir: Path) -> Iterator[None]:
    """A failed write to the run directory (a full disk) as one `StorageError` line."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            exc.filename = str(run_dir)
        raise StorageError.from_os_error(
            exc, hint=f"free space, then continue with --resume {run_dir}"
        ) from None


def flagged_cases(rows: Sequence[CaseRow]) -> dict[str, list[str]]:
    """case id -> the review flags of its draft (e.g. ``case_text_instructions``), flagged only.

    A drafted case whose text reads like instructions to the model, or whose draft echoes the
    prompt, is "ok" as a draft but must not pass unnoticed: the summary, the CLI and the report
    show these flags (see `drafting.injection`).
    """
    return {
        row.case_id: list(row.draft.provenance.flags)
        for row in sorted(rows, key=lambda r: r.case_id)
        if row.draft is not None and row.draft.provenance.flags
    }


def judge_agreement(rows: Sequence[CaseRow]) -> JudgeAgreement | None:
    """The LLM judge's agreement with the diagnosis matcher over a run's rows (see
    `drafting.evaluation.metrics.judge_diagnosis.agreement`); None when no row has a
    ``judge.diagnosis_equivalence`` result."""
    from drafting.evaluation.metrics.judge_diagnosis import JudgeDiagnosisEquivalence, agreement

    name = JudgeDiagnosisEquivalence.name
    results = [r for row in rows for r in row.metrics if r.name == name]
    return JudgeAgreement(**agreement(results)) if results else None


def finish_run(
    run_dir: Path, *, cases: dict[str, Case] | None = None, notes: Sequence[RunNote] = ()
) -> Run:
    """Write summary.json, report.html and fixtures_used.txt from results.jsonl; load the run.

    Args:
        run_dir: The run directory.
        cases: The suite's cases by id, for the report's input and gold columns (default:
            loaded again from the suite's case source).
        notes: Run-level notes for summary.json and report.html (e.g. a contamination report).
    """
    from drafting.evaluation.metrics.structure import form_defect_notes
    from drafting.evaluation.report_html import write_report
    from drafting.evaluation.stats import summarise_rows

    run = load_run(run_dir)
    summary = summarise_rows(run.results, run.metric_meta())
    summary.run_id = run.id
    summary.suite = run.suite_name
    if run.config is not None:
        summary.config_hash = run.config.config_hash
        summary.thresholds = dict(run.config.suite.thresholds)
    summary.notes = [*notes, *form_defect_notes(run.results)]
    summary.flagged = flagged_cases(run.results)
    summary.load_errors = sum(1 for row in run.results if row.kind == LOAD_ERROR)
    if run.config is not None and run.config.judge:  # the judge's verdicts exist only with an endpoint
        summary.judge_agreement = judge_agreement(run.results)
    if summary.judge_agreement is not None:  # for people: the CLI and report.html show the notes
        summary.notes.append(
            RunNote(kind="judge_agreement", message=summary.judge_agreement.message())
        )
    rundir.write_record(run_dir / rundir.SUMMARY, summary)
    keys = sorted({key for row in run.results for key in row.fixture_keys})
    if keys:
        (run_dir / rundir.FIXTURES_USED).write_text("\n".join(keys) + "\n", encoding="utf-8")
    run.summary = summary
    write_report(run, run_dir / rundir.REPORT, cases=cases)
    return run


# --- run directory -------------------------------------------------------------------------------


def _open_run_dir(
    setup: RunSetup, *, resume: str | Path | None, out: str | Path | None, cases: list[Case]
) -> tuple[Path, set[str], rundir.RunDirLock]:
    """The run directory (new, or the one resumed), locked, and the case ids already done."""
    s = setup.suite
    if resume is not None:
        run_dir = Path(resume)
        cfg_path = run_dir / rundir.CONFIG
        if not cfg_path.exists():
            raise ConfigError("not a run directory (no config.json)", path=run_dir, field="--resume")
        lock = rundir.RunDirLock(run_dir).acquire()
        try:
            return run_dir, _resumable_rows(run_dir, cfg_path, s, cases), lock
        except BaseException:
            lock.release()
            raise
    root = Path(out) if out is not None else Path(s.base_dir or Path.cwd()) / "eval" / "runs"
    run_dir = rundir.create_run_dir(root, rundir.make_run_id(s.name, s.config_hash()))
    lock = rundir.RunDirLock(run_dir).acquire()  # before config.json: no resumer can get in
    try:
        with _storage_errors(run_dir):
            rundir.write_record(run_dir / rundir.CONFIG, setup.config(run_dir.name))
    except BaseException:
        lock.release()
        raise
    return run_dir, set(), lock


def _resumable_rows(run_dir: Path, cfg_path: Path, s: Suite, cases: list[Case]) -> set[str]:
    """Check the suite matches the run's, keep only the rows still valid; the case ids done.

    Kept: rows of drafted ("ok") cases that still exist with the same content. Dropped, so
    that this run writes them again: rows of cases since deleted (they were still counted),
    of cases since edited (a stale result), failed rows (retried), and load errors (the files
    are read again).
    """
    recorded = rundir.read_record(cfg_path, RunConfig, what="config")
    if recorded.config_hash != s.config_hash():
        raise ConfigError(
            "the suite and options differ from those the run was started with; "
            "resume with the same suite file and options",
            path=run_dir,
            field="--resume",
        )
    rows_path = run_dir / rundir.RESULTS
    rundir.truncate_partial_line(rows_path)
    current = {c.id: case_sha256(c) for c in cases}
    rows = rundir.read_results(rows_path)
    keep = [
        row for row in rows
        if row.kind != LOAD_ERROR and row.status == "ok" and row.case_id in current
        and (row.case_sha256 or current[row.case_id]) == current[row.case_id]
    ]
    if len(keep) != len(rows):
        with _storage_errors(run_dir):
            rundir.rewrite_results(rows_path, keep)
    return {row.case_id for row in keep}


# --- drafting and scoring ------------------------------------------------------------------------


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Exempt the objects alive before the cases are drafted from garbage collection meanwhile.

    They are the imported libraries and loaded data (~275k objects), and they outlive the run;
    without this each full collection during the run rescanned them all (~0.15 s a time on two
    cores). Unfrozen afterwards, so anything among them that became garbage is collected later.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def _draft_all(
    cases: list[Case],
    setup: RunSetup,
    writer: rundir.ResultsWriter,
    observer: RunObserver | None,
    concurrency: int,
) -> None:
    from drafting.llm.pool import connection_pool

    draft_fn = setup.drafter()
    limit = asyncio.Semaphore(concurrency)
    on_stage = getattr(observer, "stage_done", None)
    with ScoringWorker(setup.metrics) as scorer:

        async def one(case: Case) -> None:
            async with limit:
                row = await draft_case(case, draft_fn, on_stage=on_stage)
            if row.draft is not None:
                row.metrics, row.timings.score_s = await scorer.score(row.draft, case)
            writer.write(row)
            if observer is not None:
                observer.case_done(row)

        # one aiohttp pool for the run's concurrent calls, closed on this loop (drafting.llm.pool)
        async with connection_pool():
            await asyncio.gather(*(one(c) for c in cases))
