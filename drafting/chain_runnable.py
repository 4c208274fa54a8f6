"""The drafting chain as a LangChain runnable: `StageSequence`, the three stages in a row.

A ``RunnableSequence`` of the stage runnables (``findings_stage | diagnosis_stage |
rehabilitation_stage``, each a ``RunnableLambda``) that skips LangChain's run bookkeeping when
nobody would see it. Observed (a callback handler or tracer configured, see
`drafting.llm.chat.unobserved`), ``invoke``/``ainvoke`` are the sequence's own, and handlers see
the chain run, each stage's run and the model runs inside them. Unobserved, which is every draft
of a suite run, the same stage functions run in turn, without a callback manager, run id and
child config per step and, for ``ainvoke``, an asyncio task per step: ~0.17 ms of client CPU per
stage (``python -m benchmarks.concurrency``). Batching, streaming and composition are the
sequence's.

A module of its own so that `drafting.chain` imports no LangChain until a runnable is asked for.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig, RunnableLambda, RunnableSequence

from drafting.llm.chat import unobserved


class StageSequence(RunnableSequence):
    """A ``RunnableSequence`` of the chain's stage lambdas (functions of the state alone, sync
    and async), invoked directly when unobserved."""

    def _direct(self, attr: str, kwargs: dict[str, Any], config: RunnableConfig | None) -> list[Any] | None:
        """The steps' ``func`` or ``afunc`` when the call may skip the sequence's bookkeeping."""
        steps = self.steps
        if kwargs or not all(isinstance(s, RunnableLambda) and hasattr(s, attr) for s in steps):
            return None
        return [getattr(s, attr) for s in steps] if unobserved(config) else None

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:  # noqa: A002
        """Run the stages in turn (see the module docstring)."""
        funcs = self._direct("func", kwargs, config)
        if funcs is None:
            return super().invoke(input, config, **kwargs)
        for func in funcs:
            input = func(input)
        return input

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:  # noqa: A002
        """Run the stages in turn, asynchronously (see the module docstring)."""
        funcs = self._direct("afunc", kwargs, config)
        if funcs is None:
            return await super().ainvoke(input, config, **kwargs)
        for func in funcs:
            input = await func(input)
        return input
