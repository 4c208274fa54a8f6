"""A loopback OpenAI-compatible server that mixes faults into its answers at set rates.

Built on `tests.llm.fake_server.FakeOpenAIServer`: every request draws, from a seeded RNG, either
a normal schema-valid answer or one of the faults in `FAULT_KINDS`. What was served is kept per
request (`served`), with the server-side arrival time, so a test can check retry timing.

Usage::

    with FaultServer(rate=0.3, seed=7) as server:
        ... point an endpoint at server.base_url ...
        server.counts()  # {"ok": 120, "rate_limited": 9, ...}
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
from dataclasses import dataclass
from typing import Any

from tests.llm.fake_server import (
    FakeOpenAIServer,
    Reply,
    SeenRequest,
    chat_completion,
    default_reply,
    rate_limited,
    server_error,
)

FAULT_KINDS = (
    "rate_limited",  # 429 with Retry-After
    "server_error",  # 500
    "stall",  # an answer that arrives after the client's timeout
    "not_json",  # 200, but the message is prose
    "bad_schema",  # 200, JSON that does not fit the stage's schema
    "truncated",  # 200, JSON cut off, finish_reason "length"
    "empty_choices",  # 200, "choices": []
)


@dataclass
class Served:
    """One answer the server gave."""

    kind: str
    at: float  # server-side arrival time (time.monotonic)
    body_sha: str  # sha256 of the request body: equal for a retry of the same request
    retry_after: float | None = None


def _body_sha(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class FaultServer(FakeOpenAIServer):
    """A fake server answering with a fault at ``rate`` (kinds drawn uniformly, seeded).

    Args:
        rate: Share of requests answered with a fault.
        seed: RNG seed (the sequence of draws; which request gets which draw depends on arrival
            order under concurrency).
        kinds: The fault kinds to mix.
        retry_after: Seconds sent in ``Retry-After`` with a 429.
        stall_s: How long a stalled answer takes (set it past the client's timeout).
        delay_s: Delay before every normal answer.
    """

    def __init__(
        self,
        rate: float = 0.3,
        seed: int = 0,
        *,
        kinds: tuple[str, ...] = FAULT_KINDS,
        retry_after: float = 0.3,
        stall_s: float = 1.5,
        delay_s: float = 0.0,
    ):
        super().__init__(default=self._answer)
        self.rate = rate
        self.kinds = kinds
        self.retry_after = retry_after
        self.stall_s = stall_s
        self.delay_s = delay_s
        self.served: list[Served] = []
        self._rng = random.Random(seed)
        self._draw_lock = threading.Lock()

    def _next(self, seen: SeenRequest) -> Reply:
        # Draw and log under one lock, with the request's own arrival time.
        with self._draw_lock:
            self.requests.append(seen)
            fault = self._rng.random() < self.rate
            kind = self._rng.choice(self.kinds) if fault else "ok"
            self.served.append(
                Served(kind, seen.at, _body_sha(seen.body),
                       self.retry_after if kind == "rate_limited" else None)
            )
        return self.reply_for(kind, seen.body)

    def _answer(self, body: Any) -> Reply:  # pragma: no cover - `_next` answers every request
        return self.reply_for("ok", body)

    def reply_for(self, kind: str, body: Any) -> Reply:
        """The reply of one kind for a request body."""
        model = body.get("model", "fake-model") if isinstance(body, dict) else "fake-model"
        if kind == "ok":
            reply = default_reply(body)
            reply.delay_s = self.delay_s
            return reply
        if kind == "rate_limited":
            return rate_limited(retry_after=f"{self.retry_after:g}")
        if kind == "server_error":
            return server_error(500)
        if kind == "stall":
            reply = default_reply(body)
            reply.delay_s = self.stall_s
            return reply
        if kind == "not_json":
            return Reply(200, chat_completion("Sure! Here is the report you asked for.", model=model))
        if kind == "bad_schema":
            return Reply(200, chat_completion(json.dumps({"unexpected": [1, 2]}), model=model))
        if kind == "truncated":
            full = default_reply(body).body["choices"][0]["message"]["content"]
            out = chat_completion(full[: max(1, len(full) // 2)], model=model)
            out["choices"][0]["finish_reason"] = "length"
            return Reply(200, out)
        if kind == "empty_choices":
            out = chat_completion("", model=model)
            out["choices"] = []
            return Reply(200, out)
        raise ValueError(f"unknown fault kind {kind!r}")

    def counts(self) -> dict[str, int]:
        """How many answers of each kind were served."""
        out: dict[str, int] = {}
        for s in self.served:
            out[s.kind] = out.get(s.kind, 0) + 1
        return out
