"""The suite runner: draft every case with bounded concurrency, score it, append its row.

Design: each case is drafted and then scored at once, and its single row (draft, metrics,
timings, tokens, fixture keys) is appended to ``results.jsonl`` before the next is reported. One
row per case keeps resume trivial (a case is done when its row exists) and a killed run never
leaves a drafted-but-unscored case behind. Scoring runs in one dedicated worker thread: it keeps
CPU-bound and embedding metrics off the event loop (drafting goes on meanwhile) and it scores
cases one at a time, so metric code need not be thread-safe. Batched embedding scoring
(`score_drafts`) is left to benchmarks; per-case scoring with a warm model costs a few ms.

The summary is computed from ``results.jsonl`` sorted by case id, so the order in which cases
finish, and whether the run was resumed, do not change it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from drafting.errors import CaseFileError, ConfigError, InputError
from drafting.evaluation import rundir
from drafting.evaluation.progress import Progress
from drafting.evaluation.rundir import Run, load_run
from drafting.evaluation.suite import Suite, apply_overrides, load_case_source, load_suite
from drafting.evaluation.wiring import (
    DRAFT_FN_ENV,
    DraftFn,
    build_default_draft_fn,
    build_suite_metrics,
    import_object,
    metric_meta,
    run_config,
)
from drafting.schema import Case, Draft

log = logging.getLogger(__name__)



def run_suite(
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
    metrics: Sequence[Any] | None = None,
    progress: bool = False,
) -> Run:
    """Run a suite and return the loaded run (see `arun_suite`; this one calls `asyncio.run`).

    Raises:
        RunInterrupted: Ctrl-C after the run directory was created (it says where; the run
            resumes with ``resume=run_dir``).
    """
    opened: list[Path] = []
    try:
        return asyncio.run(
            arun_suite(
                suite, fixtures=fixtures, cases=cases, prompts=prompts, model=model,
                concurrency=concurrency, resume=resume, out=out, draft_fn=draft_fn,
                metrics=metrics, progress=progress, on_run_dir=opened.append,
            )
        )
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
    metrics: Sequence[Any] | None = None,
    progress: bool = False,
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
        progress: Show a progress bar on stderr (only when stderr is a terminal).
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
    metric_objs = list(metrics) if metrics is not None else build_suite_metrics(s)
    meta = {m.name: metric_meta(m) for m in metric_objs}

    try:
        loaded, load_errors = load_case_source(s.cases)
    except InputError as exc:  # the case source as a whole: name the suite file and field
        raise ConfigError(exc.one_line(), path=s.source_path, field="cases") from None
    hook = os.environ.get(DRAFT_FN_ENV, "").strip()
    if draft_fn is None and hook:
        draft_fn = import_object(hook)
    draft_fn_name = "default" if draft_fn is None else (hook or _qualname(draft_fn))

    run_dir, done = _open_run_dir(s, resume=resume, out=out, meta=meta, draft_fn_name=draft_fn_name)
    if on_run_dir is not None:
        on_run_dir(run_dir)
    rows_path = run_dir / rundir.RESULTS
    writer = rundir.ResultsWriter(rows_path)
    bar = Progress(enabled=progress, total=len(loaded) + len(load_errors))
    try:
        for err in load_errors:
            row = load_error_row(err)
            if row["case_id"] not in done:
                writer.write(row)
                done.add(row["case_id"])
            bar.update(row)
        pending = [c for c in loaded if c.id not in done]
        bar.skip(len(loaded) - len(pending))
        if pending:
            if draft_fn is None:
                draft_fn = build_default_draft_fn(s)
            with _frozen_heap():
                await _draft_all(pending, draft_fn, metric_objs, writer, bar, concurrency)
    finally:
        writer.close()
        bar.close()
    return finish_run(run_dir, meta, cases={c.id: c for c in loaded})


def finish_run(
    run_dir: Path,
    meta: dict[str, dict[str, Any]] | None = None,
    *,
    cases: dict[str, Case] | None = None,
) -> Run:
    """Write summary.json, report.html and fixtures_used.txt from results.jsonl; load the run.

    Args:
        run_dir: The run directory.
        meta: Metric metadata (default: from config.json).
        cases: The suite's cases by id, for the report's input and gold columns (default:
            loaded again from the suite's case source).
    """
    run = load_run(run_dir)
    from drafting.evaluation.stats import summarise_rows

    summary = summarise_rows(run.results, meta if meta is not None else run.metric_meta())
    summary["run_id"] = run.id
    summary["suite"] = run.suite_name
    summary["config_hash"] = run.config.get("config_hash", "")
    summary["thresholds"] = (run.config.get("suite") or {}).get("thresholds", {})
    rundir.write_json(run_dir / rundir.SUMMARY, summary)
    keys = sorted({k for r in run.results for k in r.get("fixture_keys") or []})
    if keys:
        (run_dir / rundir.FIXTURES_USED).write_text("\n".join(keys) + "\n", encoding="utf-8")
    run.summary = summary
    from drafting.evaluation.report_html import write_report

    write_report(run, run_dir / rundir.REPORT, cases=cases)
    return run


# --- run directory -------------------------------------------------------------------------------


def _open_run_dir(
    s: Suite,
    *,
    resume: str | Path | None,
    out: str | Path | None,
    meta: dict[str, Any],
    draft_fn_name: str,
) -> tuple[Path, set[str]]:
    if resume is not None:
        run_dir = Path(resume)
        cfg_path = run_dir / rundir.CONFIG
        if not cfg_path.exists():
            raise ConfigError("not a run directory (no config.json)", path=run_dir, field="--resume")
        cfg = rundir.read_json(cfg_path)
        if cfg.get("config_hash") != s.config_hash():
            raise ConfigError(
                "the suite and options differ from those the run was started with; "
                "resume with the same suite file and options",
                path=run_dir,
                field="--resume",
            )
        rundir.truncate_partial_line(run_dir / rundir.RESULTS)
        done = {str(r["case_id"]) for r in rundir.read_results(run_dir / rundir.RESULTS)}
        return run_dir, done
    root = Path(out) if out is not None else Path(s.base_dir or Path.cwd()) / "eval" / "runs"
    run_dir = rundir.create_run_dir(root, rundir.make_run_id(s.name, s.config_hash()))
    rundir.write_json(run_dir / rundir.CONFIG, run_config(s, meta, run_dir.name, draft_fn_name))
    return run_dir, set()


# --- drafting and scoring ------------------------------------------------------------------------


@contextlib.contextmanager
def _frozen_heap() -> Any:
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
    draft_fn: DraftFn,
    metric_objs: list[Any],
    writer: rundir.ResultsWriter,
    bar: Progress,
    concurrency: int,
) -> None:
    sem = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="drafting-score") as pool:

        async def one(case: Case) -> None:
            async with sem:
                row = await _draft_case(case, draft_fn)
            if row["status"] == "ok":
                draft = Draft.model_validate(row["draft"])
                row["metrics"], score_s = await loop.run_in_executor(
                    pool, _timed_score, draft, case, metric_objs
                )
                row["timings"]["score_s"] = score_s
            writer.write(row)
            bar.update(row)

        await asyncio.gather(*(one(c) for c in cases))


async def _draft_case(case: Case, draft_fn: DraftFn) -> dict[str, Any]:
    """Draft one case; any error becomes a failed row (the run goes on)."""
    keys: set[str] = set()
    t0 = time.perf_counter()
    draft: Draft | None = None
    error: dict[str, Any] | None = None
    try:
        async with _track_fixtures() as used:
            try:
                draft = await draft_fn(case)
            finally:
                keys = set(used)
        if not isinstance(draft, Draft):
            raise TypeError(f"draft function returned {type(draft).__name__}, not Draft")
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, the run goes on
        error = error_info(exc)
        log.warning("case %s failed: %s", case.id, error["type"])
    elapsed = round(time.perf_counter() - t0, 4)
    return {
        "case_id": case.id,
        "status": "ok" if error is None else "failed",
        "error": error,
        "draft": draft.model_dump(mode="json") if draft is not None else None,
        "metrics": [],
        "timings": {"draft_s": elapsed, "score_s": 0.0},
        "tokens": _tokens(draft),
        "fixture_keys": sorted(keys),
    }


@contextlib.asynccontextmanager
async def _track_fixtures() -> Any:
    """`drafting.llm.track_fixture_usage()` when it exists, else an empty set."""
    try:
        from drafting.llm import track_fixture_usage  # type: ignore[attr-defined]
    except ImportError:
        yield set()
        return
    cm = track_fixture_usage()
    if hasattr(cm, "__aenter__"):
        async with cm as used:
            yield used
    else:
        with cm as used:
            yield used


def error_info(exc: BaseException) -> dict[str, Any]:
    """type, one-line message and stage (when the error knows it) of an exception."""
    lines = str(exc).strip().splitlines()
    message = (lines[0] if lines else "")[:500]
    info: dict[str, Any] = {"type": type(exc).__name__, "message": message}
    if getattr(exc, "stage", None):
        info["stage"] = exc.stage  # type: ignore[attr-defined]
    return info


def _tokens(draft: Draft | None) -> dict[str, int]:
    if draft is None:
        return {"prompt": 0, "completion": 0, "total": 0}
    p = sum(s.prompt_tokens for s in draft.provenance.stages)
    c = sum(s.completion_tokens for s in draft.provenance.stages)
    return {"prompt": p, "completion": c, "total": p + c}


def load_error_row(err: CaseFileError) -> dict[str, Any]:
    """A failed row for a case file or record that did not load."""
    raw = err.path or "unknown"
    name, _, line = raw.rpartition(":") if raw.rsplit(":", 1)[-1].isdigit() else (raw, "", "")
    stem = Path(name).stem or "case"
    case_id = f"{stem}-line{line}" if line else stem
    case_id = rundir._SAFE.sub("-", case_id).strip(".-") or "case"
    return {
        "case_id": f"load-error-{case_id}",
        "status": "failed",
        "error": {"type": type(err).__name__, "message": err.one_line()[:500], "stage": "load"},
        "draft": None,
        "metrics": [],
        "timings": {"draft_s": 0.0, "score_s": 0.0},
        "tokens": {"prompt": 0, "completion": 0, "total": 0},
        "fixture_keys": [],
    }


def _timed_score(
    draft: Draft, case: Case, metric_objs: Sequence[Any]
) -> tuple[list[dict[str, Any]], float]:
    # Timed inside the worker so that time spent queued behind other cases is not counted.
    t0 = time.perf_counter()
    results = score_case(draft, case, metric_objs)
    return results, round(time.perf_counter() - t0, 4)


def score_case(draft: Draft, case: Case, metric_objs: Sequence[Any]) -> list[dict[str, Any]]:
    """Score one draft against its gold case; MetricResults as plain dicts, in metric order."""
    if not metric_objs:
        return []
    try:
        from drafting.evaluation.scoring import score_draft
    except ImportError:
        score_draft = None
    if score_draft is not None:
        try:
            results = score_draft(draft, case, list(metric_objs))
        except Exception as exc:  # noqa: BLE001 - a scoring crash must not lose the draft
            info = error_info(exc)
            return [
                {"name": m.name, "value": None, "status": "failed",
                 "reason": f"{info['type']}: {info['message']}", "details": {}}
                for m in metric_objs
            ]
        return [result_dict(r) for r in results]
    return [_score_one(m, draft, case) for m in metric_objs]


def _score_one(metric: Any, draft: Draft, case: Case) -> dict[str, Any]:
    try:
        return result_dict(metric.score(draft, case))
    except Exception as exc:  # noqa: BLE001
        info = error_info(exc)
        return {"name": metric.name, "value": None, "status": "failed",
                "reason": f"{info['type']}: {info['message']}", "details": {}}


def result_dict(result: Any) -> dict[str, Any]:
    """A MetricResult (pydantic model, dataclass or mapping) as a JSON-ready dict."""
    if hasattr(result, "model_dump"):
        d = result.model_dump(mode="json")
    elif is_dataclass(result):
        d = asdict(result)  # type: ignore[arg-type]
    else:
        d = dict(result)
    value = d.get("value")
    if isinstance(value, float):
        d["value"] = round(value, 10)  # stable across platforms' float printing
    d.setdefault("reason", "")
    d.setdefault("details", {})
    return d


def _qualname(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', type(fn).__name__)}"
