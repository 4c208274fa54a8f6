"""A loopback OpenAI-compatible server that answers every call after a delay: fixed, or drawn from
a log-normal distribution the way real endpoints answer (seconds, with a long tail).

The concurrency benchmark measures the client against the schedule these delays allow, so the
server must add as little as it can on top of them: aiohttp on one event loop (C parser, the delay
an `asyncio.sleep`), answering with the same schema-shaped JSON as the test server.

Log-normal delays are a pure function of the seed and the request body (its sha256 picks the
quantile), so the same request gets the same delay in every run and from every client, whatever
order requests arrive in. Every answered request is logged with its delay and the case it names
(``Patient number <id>.`` in the benchmark's case histories), from which the benchmark computes the
limit.

Run from a separate process: ``python -m benchmarks.slow_server DELAY_S`` or
``python -m benchmarks.slow_server --lognormal MEDIAN_S P95_S --seed N``. It prints its base URL,
serves until stdin closes, then prints one JSON line: ``{"served": n, "log": [[case, delay_s,
body], ...]}``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import re
import sys
from collections.abc import Callable
from statistics import NormalDist

from aiohttp import web

from tests.llm.fake_server import default_reply

_CASE = re.compile(r"Patient number (\S+?)\.")
_Z95 = NormalDist().inv_cdf(0.95)


def lognormal_delay(median_s: float, p95_s: float, seed: int) -> Callable[[bytes], float]:
    """Delay per request body: the log-normal quantile (median, p95) at a seeded hash of the body."""
    mu, sigma = math.log(median_s), math.log(p95_s / median_s) / _Z95

    def delay(body: bytes) -> float:
        digest = hashlib.sha256(seed.to_bytes(8, "little") + body).digest()
        u = (int.from_bytes(digest[:8], "little") + 0.5) / 2**64
        return math.exp(mu + sigma * NormalDist().inv_cdf(u))

    return delay


def make_app(delay: Callable[[bytes], float], log: list[list]) -> web.Application:
    """The aiohttp app: ``POST /v1/chat/completions`` answered after ``delay(body)`` seconds."""

    async def chat_completions(request: web.Request) -> web.Response:
        raw = await request.read()
        body = json.loads(raw)
        seconds = delay(raw)
        match = _CASE.search(raw.decode("utf-8", "replace"))
        log.append([match.group(1) if match else "", seconds, body])
        await asyncio.sleep(seconds)
        reply = default_reply(body)
        return web.Response(status=reply.status, body=json.dumps(reply.body),
                            content_type="application/json")

    app = web.Application(client_max_size=2**24)
    app.router.add_post("/v1/chat/completions", chat_completions)
    return app


async def serve(delay: Callable[[bytes], float]) -> None:
    """Serve on a free loopback port until stdin closes (see the module docstring)."""
    log: list[list] = []
    runner = web.AppRunner(make_app(delay, log), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    print(f"http://127.0.0.1:{port}/v1", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    print(json.dumps({"served": len(log), "log": log}), flush=True)
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.slow_server")
    parser.add_argument("delay_s", nargs="?", type=float, default=0.2)
    parser.add_argument("--lognormal", nargs=2, type=float, metavar=("MEDIAN_S", "P95_S"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.lognormal:
        delay = lognormal_delay(*args.lognormal, args.seed)
    else:
        def delay(_body: bytes) -> float:
            return args.delay_s
    asyncio.run(serve(delay))


if __name__ == "__main__":
    main()
