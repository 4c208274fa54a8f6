"""The public drafting API: `draft_report` and its async twin `adraft_report`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from drafting.cases import ReferenceStore, case_from_data, load_case, validation_error_to_input_error
from drafting.chain import ChainState, DraftingChain, ProgressFn
from drafting.errors import CaseFileError, ConfigError
from drafting.prompts import PromptSpec, load_prompt_set
from drafting.schema import (
    DISCLAIMER,
    Case,
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
    if prompts and all(isinstance(v, PromptSpec) for v in prompts.values()):
        full = load_prompt_set()
        full.update(prompts)  # type: ignore[arg-type]
        return full
    return load_prompt_set(prompts)  # type: ignore[arg-type]


def _retriever(store: ReferenceStore | None, retrieval: Retriever | str | None) -> Retriever:
    from drafting.retrieval import Retriever

    if isinstance(retrieval, Retriever):
        return retrieval
    if store is None:
        from drafting.resources import bundled_path

        store = ReferenceStore.load(bundled_path("reference_cases"))
    return Retriever.from_store(store, mode=retrieval or "auto")


def prepare(
    case: CaseLike,
    *,
    store: ReferenceStore | None,
    endpoint: Endpoint | None,
    k: int,
    prompts: dict[str, str] | dict[str, PromptSpec] | None,
    retrieval: Retriever | str | None,
    on_progress: ProgressFn | None = None,
) -> tuple[DraftingChain, ChainState, list[RetrievedReference], str]:
    """Everything before the model calls: case, prompts, endpoint, retrieval.

    Returns:
        The chain, its initial state, the references as provenance, and the retrieval mode used.
    """
    from drafting.llm import resolve_endpoint

    if k < 0:
        raise ConfigError("k must be 0 or more", field="k")
    the_case = coerce_case(case)
    prompt_set = _prompt_set(prompts)
    endpoint = endpoint or resolve_endpoint()
    retriever = _retriever(store, retrieval)
    hits = retriever.search(the_case, k=k) if k else []
    ref_store = retriever.store
    references = [ref_store.get(h.case_id) for h in hits]
    provenance_refs = [
        RetrievedReference(case_id=h.case_id, title=h.title, score=h.score, retrievers=list(h.retrievers))
        for h in hits
    ]
    chain = DraftingChain(prompt_set, endpoint, on_progress=on_progress)
    return chain, ChainState(case=the_case, references=references), provenance_refs, retriever.mode


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
        ),
    )


def draft_report(
    case: CaseLike,
    *,
    store: ReferenceStore | None = None,
    endpoint: Endpoint | None = None,
    k: int = 3,
    prompts: dict[str, str] | dict[str, PromptSpec] | None = None,
    retrieval: Retriever | str | None = None,
    on_progress: ProgressFn | None = None,
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
            unspecified stages use ``v1``.
        retrieval: A `Retriever`, or a mode (``"bm25"``, ``"dense"``, ``"hybrid"``, ``"auto"``).
        on_progress: Called as ``(stage, "start"|"done", record)``.

    Returns:
        The draft with its provenance.

    Raises:
        InputError: The case, a prompt version or the configuration is invalid.
        EndpointError: The model endpoint failed after retries.
        ReplyParseError: A stage's reply did not parse, even after one repair attempt.
    """
    chain, state, refs, mode = prepare(
        case, store=store, endpoint=endpoint, k=k, prompts=prompts, retrieval=retrieval,
        on_progress=on_progress,
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
    retrieval: Retriever | str | None = None,
    on_progress: ProgressFn | None = None,
) -> Draft:
    """Async twin of `draft_report` (same arguments, same result)."""
    # Retrieval is CPU work (query embedding, scoring): off the event loop, so cases overlap.
    chain, state, refs, mode = await asyncio.to_thread(
        prepare,
        case, store=store, endpoint=endpoint, k=k, prompts=prompts, retrieval=retrieval,
        on_progress=on_progress,
    )
    final = await chain.as_runnable().ainvoke(state)
    return assemble_draft(chain, final, refs, mode)
