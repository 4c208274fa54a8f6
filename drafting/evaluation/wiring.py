"""Wiring a suite to code: its endpoints, its draft function and its metric objects."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from drafting.errors import ConfigError
from drafting.evaluation.suite import Suite, load_case_source
from drafting.schema import Case, Draft

log = logging.getLogger(__name__)

DraftFn = Callable[[Case], Awaitable[Draft]]

#: Test and integration hook: ``module:function`` naming an async ``(case) -> Draft`` callable
#: used instead of the real drafter. Recorded in config.json (``draft_fn``) so such a run is never
#: mistaken for a real one. It only names code already importable in the environment.
DRAFT_FN_ENV = "DRAFTING_EVAL_DRAFT_FN"


def metric_meta(metric: Any) -> dict[str, Any]:
    """section, kind and higher_is_better of a metric object."""
    return {
        "section": getattr(metric, "section", "") or "other",
        "kind": getattr(metric, "kind", "") or "",
        "higher_is_better": bool(getattr(metric, "higher_is_better", True)),
        "params": metric.params() if callable(getattr(metric, "params", None)) else {},
    }


def build_suite_metrics(s: Suite) -> list[Any]:
    """The suite's metric objects: its list, else the default set (plus the judge metrics when
    the suite configures a judge).

    Raises:
        ConfigError: An unknown metric or parameter, named with the suite file.
    """
    from drafting.evaluation.metrics import DEFAULT_METRICS, JUDGE_METRICS, build_metrics

    specs: list[Any] = list(s.metrics)
    if not specs:
        specs = list(DEFAULT_METRICS) + (list(JUDGE_METRICS) if s.judge is not None else [])
    judge = build_endpoint(s, judge=True) if s.judge is not None else None
    try:
        return list(build_metrics(specs, judge_endpoint=judge))
    except ConfigError as exc:
        raise ConfigError(exc.message, path=s.source_path, field=exc.field or "metrics") from None


def build_endpoint(s: Suite, *, judge: bool = False) -> Any:
    """The drafter's (or judge's) endpoint, with the suite's fixture settings."""
    from drafting.llm import resolve_endpoint

    cfg = s.judge if judge else s.drafter
    if cfg is None:
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


def build_default_draft_fn(s: Suite) -> DraftFn:
    """A draft function calling `drafting.api.adraft_report` with the suite's drafter settings.

    The endpoint, reference store and retriever are built once here and shared by every case.
    """
    from drafting.api import adraft_report  # type: ignore[import-not-found]
    from drafting.cases import ReferenceStore

    endpoint = build_endpoint(s)
    store = None
    retriever: Any = None
    d = s.drafter
    if d.corpus is not None and d.k > 0:
        corpus, errors = load_case_source(d.corpus)
        for err in errors:
            log.warning("reference case skipped: %s", err.path)
        if not corpus:
            raise ConfigError("the reference corpus holds no cases", field="drafter.corpus")
        store = ReferenceStore(corpus)
        from drafting.retrieval import Retriever  # type: ignore[import-not-found]

        retriever = Retriever.from_store(store, mode=d.retrieval_mode)
    from drafting.prompts import load_prompt_set

    prompts = load_prompt_set(d.prompts, prompts_dir=d.prompts_dir)

    async def draft(case: Case) -> Draft:
        return await adraft_report(
            case, store=store, endpoint=endpoint, k=d.k, prompts=prompts, retrieval=retriever
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


def run_config(s: Suite, meta: dict[str, Any], run_id: str, draft_fn_name: str) -> dict[str, Any]:
    """What config.json records: the resolved suite, endpoint, prompt versions, versions. No keys."""
    from drafting import __version__

    endpoint: dict[str, Any] | None = None
    judge: dict[str, Any] | None = None
    if draft_fn_name == "default":
        endpoint = _describe(build_endpoint(s))
    if s.judge is not None:
        judge = _describe(build_endpoint(s, judge=True))
    return {
        "run_id": run_id,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "suite_file": s.source_path,
        "suite": s.resolved(),
        "config_hash": s.config_hash(),
        "endpoint": endpoint,
        "judge": judge,
        "prompts": _prompt_versions(s.drafter.prompts, s.drafter.prompts_dir),
        "metrics": meta,
        "draft_fn": draft_fn_name,
        "drafting_version": __version__,
        "python": sys.version.split()[0],
    }


def _describe(endpoint: Any) -> dict[str, Any] | None:
    return endpoint.describe() if endpoint is not None else None


def _prompt_versions(versions: dict[str, str], prompts_dir: str | None = None) -> dict[str, Any]:
    try:
        from drafting.prompts import load_prompt_set
    except ImportError:  # pragma: no cover - until the prompt registry exists
        return {k: {"version": v} for k, v in versions.items()}
    return {
        stage: {"version": spec.version, "sha256": spec.sha256}
        for stage, spec in load_prompt_set(versions, prompts_dir=prompts_dir).items()
    }
