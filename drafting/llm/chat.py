"""`EndpointChatModel`: a thin LangChain chat model on the Chat Completions API of an endpoint.

It sends what ``langchain_openai.ChatOpenAI`` sent, byte for byte (the same body keys in the order
the SDK's ``chat.completions.create`` writes them, the same JSON), through the project's own SDK
clients (`drafting.llm.clients`: fixtures, retries, deadlines, the connection pool), and answers
with the ``AIMessage`` ChatOpenAI built: content, ``usage_metadata``, ``response_metadata``
(``finish_reason``, ``token_usage``, ``model_name``, ...).

It costs less client CPU per call, which `python -m benchmarks.concurrency` measures against the
bare SDK:

- The body goes through the SDK's generic ``post``, not ``create``: ``create`` walks every message
  against the request's TypedDict annotations (``_transform``), which for text messages returns
  what it was given.
- The reply is read as the JSON the server sent, not built into a ``ChatCompletion``, dumped back
  to a dict and converted on a worker thread, as ChatOpenAI does.
- When no callback handler, tracer, cache or rate limiter is configured (the chain's case),
  ``invoke``/``ainvoke`` call the endpoint directly instead of through LangChain's callback
  managers, whose run bookkeeping has nobody to report to. Anything configured takes LangChain's
  own path (``_generate``/``_agenerate``), which builds the same message.

It never streams: ``.stream()`` is one call (LangChain's fallback), as fixtures require anyway.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
    CallbackManagerForLLMRun,
    Callbacks,
)
from langchain_core.globals import get_llm_cache
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableConfig, ensure_config
from langchain_core.utils.utils import LC_ID_PREFIX
from langchain_openai.chat_models.base import _create_usage_metadata  # as ChatOpenAI reads usage
from pydantic import ConfigDict, Field

#: Where Chat Completions are posted, relative to the client's base URL.
CHAT_PATH = "/chat/completions"
#: The request options ``create`` passes: bearer auth only (the generic default adds admin-key auth).
_OPTIONS: dict[str, Any] = {"security": {"bearer_auth": True}}
#: Message roles of the project's prompts (tuples or dicts), as the API names them.
_ROLES = {"system": "system", "user": "user", "human": "user", "assistant": "assistant", "ai": "assistant"}
#: OpenAI's o-series take the system prompt as role "developer" (ChatOpenAI renames it).
_O_SERIES = re.compile(r"^o\d")


@lru_cache(maxsize=1)
def _create_order() -> dict[str, int]:
    """The position of each body field in the SDK's ``chat.completions.create`` signature, which
    is the order it writes them in (``messages``, ``model``, then the options alphabetically)."""
    import inspect

    from openai.resources.chat.completions import Completions

    names = [p.name for p in inspect.signature(Completions.create).parameters.values()]
    return {name: i for i, name in enumerate(n for n in names if n != "self")}


class EndpointChatModel(BaseChatModel):
    """A LangChain chat model on an endpoint's Chat Completions API (see the module docstring).

    Build it with `drafting.llm.chat_model`, which hands it the endpoint's SDK clients.

    Attributes:
        client: The synchronous ``openai.OpenAI`` client (``invoke``).
        async_client: The ``openai.AsyncOpenAI`` client (``ainvoke``).
        model_name: The model asked for (``model=`` when building).
        temperature: Sampling temperature, when set.
        max_tokens: The completion's token limit, sent as ``max_completion_tokens`` (the
            transport renames it for llama.cpp-style servers).
        seed: Sampling seed, when set.
        top_p: Nucleus sampling, when set.
        max_retries: Always 0: retries happen in the transport (`drafting.llm.retry`).
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    client: Any = Field(default=None, exclude=True)
    async_client: Any = Field(default=None, exclude=True)
    model_name: str = Field(alias="model")
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    top_p: float | None = None
    max_retries: int = 0

    @property
    def _llm_type(self) -> str:
        return "drafting-openai-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, **self._params()}

    def _params(self) -> dict[str, Any]:
        """The generation parameters set on the model, under their API names."""
        params = {
            "max_completion_tokens": self.max_tokens,
            "seed": self.seed,
            "temperature": self.temperature,
            "top_p": self.top_p,
        }
        return {k: v for k, v in params.items() if v is not None}

    # --- the request ------------------------------------------------------------------------

    def _body(
        self, messages: list[dict[str, Any]], stop: list[str] | None, kwargs: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The request body, as ChatOpenAI's payload became one in ``create``.

        Call kwargs override the model's parameters; ``extra_body`` is merged last, its keys
        winning (the SDK's ``extra_body``).
        """
        call = dict(kwargs)
        extra = call.pop("extra_body", None) or {}
        if "max_tokens" in call:
            call["max_completion_tokens"] = call.pop("max_tokens")
        fields: dict[str, Any] = {**self._params(), "stream": False, **call}
        if stop is not None:
            fields["stop"] = stop
        fields.update(messages=messages, model=self.model_name)
        order = _create_order()
        unknown = sorted(set(fields) - set(order))
        if unknown:
            raise TypeError(f"unexpected request argument(s): {', '.join(unknown)}")
        body = {k: fields[k] for k in sorted(fields, key=order.__getitem__)}
        body.update(extra)
        return body

    def _request(
        self, model_input: LanguageModelInput, stop: list[str] | None, kwargs: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The arguments of the SDK's ``post``: the body, and the reply wanted as its JSON."""
        body = self._body(self._wire_messages(model_input), stop, kwargs)
        return {"body": body, "cast_to": object, "options": _OPTIONS}

    def _wire_messages(self, model_input: LanguageModelInput) -> list[dict[str, Any]]:
        """The messages as the API takes them (``{"content", "role"}``, ChatOpenAI's order).

        The project's prompts (``(role, text)`` tuples or ``{"role", "content"}`` dicts of text)
        are converted directly; anything else goes through LangChain's messages and
        langchain-openai's own conversion.
        """
        plain = _plain_messages(model_input)
        if plain is None:
            from langchain_openai.chat_models.base import (
                _convert_from_v1_to_chat_completions,
                _convert_message_to_dict,
            )

            plain = [
                _convert_message_to_dict(
                    _convert_from_v1_to_chat_completions(m) if isinstance(m, AIMessage) else m
                )
                for m in self._convert_input(model_input).to_messages()
            ]
        if _O_SERIES.match(self.model_name):
            for message in plain:
                if message["role"] == "system":
                    message["role"] = "developer"
        return plain

    # --- LangChain's path: callbacks, tracing, caching ------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        data = self.client.post(CHAT_PATH, **self._request(messages, stop, kwargs))
        return _chat_result(data, self.model_name)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        data = await self.async_client.post(CHAT_PATH, **self._request(messages, stop, kwargs))
        return _chat_result(data, self.model_name)

    # --- the direct path ----------------------------------------------------------------------

    def _direct(self, config: RunnableConfig | None) -> bool:
        """Whether LangChain's path would have nothing to do besides the call: nobody listens
        (`unobserved`), no cache, no rate limiter."""
        if self.rate_limiter is not None:
            return False
        if self.cache is not False and (
            isinstance(self.cache, BaseCache) or self.cache is True or get_llm_cache() is not None
        ):
            return False
        return unobserved(config, self.callbacks, verbose=self.verbose)

    def invoke(
        self,
        input: LanguageModelInput,  # noqa: A002 - LangChain's parameter name
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Call the model (directly when nothing listens; see the module docstring)."""
        if not self._direct(config):
            return super().invoke(input, config, stop=stop, **kwargs)
        data = self.client.post(CHAT_PATH, **self._request(input, stop, kwargs))
        return _reply_message(data, self.model_name)

    async def ainvoke(
        self,
        input: LanguageModelInput,  # noqa: A002 - LangChain's parameter name
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Call the model asynchronously (directly when nothing listens)."""
        if not self._direct(config):
            return await super().ainvoke(input, config, stop=stop, **kwargs)
        data = await self.async_client.post(CHAT_PATH, **self._request(input, stop, kwargs))
        return _reply_message(data, self.model_name)


def unobserved(config: RunnableConfig | None, callbacks: Callbacks = None, *, verbose: bool = False) -> bool:
    """Whether a LangChain run would report to nobody: no callback handler or tracer, from the
    config (or the enclosing run's, which LangChain keeps in a context variable), the runnable's
    own ``callbacks``, verbose/debug mode, the environment (LangSmith tracing) or a tracing
    context; and no caller-chosen run id.

    LangChain's own configuration decides (``CallbackManager.configure``), so every way of
    attaching a handler counts. A runnable may then skip its run bookkeeping (callback managers,
    run ids, child configs): nobody would see it.
    """
    config = ensure_config(config)
    if config.get("run_id") is not None:
        return False
    return not CallbackManager.configure(config.get("callbacks"), callbacks, verbose).handlers


def _plain_messages(model_input: Any) -> list[dict[str, Any]] | None:
    """Text messages given as ``(role, text)`` tuples or ``{"role", "content"}`` dicts, or a
    string (one user message), in the API's form; None for anything else."""
    if isinstance(model_input, str):
        return [{"content": model_input, "role": "user"}]
    if not isinstance(model_input, Sequence):
        return None
    out: list[dict[str, Any]] = []
    for message in model_input:
        if isinstance(message, tuple) and len(message) == 2:
            role, content = message
        elif isinstance(message, dict) and message.keys() == {"role", "content"}:
            role, content = message["role"], message["content"]
        else:
            return None
        if not isinstance(content, str) or role not in _ROLES:
            return None
        out.append({"content": content, "role": _ROLES[role]})
    return out


# --- the reply ------------------------------------------------------------------------------


def _choices(data: Any) -> list[dict[str, Any]]:
    """The reply's choices, refused as ChatOpenAI refused them."""
    if not isinstance(data, dict):
        preview = repr(data)
        preview = preview[:200] + "..." if len(preview) > 200 else preview
        raise ValueError(
            "Unexpected response type from OpenAI-compatible endpoint. Expected a dict or "
            f"openai.BaseModel, got {type(data).__name__}: {preview}"
        )
    if data.get("error"):
        raise ValueError(data.get("error"))
    try:
        choices = data["choices"]
    except KeyError as e:
        raise KeyError(f"Response missing 'choices' key: {data.keys()}") from e
    if choices is None:
        raise TypeError(
            "Received response with null value for 'choices'. This can happen when using "
            "OpenAI-compatible APIs (e.g., vLLM) that return a response in an unexpected "
            f"format. Full response keys: {list(data.keys())}"
        )
    if not choices:
        # ChatOpenAI failed reading generations[0]; `endpoint_errors` reports it as such.
        raise IndexError("the reply held no completion (empty 'choices')")
    return choices


def _llm_output(data: dict[str, Any], model_name: str) -> dict[str, Any]:
    usage = data.get("usage")
    output = {
        "token_usage": usage,
        "model_provider": "openai",
        "model_name": data.get("model", model_name),
        "system_fingerprint": data.get("system_fingerprint"),
        "id": data.get("id"),
    }
    if data.get("service_tier"):
        output["service_tier"] = data["service_tier"]
    return output


def _message(choice: dict[str, Any], usage: Any, service_tier: Any, *, first: bool = True) -> AIMessage:
    message = choice.get("message") or {}
    # ChatOpenAI copied the refusal (None when there is none) onto the first message only.
    refusal = {"refusal": message.get("refusal")} if first else {}
    ai = AIMessage(content=message.get("content") or "", additional_kwargs=refusal, name=message.get("name"))
    if usage:
        ai.usage_metadata = _create_usage_metadata(usage, service_tier)
    return ai


def _generation_info(choice: dict[str, Any]) -> dict[str, Any]:
    return {"finish_reason": choice.get("finish_reason"), "logprobs": choice.get("logprobs")}


def _chat_result(data: Any, model_name: str) -> ChatResult:
    """The reply as a `ChatResult` for LangChain's path (which merges the metadata itself)."""
    choices = _choices(data)
    usage, tier = data.get("usage"), data.get("service_tier")
    generations = [
        ChatGeneration(message=_message(c, usage, tier, first=i == 0), generation_info=_generation_info(c))
        for i, c in enumerate(choices)
    ]
    return ChatResult(generations=generations, llm_output=_llm_output(data, model_name))


def _reply_message(data: Any, model_name: str) -> AIMessage:
    """The first choice's message with the metadata LangChain's path gives it."""
    choices = _choices(data)
    ai = _message(choices[0], data.get("usage"), data.get("service_tier"))
    info = _generation_info(choices[0])
    ai.response_metadata = {**_llm_output(data, model_name), **info} if len(choices) == 1 else info
    ai.id = f"{LC_ID_PREFIX}-{uuid.uuid4()}-0"
    return ai
