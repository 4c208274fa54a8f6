"""The drafting chain: findings -> diagnosis -> rehabilitation, as LangChain runnables.

Each stage renders its versioned prompt from the case input, what earlier stages produced and the
retrieved references (each reference's input summary and its gold section for that stage, within a
token budget), calls the model with a structured-output constraint, and parses the reply with the
pure functions of `drafting.parsing`. The stage logic is written once as a generator protocol
(`_stage_protocol`) that yields messages and receives replies, driven by a sync and an async driver,
so `.invoke`, `.batch` and `.ainvoke` share every rule.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from drafting.candidates import diagnosis_candidates, format_candidates
from drafting.errors import ReplyParseError
from drafting.injection import fence
from drafting.parsing import (
    Message,
    describe_bounds,
    parse_reply,
    repair_messages,
    salvage_reply,
    truncation_error,
)
from drafting.prompts import STAGES, PromptSpec
from drafting.schema import (
    Case,
    CaseInput,
    DiagnosisOutput,
    FindingsOutput,
    StageRecord,
)

if TYPE_CHECKING:  # pragma: no cover
    from langchain_core.runnables import Runnable

    from drafting.llm import Endpoint

#: Characters per token, for budgeting reference text without a tokenizer.
CHARS_PER_TOKEN = 4
#: Token budget for the references block of each stage's prompt.
DEFAULT_REFERENCE_BUDGET = 360
#: Attempts per stage: the first reply, then repairs that feed the validation error back. From
#: the second reply on, a reply whose only faults `salvage_reply` can mend is kept; a second repair
#: is sent only when salvage cannot help (a small model often repeats a label on its first repair).
MAX_ATTEMPTS = 3

ProgressFn = Callable[[str, str, StageRecord | None], None]


@dataclass
class ChainState:
    """What flows through the chain: the case, its references, and each stage's output."""

    case: Case
    references: list[Case] = field(default_factory=list)
    outputs: dict[str, BaseModel] = field(default_factory=dict)
    records: list[StageRecord] = field(default_factory=list)


# --- formatting (pure) ------------------------------------------------------------------------


def format_case_input(inp: CaseInput) -> str:
    """The case input as plain labelled text: the only case text a prompt ever receives."""
    # An unknown sex is left out rather than written: "48-year-old unknown" was copied as a diagnosis.
    sex = inp.sex if inp.sex != "unknown" else ""
    who = " ".join(p for p in (f"{inp.age}-year-old" if inp.age is not None else "", sex) if p)
    lines = [f"Patient: {who or 'age and sex not stated'}"]
    if inp.clinical_history:
        lines.append(f"Clinical history: {inp.clinical_history}")
    for study in inp.imaging:
        label = ", ".join(p for p in (study.modality, study.region) if p)
        lines.append(f"Imaging ({label}): {study.description}" if label else f"Imaging: {study.description}")
    if inp.labs:
        lines.append(f"Labs: {inp.labs}")
    return fence("\n".join(lines))


def _clip(text: str, max_chars: int) -> str:
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    return text[: max(0, max_chars - 1)].rsplit(" ", 1)[0] + "…"


#: The header of every reference block: unnumbered, so there is no "Reference 2" to copy.
REFERENCE_LABEL = "Other patient (a similar case, NOT this patient)"


def _reference_summary(stage: str, ref: Case, case: Case) -> str:
    """What a reference block says about the other patient's own presentation."""
    if stage == "findings" and case.input.imaging:
        # The case has its own imaging text: the findings stage sees no other patient's imaging
        # words at all (it copied them verbatim), only what kind of study it was.
        studies = "; ".join(
            ", ".join(p for p in (s.modality, s.region) if p) for s in ref.input.imaging
        )
        return f"Studied with: {studies}" if studies.strip("; ") else ""
    return " ".join(p for p in (ref.input.clinical_history, ref.input.imaging_text()) if p)


def _reference_section(stage: str, ref: Case, case: Case) -> str:
    gold = ref.gold
    final = gold.final_diagnosis or gold.diagnosis.primary
    if stage == "findings":
        if case.input.imaging:
            # Nor their diagnosis: a findings list is no place for another patient's disease.
            return ""
        # No imaging text of its own: the other patient's reported findings show what to describe.
        return "Their reported findings: " + (gold.findings or ref.input.imaging_text() or "(none)")
    if stage == "diagnosis":
        diff = ", ".join(d.name for d in gold.diagnosis.differentials[:4])
        return f"Their final diagnosis: {final or '(not recorded)'}" + (
            f". Differentials considered for them: {diff}" if diff else ""
        )
    # Rehabilitation: the plan first, so a tight budget clips the diagnosis line, never the plan.
    plan = gold.rehabilitation.text()
    return ("Their plan: " + plan if plan else "Their plan: (none recorded)") + (
        f". Their diagnosis: {final}" if final else ""
    )


def format_references(
    stage: str, references: list[Case], budget_tokens: int, case: Case | None = None
) -> str:
    """Each reference's summary and its gold section for ``stage``, within a token budget.

    References come most similar first; each gets an equal share of the budget, of which its
    summary takes at most 40%. Every block is labelled as another patient.

    Args:
        stage: The chain stage the block is for.
        references: The retrieved reference cases.
        budget_tokens: Token budget of the whole block.
        case: The case being drafted (decides whether the findings stage may see other
            patients' imaging text: only when the case has none of its own).
    """
    if not references:
        return "(no similar cases available)"
    case = case or Case(id="query", input=CaseInput(clinical_history="(none)"))
    share = budget_tokens * CHARS_PER_TOKEN // len(references)
    blocks = []
    for ref in references:
        summary = _clip(_reference_summary(stage, ref, case), int(share * 0.4))
        section = _clip(_reference_section(stage, ref, case), share - len(summary))
        lines = [f"{REFERENCE_LABEL}:"]
        if summary:
            lines.append(f"  Their case: {fence(summary)}")
        if section:
            lines.append(f"  {fence(section)}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def stage_variables(stage: str, state: ChainState, budget_tokens: int) -> dict[str, str]:
    """The prompt variables of ``stage`` given the state so far.

    Variables a prompt version does not use are ignored when it renders (``candidates`` is used by
    diagnosis v3 only).
    """
    variables = {
        "case": format_case_input(state.case.input),
        "references": format_references(stage, state.references, budget_tokens, state.case),
    }
    if stage in ("diagnosis", "rehabilitation"):
        findings = state.outputs["findings"]
        assert isinstance(findings, FindingsOutput)
        variables["findings"] = "\n".join(f"- {f}" for f in findings.findings)
    if stage == "diagnosis":
        variables["candidates"] = fence(format_candidates(diagnosis_candidates(state.references)))
    if stage == "rehabilitation":
        dx = state.outputs["diagnosis"]
        assert isinstance(dx, DiagnosisOutput)
        variables["diagnosis"] = f"{dx.primary} (final diagnosis: {dx.final_diagnosis})"
    return variables


# --- one stage, written once --------------------------------------------------------------------


def _usage(reply: Any) -> tuple[int, int]:
    usage = getattr(reply, "usage_metadata", None) or {}
    return int(usage.get("input_tokens", 0) or 0), int(usage.get("output_tokens", 0) or 0)


def _cut_off(reply: Any) -> bool:
    """Whether the server stopped the reply at the token limit."""
    metadata = getattr(reply, "response_metadata", None) or {}
    return metadata.get("finish_reason") == "length"


def _stage_protocol(
    spec: PromptSpec, messages: list[Message], record: StageRecord
) -> Generator[list[Message], Any, BaseModel]:
    """Yield messages to send, receive each reply, return the parsed output.

    The driver sends back each model reply. A reply that does not parse gets a repair naming the
    violation; a reply cut off at the token limit (``finish_reason`` "length") gets one asking for
    a shorter answer. When a repaired reply still fails, `salvage_reply` drops its invalid list
    items and fills invalid fields from their fallbacks if that makes it valid (noted in
    ``record.salvage_notes``); when it cannot, another repair follows, up to `MAX_ATTEMPTS`.

    Raises:
        ReplyParseError: Still unusable after the last attempt; carries every raw reply.
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        reply = yield messages
        record.attempts = attempt
        raw = reply.content if isinstance(reply.content, str) else str(reply.content)
        prompt_tokens, completion_tokens = _usage(reply)
        record.prompt_tokens += prompt_tokens
        record.completion_tokens += completion_tokens
        record.raw_replies.append(raw)
        if _cut_off(reply):
            error = truncation_error(raw, spec.stage)
        else:
            try:
                return parse_reply(raw, spec.output_model, stage=spec.stage)
            except ReplyParseError as exc:
                error = exc
        if attempt > 1 and not error.truncated:
            try:
                output, record.salvage_notes = salvage_reply(raw, spec.output_model, stage=spec.stage)
                return output
            except ReplyParseError:
                pass
        if attempt == MAX_ATTEMPTS:
            raise ReplyParseError(
                f"no valid reply after {attempt} attempts: {error}",
                raw_reply=raw,
                stage=spec.stage,
                attempts=list(record.raw_replies),
                truncated=error.truncated,
            )
        problem = str(error).removeprefix(f"stage {spec.stage}: ")
        budget = (
            f"the whole reply within {spec.parameters.max_tokens} tokens; "
            + describe_bounds(spec.output_model)
        )
        messages = repair_messages(messages, raw, problem, truncated=error.truncated, budget=budget)
    raise AssertionError("unreachable")  # pragma: no cover


_MODELS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_MODELS_LOCK = threading.Lock()


def _shared_model(endpoint: Endpoint, spec: PromptSpec) -> Any:
    """The bound chat model for an endpoint and a prompt, built once per endpoint object."""
    with _MODELS_LOCK:
        per_endpoint = _MODELS.setdefault(endpoint, {})
        if spec.sha256 not in per_endpoint:
            from drafting.llm import chat_model, structured_output_kwargs

            llm = chat_model(endpoint, **spec.parameters.model_dump(exclude_none=True))
            per_endpoint[spec.sha256] = llm.bind(**structured_output_kwargs(endpoint, spec.output_model))
        return per_endpoint[spec.sha256]


#: How `DraftingChain._run_stage` calls a model: one implementation serves both `run_stage`
#: (a blocking ``invoke``) and `arun_stage` (``await ainvoke``).
ModelCall = Callable[[Any, list[Message]], Awaitable[Any]]
T = TypeVar("T")


async def _invoke(model: Any, messages: list[Message]) -> Any:
    return model.invoke(messages)  # blocking: the coroutine never suspends


async def _ainvoke(model: Any, messages: list[Message]) -> Any:
    return await model.ainvoke(messages)


def _run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (its awaits reach only blocking calls) to its end,
    without an event loop, so the synchronous path also works inside a running loop's thread."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a blocking stage suspended")


class DraftingChain:
    """The three drafting stages over one endpoint and one prompt set.

    Args:
        prompts: The prompt per stage (see `drafting.prompts.load_prompt_set`).
        endpoint: Where the model is (see `drafting.llm.resolve_endpoint`).
        reference_budget: Token budget of each stage's references block.
        on_progress: Called as ``(stage, "start"|"done"|"failed", record)`` for progress display.
    """

    def __init__(
        self,
        prompts: dict[str, PromptSpec],
        endpoint: Endpoint,
        *,
        reference_budget: int = DEFAULT_REFERENCE_BUDGET,
        on_progress: ProgressFn | None = None,
    ):
        self.prompts = prompts
        self.endpoint = endpoint
        self.reference_budget = reference_budget
        self.on_progress = on_progress

    def _model(self, stage: str) -> Any:
        """The chat model for a stage, with its generation parameters and output schema bound.

        Shared by every chain on the same endpoint object and prompt (see `_shared_model`), so a run
        of many cases reuses one client and its connections instead of building one per case.
        """
        return _shared_model(self.endpoint, self.prompts[stage])

    def _begin(
        self, stage: str, state: ChainState
    ) -> tuple[StageRecord, Generator[list[Message], Any, BaseModel]]:
        spec = self.prompts[stage]
        record = StageRecord(stage=stage)
        messages = spec.render(**stage_variables(stage, state, self.reference_budget))
        if self.on_progress:
            self.on_progress(stage, "start", None)
        return record, _stage_protocol(spec, messages, record)

    def _finish(self, stage: str, state: ChainState, record: StageRecord, output: BaseModel) -> ChainState:
        state.outputs[stage] = output
        state.records.append(record)
        if self.on_progress:
            self.on_progress(stage, "done", record)
        return state

    def _failed(self, stage: str, record: StageRecord) -> None:
        # The attempts of a failed stage cost tokens too: report them (the harness counts them).
        if self.on_progress:
            self.on_progress(stage, "failed", record)

    def run_stage(self, stage: str, state: ChainState) -> ChainState:
        """Run one stage synchronously and return the updated state."""
        return _run_blocking(self._run_stage(stage, state, _invoke))

    async def arun_stage(self, stage: str, state: ChainState) -> ChainState:
        """Run one stage asynchronously and return the updated state."""
        return await self._run_stage(stage, state, _ainvoke)

    async def _run_stage(self, stage: str, state: ChainState, call: ModelCall) -> ChainState:
        from drafting.llm import endpoint_errors, fixture_context

        record, protocol = self._begin(stage, state)
        model = self._model(stage)
        messages = next(protocol)
        try:
            while True:
                started = time.perf_counter()
                with (
                    fixture_context(stage=stage, case_id=state.case.id) as timing,
                    endpoint_errors(self.endpoint),
                ):
                    reply = await call(model, messages)
                record.latency_s += timing.seconds(time.perf_counter() - started)
                try:
                    messages = protocol.send(reply)
                except StopIteration as done:
                    return self._finish(stage, state, record, done.value)
        except Exception:
            self._failed(stage, record)
            raise

    def as_runnable(self) -> Runnable:
        """The whole chain as one LangChain runnable over `ChainState` (invoke, batch, ainvoke):
        a ``RunnableSequence`` of the stages (`drafting.chain_runnable.StageSequence`)."""
        from drafting.chain_runnable import StageSequence

        first, *middle, last = (self._stage_runnable(stage) for stage in STAGES)
        # Observed, its run is reported under the name a plain sequence's had.
        return StageSequence(first=first, middle=middle, last=last, name="RunnableSequence")

    def _stage_runnable(self, stage: str) -> Runnable:
        from langchain_core.runnables import RunnableLambda

        def run(state: ChainState) -> ChainState:
            return self.run_stage(stage, state)

        async def arun(state: ChainState) -> ChainState:
            return await self.arun_stage(stage, state)

        return RunnableLambda(run, afunc=arun, name=f"{stage}_stage")
