"""Setting a run up from a suite: its endpoints (resolved once), metrics, draft function and
``config.json`` record.

`prepare_run` is the runner's one entry point here; it returns a `RunSetup` holding everything
the run needs, so nothing is resolved twice.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drafting.errors import ConfigError, InputError
from drafting.evaluation.metrics import DEFAULT_METRICS, JUDGE_METRICS, Metric, build_metrics
from drafting.evaluation.records import PromptRecord, RunConfig
from drafting.evaluation.suite import Suite, load_case_source
from drafting.llm import Endpoint, resolve_endpoint
from drafting.prompts import load_prompt_set
from drafting.schema import Case, Draft

log = logging.getLogger(__name__)

DraftFn = Callable[[Case], Awaitable[Draft]]

#: Test and integration hook: ``module:function`` naming an async ``(case) -> Draft`` callable
#: used instead of the real drafter. Recorded in config.json (``draft_fn``) so such a run is never
#: mistaken for a real one. It only names code already importable in the environment.
DRAFT_FN_ENV = "DRAFTING_EVAL_DRAFT_FN"


@dataclass
class RunSetup:
    """What a run of a suite needs, built once.

    Attributes:
        suite: The suite, with overrides applied.
        metrics: The metric objects, in suite order.
        endpoint: The drafter's endpoint (None with a custom draft function).
        judge_endpoint: The judge's endpoint (None without a judge).
        draft_fn: A custom draft function, or None for the real drafter.
        draft_fn_name: ``default``, the hook's ``module:function`` or the function's name.
        corpus: The drafter's reference corpus (loaded once: retrieval, the contamination guard
            and the metrics that check copied text share it).
        exclude: case id -> reference ids its retrieval must not return (set by the
            contamination guard before drafting).
    """

    suite: Suite
    metrics: list[Metric]
    endpoint: Endpoint | None
    judge_endpoint: Endpoint | None
    draft_fn: DraftFn | None
    draft_fn_name: str
    corpus: list[Case] = field(default_factory=list)
    exclude: dict[str, list[str]] = field(default_factory=dict)

    def drafter(self) -> DraftFn:
        """The draft function: the custom one, else the real drafter (built on first call:
        it loads the reference corpus and its retrieval index)."""
        if self.draft_fn is None:
            self.draft_fn = default_draft_fn(
                self.suite, self.endpoint, corpus=self.corpus, exclude=self.exclude
            )
        return self.draft_fn

    def config(self, run_id: str) -> RunConfig:
        """What config.json records: resolved suite, endpoints, prompt versions. No keys."""
        from drafting import __version__

        return RunConfig(
            run_id=run_id,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            suite_file=self.suite.source_path,
            suite=self.suite,
            config_hash=self.suite.config_hash(),
            endpoint=self.endpoint.describe() if self.endpoint is not None else None,
            judge=self.judge_endpoint.describe() if self.judge_endpoint is not None else None,
            prompts={
                stage: PromptRecord(
                    version=spec.version, sha256=spec.sha256, description=spec.description
                )
                for stage, spec in load_prompt_set(
                    self.suite.drafter.prompts, prompts_dir=self.suite.drafter.prompts_dir
                ).items()
            },
            metrics={m.name: m.meta() for m in self.metrics},
            draft_fn=self.draft_fn_name,
            drafting_version=__version__,
            python=sys.version.split()[0],
        )


def prepare_run(
    suite: Suite,
    *,
    draft_fn: DraftFn | None = None,
    metrics: Sequence[Metric] | None = None,
    hook: str = "",
) -> RunSetup:
    """Resolve a suite's endpoints once and build its metrics and draft function.

    Args:
        suite: The suite, overrides applied.
        draft_fn: A custom async draft function (tests, custom chains).
        metrics: Metric objects replacing those the suite names.
        hook: ``module:function`` of a draft function (the `DRAFT_FN_ENV` variable), used when
            ``draft_fn`` is None.

    Raises:
        ConfigError: An unknown metric or parameter, or a hook that does not import.
    """
    draft_fn_name = "default"
    if draft_fn is None and hook:
        draft_fn = import_object(hook)
        draft_fn_name = hook
    elif draft_fn is not None:
        draft_fn_name = _qualname(draft_fn)
    judge = build_endpoint(suite, judge=True) if suite.judge is not None else None
    corpus = suite_corpus(suite, required=draft_fn is None)
    references = {c.id: c for c in corpus}
    return RunSetup(
        suite=suite,
        metrics=list(metrics) if metrics is not None else suite_metrics(suite, judge, references),
        endpoint=build_endpoint(suite) if draft_fn is None else None,
        judge_endpoint=judge,
        draft_fn=draft_fn,
        draft_fn_name=draft_fn_name,
        corpus=corpus,
    )


def load_suite_corpus(s: Suite) -> list[Case]:
    """The drafter's reference corpus (empty when the suite retrieves nothing).

    Raises:
        ConfigError: The corpus cannot be read or holds no case.
    """
    d = s.drafter
    if d.corpus is None or d.k <= 0:
        return []
    try:
        corpus, errors = load_case_source(d.corpus)
    except InputError as exc:
        raise ConfigError(exc.one_line(), path=s.source_path, field="drafter.corpus") from None
    for err in errors:
        log.warning("reference case skipped: %s", err.path)
    if not corpus:
        raise ConfigError("the reference corpus holds no cases", field="drafter.corpus")
    return corpus


def suite_corpus(s: Suite, *, required: bool = True) -> list[Case]:
    """`load_suite_corpus`; when not ``required`` (a run drafting with its own function), an
    empty corpus with a warning when it cannot be loaded."""
    try:
        return load_suite_corpus(s)
    except InputError as exc:
        if required:
            raise
        log.warning("reference corpus not loaded: %s", exc.one_line())
        return []


def suite_metrics(
    s: Suite, judge: Endpoint | None, references: Mapping[str, Case] | None = None
) -> list[Metric]:
    """The suite's metric objects: its list, else the default set (plus the judge metrics when
    the suite configures a judge). ``references`` (the corpus by id) goes to the metrics that
    check drafts for copied reference text.

    Raises:
        ConfigError: An unknown metric or parameter, named with the suite file.
    """
    specs: list[Any] = list(s.metrics)
    if not specs:
        specs = list(DEFAULT_METRICS) + (list(JUDGE_METRICS) if judge is not None else [])
    try:
        return build_metrics(specs, judge_endpoint=judge, references=references)
    except ConfigError as exc:
        raise ConfigError(exc.message, path=s.source_path, field=exc.field or "metrics") from None


def check_suite(s: Suite) -> None:
    """What can be checked before any file is made: endpoints resolve, the corpus exists.

    A bad drafter or judge setting, or a missing corpus, used to surface only once the run
    directory existed (half-made run directories, messages not naming the suite field).

    Raises:
        ConfigError: Naming the suite file and the field.
    """
    for section, judge in (("drafter", False), ("judge", True)):
        try:
            build_endpoint(s, judge=judge)
        except ConfigError as exc:
            field = f"{section}.{exc.field}" if exc.field else section
            raise ConfigError(exc.message, path=s.source_path, field=field) from None
    corpus = s.drafter.corpus
    if corpus is None:
        return
    if corpus.importer:
        from drafting.importers import get_importer

        try:
            get_importer(corpus.importer, corpus.mapping)
        except ConfigError as exc:
            field = "drafter.corpus." + ("mapping" if exc.field == "mapping" else "importer")
            raise ConfigError(exc.message, path=s.source_path, field=field) from None
    where, target = ("dir", corpus.dir) if corpus.dir else ("path", corpus.path)
    if target and not Path(target).exists():
        raise ConfigError(f"no such file or directory: {target}", path=s.source_path,
                          field=f"drafter.corpus.{where}")


def build_endpoint(s: Suite, *, judge: bool = False) -> Endpoint | None:
    """The drafter's (or judge's) endpoint, with the suite's fixture settings."""
    cfg = s.judge if judge else s.drafter
    if cfg is None or (not judge and cfg.backend == "retrieval"):  # the baseline calls no model
        return None
    return resolve_endpoint(
        backend=cfg.backend,
        model=cfg.model,
        base_url=cfg.base_url,
        fixtures=s.fixtures.mode,
        fixtures_dir=s.fixtures.dir,
        label=s.fixtures.label,
        structured_output=cfg.structured_output,
    )


def default_draft_fn(
    s: Suite,
    endpoint: Endpoint | None,
    *,
    corpus: Sequence[Case] = (),
    exclude: Mapping[str, Sequence[str]] | None = None,
) -> DraftFn:
    """A draft function calling `drafting.api.adraft_report` with the suite's drafter settings.

    The reference store and retriever are built once here and shared by every case.

    Args:
        s: The suite.
        endpoint: The drafter's endpoint.
        corpus: The reference corpus when already loaded (default: loaded from the suite).
        exclude: case id -> reference ids never to retrieve for it (the contamination guard's);
            read when each case is drafted.
    """
    exclude = exclude if exclude is not None else {}
    from drafting.api import adraft_report
    from drafting.cases import ReferenceStore
    from drafting.retrieval.backends import RetrievalConfig, open_retriever

    store = None
    retriever: Any = None
    drafter = s.drafter
    if drafter.corpus is not None and drafter.k > 0:
        store = ReferenceStore(list(corpus) or load_suite_corpus(s))
        retriever = open_retriever(
            store, drafter.retrieval or RetrievalConfig(mode=drafter.retrieval_mode)
        )
    prompts = load_prompt_set(drafter.prompts, prompts_dir=drafter.prompts_dir)

    if drafter.backend == "retrieval":
        from drafting.api import adraft_baseline

        async def draft_baseline(case: Case) -> Draft:
            return await adraft_baseline(
                case, store=store, k=drafter.k, retrieval=retriever,
                exclude_ids=exclude.get(case.id, ()),
            )

        return draft_baseline

    async def draft(case: Case) -> Draft:
        from drafting.evaluation.case_rows import report_stage

        return await adraft_report(
            case, store=store, endpoint=endpoint, k=drafter.k, prompts=prompts,
            retrieval=retriever, on_progress=report_stage, exclude_ids=exclude.get(case.id, ()),
        )

    return draft


def import_object(spec: str) -> Any:
    """Import ``module:attribute``.

    Raises:
        ConfigError: Malformed, or the module or attribute does not exist.
    """
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ConfigError(f"expected module:function, got '{spec}'", field=DRAFT_FN_ENV)
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot import '{spec}' ({exc})", field=DRAFT_FN_ENV) from None
    return obj


def _qualname(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', type(fn).__name__)}"
