"""`EndpointChatModel` sends what ``ChatOpenAI`` sent and answers with the message it built."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from drafting.llm import chat_model, structured_output_kwargs
from drafting.llm.chat import EndpointChatModel
from drafting.llm.clients import async_http_client, http_client
from drafting.llm.config import Endpoint
from drafting.schema import FindingsOutput
from tests.llm.fake_server import FakeOpenAIServer, Reply, chat_completion

GEN = {"temperature": 0.0, "max_tokens": 50, "seed": 0}

INPUTS: dict[str, Any] = {
    "string": "a case, naïve ünïcode",
    "tuples": [("system", "Be brief."), ("user", "a case"), ("assistant", "{}"), ("user", "again")],
    "dicts": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "a case"}],
    "lc-aliases": [("human", "a case"), ("ai", "{}"), ("human", "again")],
    "messages": [SystemMessage("Be brief."), HumanMessage("a case", name="doctor"), AIMessage("{}")],
}


def _chat_openai(endpoint: Endpoint, **params: Any) -> ChatOpenAI:
    """The ChatOpenAI `chat_model` built before `EndpointChatModel` (same clients, same options)."""
    return ChatOpenAI(
        model=endpoint.model, api_key="sk-test-key", base_url=endpoint.client_base_url,
        timeout=endpoint.timeout_s, max_retries=0, http_client=http_client(endpoint),
        http_async_client=async_http_client(endpoint), **params,
    )  # fmt: skip


def _wire(server: FakeOpenAIServer) -> list[str]:
    """Each request body as sent: keys in order, values as JSON."""
    return [json.dumps(r.body, ensure_ascii=False) for r in server.requests]


@pytest.mark.parametrize("structured", ["json_schema", "json_object_schema", "none"])
@pytest.mark.parametrize("kind", sorted(INPUTS))
def test_requests_are_chat_openais(
    kind: str, structured: str, fake_endpoint: Callable[..., Endpoint], fake_openai: FakeOpenAIServer
):
    endpoint = fake_endpoint("live", structured_output=structured)
    model = chat_model(endpoint, **GEN)
    assert isinstance(model, EndpointChatModel)
    bind = structured_output_kwargs(endpoint, FindingsOutput)
    ours = [model.bind(**bind).invoke(INPUTS[kind]), asyncio.run(model.bind(**bind).ainvoke(INPUTS[kind]))]
    ours.append(model.invoke(INPUTS[kind], stop=["\n\n"], temperature=0.5))
    sent = _wire(fake_openai)
    fake_openai.requests.clear()
    reference = _chat_openai(endpoint, **GEN)
    theirs = [reference.bind(**bind).invoke(INPUTS[kind]),
              asyncio.run(reference.bind(**bind).ainvoke(INPUTS[kind])),
              reference.invoke(INPUTS[kind], stop=["\n\n"], temperature=0.5)]  # fmt: skip
    assert sent == _wire(fake_openai)
    for mine, chat_openai in zip(ours, theirs, strict=True):
        assert mine.content == chat_openai.content
        assert mine.usage_metadata == chat_openai.usage_metadata
        assert mine.additional_kwargs == chat_openai.additional_kwargs
        metadata = dict(chat_openai.response_metadata)
        # ChatOpenAI reads the reply through the SDK's ChatCompletion model, which adds the
        # usage fields the server left out as None.
        metadata["token_usage"] = {k: v for k, v in metadata["token_usage"].items() if v is not None}
        assert mine.response_metadata == metadata
        assert mine.id and mine.id.startswith("lc_run-")


class _Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.events: list[str] = []

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.events.append("start")

    def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
        self.events.append("end")


def test_callbacks_take_langchains_path_with_the_same_reply(
    fake_endpoint: Callable[..., Endpoint], fake_openai: FakeOpenAIServer
):
    model = chat_model(fake_endpoint("live"), **GEN)
    recorder = _Recorder()
    direct = model.invoke(INPUTS["tuples"])
    traced = model.invoke(INPUTS["tuples"], config={"callbacks": [recorder]})
    traced_async = asyncio.run(model.ainvoke(INPUTS["tuples"], config={"callbacks": [recorder]}))
    assert recorder.events == ["start", "end", "start", "end"]
    for message in (traced, traced_async):
        assert (message.content, message.usage_metadata, message.response_metadata) == (
            direct.content,
            direct.usage_metadata,
            direct.response_metadata,
        )
    assert _wire(fake_openai)[0] == _wire(fake_openai)[1] == _wire(fake_openai)[2]


def test_reply_usage_and_cut_off(fake_endpoint: Callable[..., Endpoint], fake_openai: FakeOpenAIServer):
    reply = chat_completion('{"findings": ["a', prompt_tokens=12, completion_tokens=50)
    reply["choices"][0]["finish_reason"] = "length"
    reply["usage"]["prompt_tokens_details"] = {"cached_tokens": 4}
    fake_openai.script(Reply(200, reply))
    message = chat_model(fake_endpoint("live"), **GEN).invoke("a case")
    assert message.response_metadata["finish_reason"] == "length"
    assert message.usage_metadata == {
        "input_tokens": 12, "output_tokens": 50, "total_tokens": 62,
        "input_token_details": {"cache_read": 4}, "output_token_details": {},
    }  # fmt: skip


def test_empty_choices_fail_as_chat_openai_failed(fake_endpoint: Callable[..., Endpoint], fake_openai):
    reply = chat_completion("")
    reply["choices"] = []
    fake_openai.script(Reply(200, reply))
    with pytest.raises(IndexError):
        chat_model(fake_endpoint("live"), **GEN).invoke("a case")


def test_other_models_and_parameters_stay_chat_openai(fake_endpoint: Callable[..., Endpoint]):
    assert isinstance(chat_model(fake_endpoint("live"), presence_penalty=0.5), ChatOpenAI)
    assert isinstance(chat_model(fake_endpoint("live", model="gpt-5-pro"), **GEN), ChatOpenAI)
    o1 = chat_model(fake_endpoint("live", model="o1-mini"), max_tokens=5)
    assert isinstance(o1, EndpointChatModel) and o1.temperature == 1  # ChatOpenAI's o1 default


def test_o_series_system_prompt_is_a_developer_message(
    fake_endpoint: Callable[..., Endpoint], fake_openai: FakeOpenAIServer
):
    endpoint = fake_endpoint("live", model="o3-mini")
    chat_model(endpoint, max_tokens=5).invoke(INPUTS["tuples"])
    _chat_openai(endpoint, max_tokens=5).invoke(INPUTS["tuples"])
    assert fake_openai.requests[0].body["messages"][0]["role"] == "developer"
    assert _wire(fake_openai)[0] == _wire(fake_openai)[1]
