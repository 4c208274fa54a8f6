"""The public drafting API: `draft_report` and its async twin `adraft_report`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from drafting.cases import ReferenceStore, case_from_data, load_case, validation_error_to_input_error
from drafting.chain import ChainState, DraftingChain, ProgressFn
from drafting.errors import CaseFileError, ConfigError
from drafting.injection import draft_flags
from drafting.prompts import STAGES, PromptSpec, load_prompt_set
from drafting.schema import (
    DISCLAIMER,
    REPLY_SALVAGED,
    Case,
    CaseInput,
    Diagnosis,
    DiagnosisOutput,
    Differential,
    Draft,
    FindingsOutput,
    Provenance,
    Rehabilitation,
    RehabilitationOutput,
    Report,
    RetrievedReference,
)

if TYPE_CHECKING:  # pragma: no cover
    from drafting.llm import Endpoint
    from drafting.retrieval import Retriever
    from drafting.retrieval.backends import RetrievalConfig


CaseLike = Case | str | Path | dict[str, Any]


def coerce_case(case: CaseLike) -> Case:
    """Accept a `Case`, a path to a case file, or a dict of case fields.

    Raises:
        CaseFileError: The file or dict is not a valid case.
    """
    if isinstance(case, Case):
        return case
    if isinstance(case, str | Path):
        return load_case(case)
    if isinstance(case, dict):
        return case_from_data(case, path="<dict>")
    raise CaseFileError(f"expected a Case, a path or a dict, got {type(case).__name__}")


def _prompt_set(prompts: dict[str, str] | dict[str, PromptSpec] | None) -> dict[str, PromptSpec]:
    """Every stage's prompt: versions given by name are loaded, given `PromptSpec`s used as they are."""
    given = prompts or {}
    versions = {stage: v for stage, v in given.items() if isinstance(v, str)}
    specs = {stage: v for stage, v in given.items() if isinstance(v, PromptSpec)}
    if not versions and set(STAGES) <= set(specs):
        # Every stage given loaded (a suite run, per case): nothing to load, and finding the
        # defaults on disk cost ~0.4 ms of path resolution per draft. Stage order, as loaded.
        return {**{stage: specs[stage] for stage in STAGES}, **specs}
    return {**load_prompt_set(versions), **specs}


def _retriever(store: ReferenceStore | None, retrieval: Any) -> Any:
    from drafting.retrieval.backends import RetrievalConfig, open_retriever

    if hasattr(retrieval, "search"):  # a built retriever of any backend
        return retrieval
    if store is None:
        from drafting.resources import bundled_path

        store = ReferenceStore.load(bundled_path("reference_cases"))
    if isinstance(retrieval, RetrievalConfig | dict):
        return open_retriever(store, retrieval)
    return open_retriever(store, RetrievalConfig(mode=retrieval or "auto"))


def retrieve(
    case: CaseLike,
    *,
    store: ReferenceStore | None,
    k: int,
    retrieval: Retriever | RetrievalConfig | dict[str, Any] | str | None,
    exclude_ids: Iterable[str] = (),
) -> tuple[Case, list[Case], list[RetrievedReference], str]:
    """The case and its ``k`` most similar reference cases (never its own id or ``exclude_ids``).

    Returns:
        The case, the reference cases (most similar first), the same as provenance records, and
        the retrieval mode used.

    Raises:
        InputError: The case or ``k`` is invalid.
    """
    if k < 0:
        raise ConfigError("k must be 0 or more", field="k")
    the_case = coerce_case(case)
    retriever = _retriever(store, retrieval)
    hits = retriever.search(the_case, k=k, exclude_ids=exclude_ids) if k else []
    references = [retriever.store.get(h.case_id) for h in hits]
    provenance_refs = [
        RetrievedReference(case_id=h.case_id, title=h.title, score=h.score, retrievers=list(h.retrievers))
        for h in hits
    ]
    return the_case, references, provenance_refs, retriever.mode


def prepare(
    case: CaseLike,
    *,
    store: ReferenceStore | None,
    endpoint: Endpoint | None,
    k: int,
    prompts: dict[str, str] | dict[str, PromptSpec] | None,
    retrieval: Retriever | RetrievalConfig | dict[str, Any] | str | None,
    on_progress: ProgressFn | None = None,
    exclude_ids: Iterable[str] = (),
) -> tuple[DraftingChain, ChainState, list[RetrievedReference], str]:
    """Everything before the model calls: case, prompts, endpoint, retrieval.

    Returns:
        The chain, its initial state, the references as provenance, and the retrieval mode used.
    """
    from drafting.llm import resolve_endpoint

    prompt_set = _prompt_set(prompts)
    endpoint = endpoint or resolve_endpoint()
    the_case, references, provenance_refs, mode = retrieve(
        case, store=store, k=k, retrieval=retrieval, exclude_ids=exclude_ids
    )
    chain = DraftingChain(prompt_set, endpoint, on_progress=on_progress)
    return chain, ChainState(case=the_case, references=references), provenance_refs, mode


def assemble_draft(
    chain: DraftingChain, state: ChainState, references: list[RetrievedReference], mode: str
) -> Draft:
    """Build the `Draft` from the chain's outputs; the disclaimer is fixed text added here."""
    from drafting import __version__

    findings = state.outputs["findings"]
    dx = state.outputs["diagnosis"]
    rehab = state.outputs["rehabilitation"]
    assert isinstance(findings, FindingsOutput)
    assert isinstance(dx, DiagnosisOutput)
    assert isinstance(rehab, RehabilitationOutput)
    try:
        report = Report(
            findings="\n".join(findings.findings),
            diagnosis=Diagnosis(
                primary=dx.primary,
                reasoning=dx.reasoning,
                differentials=[Differential(**d.model_dump()) for d in dx.differentials],
            ),
            final_diagnosis=dx.final_diagnosis,
            rehabilitation=Rehabilitation(**rehab.model_dump()),
            disclaimer=DISCLAIMER,
        )
    except ValidationError as exc:  # pragma: no cover - outputs were validated already
        raise validation_error_to_input_error(exc, path=None) from None
    described = chain.endpoint.describe()
    flags = draft_flags(
        case_input_text(state.case.input),
        report_text(report),
        [m.content for spec in chain.prompts.values() for m in spec.messages if m.role == "system"],
    )
    if any(record.salvage_notes for record in state.records):
        flags.append(REPLY_SALVAGED)
    return Draft(
        case_id=state.case.id,
        report=report,
        provenance=Provenance(
            references=references,
            retrieval_mode=mode,
            prompts=[spec.ref() for spec in chain.prompts.values()],
            backend=str(described.get("backend", "")),
            model=str(described.get("model", "")),
            stages=state.records,
            drafting_version=__version__,
            flags=flags,
        ),
    )


def case_input_text(inp: CaseInput) -> str:
    """Every text of a case input (unfenced), for the injection checks."""
    parts = [inp.clinical_history, inp.labs]
    parts += [t for s in inp.imaging for t in (s.modality, s.region, s.description)]
    return "\n".join(p for p in parts if p)


def report_text(report: Report) -> str:
    """Everything the model wrote in a report (not the fixed disclaimer)."""
    texts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(report.model_dump(exclude={"disclaimer"}))
    return "\n".join(t for t in texts if t)


def draft_report(
    case: CaseLike,
    *,
    store: ReferenceStore | None = None,
    endpoint: Endpoint | None = None,
    k: int = 3,
    prompts: dict[str, str] | dict[str, PromptSpec] | None = None,
    retrieval: Retriever | RetrievalConfig | dict[str, Any] | str | None = None,
    on_progress: ProgressFn | None = None,
    exclude_ids: Iterable[str] = (),
) -> Draft:
    """Draft a structured report for one case.

    Args:
        case: A `Case`, a path to a case file, or a dict of case fields. Only its ``input`` reaches
            a prompt; its own gold (if any) is never used.
        store: Reference cases to retrieve from (default: the bundled ``reference_cases/``).
        endpoint: The model endpoint (default: `drafting.llm.resolve_endpoint()`, the embedded
            local model unless the environment configures another).
        k: How many reference cases to ground the draft in.
        prompts: Prompt version per stage (``{"diagnosis": "v2"}``), or loaded `PromptSpec` objects;
            unspecified stages use `drafting.prompts.DEFAULT_VERSIONS`.
        retrieval: A retriever of any backend (`Retriever`, `LanceRetriever`, `LangChainSource`),
            a `RetrievalConfig` or mapping (``{"backend": "lancedb"}``), or a built-in mode
            (``"bm25"``, ``"dense"``, ``"hybrid"``, ``"auto"``).
        on_progress: Called as ``(stage, "start"|"done"|"failed", record)``.
        exclude_ids: Reference case ids never to retrieve for this case, besides its own id
            (e.g. the same patient filed under another id).

    Returns:
        The draft with its provenance.

    Raises:
        InputError: The case, a prompt version or the configuration is invalid.
        EndpointError: The model endpoint failed after retries.
        ReplyParseError: A stage's reply did not parse, even after the repair attempts.
    """
    chain, state, refs, mode = prepare(
        case, store=store, endpoint=endpoint, k=k, prompts=prompts, retrieval=retrieval,
        on_progress=on_progress, exclude_ids=exclude_ids,
    )
    final = chain.as_runnable().invoke(state)
    return assemble_draft(chain, final, refs, mode)


async def adraft_report(
    case: CaseLike,
    *,
    store: ReferenceStore | None = None,
    endpoint: Endpoint | None = None,
    k: int = 3,
    prompts: dict[str, str] | dict[str, PromptSpec] | None = None,
    retrieval: Retriever | RetrievalConfig | dict[str, Any] | str | None = None,
    on_progress: ProgressFn | None = None,
    exclude_ids: Iterable[str] = (),
) -> Draft:
    """Async twin of `draft_report` (same arguments, same result)."""
    # Retrieval is CPU work (query embedding, scoring): off the event loop, so cases overlap.
    chain, state, refs, mode = await asyncio.to_thread(
        prepare,
        case, store=store, endpoint=endpoint, k=k, prompts=prompts, retrieval=retrieval,
        on_progress=on_progress, exclude_ids=exclude_ids,
    )
    final = await chain.as_runnable().ainvoke(state)
    return assemble_draft(chain, final, refs, mode)


def draft_baseline(
    case: CaseLike,
    *,
    store: ReferenceStore | None = None,
    k: int = 3,
    retrieval: Retriever | RetrievalConfig | dict[str, Any] | str | None = None,
    exclude_ids: Iterable[str] = (),
) -> Draft:
    """Draft a report for one case with the retrieval-only baseline (no model; see
    `drafting.baseline`): findings from the case input, diagnosis and differentials from the
    nearest references, the plan of the nearest reference that has one.

    Args:
        case: A `Case`, a path to a case file, or a dict of case fields.
        store: Reference cases to retrieve from (default: the bundled ``reference_cases/``).
        k: How many reference cases to draw on.
        retrieval: A `Retriever`, or a mode (``"bm25"``, ``"dense"``, ``"hybrid"``, ``"auto"``).
        exclude_ids: Reference case ids never to draw on, besides the case's own id.

    Raises:
        InputError: The case or ``k`` is invalid.
    """
    from drafting.baseline import retrieval_draft

    the_case, references, hits, mode = retrieve(
        case, store=store, k=k, retrieval=retrieval, exclude_ids=exclude_ids
    )
    return retrieval_draft(the_case, references, hits, mode)


async def adraft_baseline(
    case: CaseLike,
    *,
    store: ReferenceStore | None = None,
    k: int = 3,
    retrieval: Retriever | RetrievalConfig | dict[str, Any] | str | None = None,
    exclude_ids: Iterable[str] = (),
) -> Draft:
    """Async twin of `draft_baseline`: retrieval runs off the event loop."""
    return await asyncio.to_thread(
        draft_baseline, case, store=store, k=k, retrieval=retrieval, exclude_ids=exclude_ids
    )
