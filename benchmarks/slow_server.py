"""A loopback OpenAI-compatible server that answers every call after a fixed delay.

The concurrency benchmark measures the client against ``ceil(cases / concurrency) x stages x
delay``, so the server must add as little as it can on top of the delay. The threaded test server
(`tests.llm.fake_server`) parses HTTP in Python on one thread per connection: at 32 connections it
added ~45 ms to every 200 ms call by itself. This one is aiohttp on one event loop (C parser, the
delay an `asyncio.sleep`), and answers with the same schema-shaped JSON as the test server.

Run from a separate process: ``python -m benchmarks.slow_server DELAY_S`` prints its base URL,
serves until stdin closes, then prints the number of requests it served.
"""

from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web

from tests.llm.fake_server import default_reply


def make_app(delay_s: float, served: list[int]) -> web.Application:
    """The aiohttp app: ``POST /v1/chat/completions`` answered after ``delay_s`` seconds."""

    async def chat_completions(request: web.Request) -> web.Response:
        body = await request.json()
        served[0] += 1
        await asyncio.sleep(delay_s)
        reply = default_reply(body)
        return web.Response(status=reply.status, body=json.dumps(reply.body),
                            content_type="application/json")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat_completions)
    return app


async def serve(delay_s: float) -> None:
    """Serve on a free loopback port until stdin closes (see the module docstring)."""
    served = [0]
    runner = web.AppRunner(make_app(delay_s, served), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    print(f"http://127.0.0.1:{port}/v1", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    print(served[0], flush=True)
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve(float(sys.argv[1])))
