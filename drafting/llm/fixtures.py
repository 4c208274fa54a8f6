"""Record and replay model traffic: httpx transports keyed by the request's content.

Every client the project builds carries a `FixtureTransport` (sync) or `AsyncFixtureTransport`
(async) on top of the real network stack. Modes:

- ``live``: pass through, write nothing.
- ``record``: call the endpoint, write each successful exchange.
- ``replay``: answer only from fixtures. The inner (network) transport is never even built, so
  no socket can be opened; a miss raises `FixtureMissError`, which the SDK does not retry.
- ``auto``: replay when a fixture exists, otherwise record.

A fixture's key is the sha256 of the canonical JSON of method, path (relative to the client's
base URL, so host and port do not matter) and request body (sorted keys, without fields that do
not change the answer). The file ``<dir>/<key[:2]>/<key>.json`` holds the request body, the
response status and body, the model and the recording time; never headers or anything from the
environment. Only 2xx answers are recorded: errors are not answers, and an authentication error
body could echo part of a key.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from drafting.errors import ConfigError, EndpointError, FixtureFileError, FixtureMissError

#: Request-body fields that do not change the answer, left out of the key.
IGNORED_BODY_FIELDS = frozenset({"stream_options", "user", "metadata", "store", "service_tier"})
#: Query parameters that must never reach a key or a file.
_SECRET_QUERY = frozenset({"api-key", "api_key", "key", "token"})
#: How a replay miss tells the user to record.
RECORD_COMMAND = (
    "re-run the same command with --fixtures auto (records only what is missing; "
    "or set DRAFTING_FIXTURES=auto)"
)
FORMAT_VERSION = 1
#: Largest reply body written to a fixture (bytes); a bigger reply is an error, not recorded.
MAX_RECORD_BYTES = 2_000_000
MAX_RECORD_BYTES_ENV = "DRAFTING_FIXTURE_MAX_BYTES"

_context: ContextVar[tuple[str | None, str | None]] = ContextVar(
    "drafting_fixture_context", default=(None, None)
)
_usage: ContextVar[tuple[set[str], ...]] = ContextVar("drafting_fixture_usage", default=())
_timing: ContextVar[CallTiming | None] = ContextVar("drafting_fixture_timing", default=None)


@dataclass
class CallTiming:
    """Endpoint answer times seen by the fixture layer inside one `fixture_context`.

    On replay these are the times recorded with each exchange, so cost figures computed from a
    replay equal those of the recording and are identical across replays.
    """

    answered_s: list[float] = field(default_factory=list)

    def seconds(self, measured: float) -> float:
        """The recorded (or recording-time) answer time when known, else ``measured``."""
        return sum(self.answered_s) if self.answered_s else measured


@contextlib.contextmanager
def fixture_context(stage: str | None = None, case_id: str | None = None) -> Iterator[CallTiming]:
    """Name the chain stage and case of the calls made inside, for replay-miss messages.

    Nested contexts inherit what they do not set. Based on contextvars, so concurrent asyncio
    tasks each see their own. Yields the `CallTiming` of the calls made inside (a mutable object,
    so it is filled even when a library runs the call in a copied context).
    """
    outer_stage, outer_case = _context.get()
    timing = CallTiming()
    token = _context.set((stage or outer_stage, case_id or outer_case))
    timing_token = _timing.set(timing)
    try:
        yield timing
    finally:
        _timing.reset(timing_token)
        _context.reset(token)


def _note_elapsed(seconds: float | None) -> None:
    timing = _timing.get()
    if timing is not None and seconds is not None:
        timing.answered_s.append(float(seconds))


@contextlib.contextmanager
def track_fixture_usage() -> Iterator[set[str]]:
    """Collect the keys of the fixtures replayed or recorded inside the block.

    Yields:
        A set that fills with fixture keys as calls complete (also from asyncio tasks started
        inside the block).
    """
    used: set[str] = set()
    token = _usage.set((*_usage.get(), used))
    try:
        yield used
    finally:
        _usage.reset(token)


def _note_used(key: str) -> None:
    for used in _usage.get():
        used.add(key)


def canonical_request(
    method: str, path: str, body: Any, query: dict[str, str] | None = None
) -> dict[str, Any]:
    """The part of a request that identifies its answer (what the key hashes)."""
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in IGNORED_BODY_FIELDS}
    canon: dict[str, Any] = {"method": method.upper(), "path": path, "body": body}
    if query:
        canon["query"] = {k: v for k, v in query.items() if k.lower() not in _SECRET_QUERY}
    return canon


def fixture_key(canon: dict[str, Any]) -> str:
    """sha256 over the canonical JSON (sorted keys, no whitespace) of a canonical request."""
    text = json.dumps(canon, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fixture_file(directory: Path, key: str) -> Path:
    """Where the fixture with this key lives under a label directory."""
    return Path(directory) / key[:2] / f"{key}.json"


def read_fixture(path: Path) -> dict[str, Any]:
    """Read and check one fixture file.

    Raises:
        FixtureFileError: The file is truncated, not JSON, or lacks the response.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FixtureFileError(
            f"unreadable fixture ({type(exc).__name__}: {exc}); delete it and re-record",
            path=path,
        ) from None
    response = data.get("response") if isinstance(data, dict) else None
    if not isinstance(response, dict) or not isinstance(response.get("status"), int):
        raise FixtureFileError(
            "fixture has no response status; delete it and re-record", path=path, field="response"
        )
    return data


def _umask() -> int:
    """The process umask, read without changing it where Linux allows."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: the classic set-and-restore
    os.umask(mask)
    return mask


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that readers only ever see the old or the complete new content.

    The file gets the mode an ordinary write would (0666 less the umask: 0644 usually);
    `tempfile.mkstemp` makes 0600 files, unreadable to a team sharing the repository.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def max_record_bytes() -> int:
    """`MAX_RECORD_BYTES`, or ``$DRAFTING_FIXTURE_MAX_BYTES`` when set to a positive integer."""
    raw = os.environ.get(MAX_RECORD_BYTES_ENV, "").strip()
    try:
        value = int(raw) if raw else MAX_RECORD_BYTES
    except ValueError:
        raise ConfigError(f"{MAX_RECORD_BYTES_ENV} must be a number of bytes, got {raw!r}") from None
    if value < 1:
        raise ConfigError(f"{MAX_RECORD_BYTES_ENV} must be positive, got {value}")
    return value


class FixtureStore:
    """The fixture files of one label directory, and the keying of requests.

    Args:
        directory: ``<fixtures_dir>/<label>``.
        mode: live, record, replay or auto.
        base_path: The path prefix of the client's base URL (e.g. ``/v1``), stripped from keys.
        secrets: Strings that must never reach a file (the API key); replaced if they occur.
    """

    def __init__(
        self,
        directory: str | Path,
        mode: str,
        *,
        base_path: str = "/v1",
        secrets: tuple[str, ...] = (),
    ):
        if mode not in ("live", "record", "replay", "auto"):
            raise ConfigError(f"unknown fixtures mode {mode!r}")
        self.directory = Path(directory)
        self.mode = mode
        self.base_path = base_path.rstrip("/")
        self._secrets = tuple(s for s in secrets if s and len(s) >= 6)

    def canonical(self, request: httpx.Request) -> dict[str, Any]:
        """The canonical form of an httpx request.

        Raises:
            ConfigError: A streaming request (not recorded or replayed).
        """
        path = request.url.path
        if self.base_path and path.startswith(self.base_path + "/"):
            path = path[len(self.base_path) :]
        raw = request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = {"_sha256": hashlib.sha256(raw).hexdigest()}
        if isinstance(body, dict) and body.get("stream"):
            raise ConfigError(
                "streaming requests cannot be recorded or replayed; call the model without "
                "streaming or use --fixtures live"
            )
        query = dict(request.url.params.multi_items()) or None
        return canonical_request(request.method, path, body, query)

    def load(self, key: str) -> dict[str, Any] | None:
        """The fixture for a key, or None when there is none."""
        path = fixture_file(self.directory, key)
        if not path.exists():
            return None
        return read_fixture(path)

    def miss(self, key: str) -> FixtureMissError:
        """The error a replay miss raises, naming stage and case from `fixture_context`."""
        stage, case_id = _context.get()
        return FixtureMissError(
            key=key, directory=self.directory, stage=stage, case_id=case_id, command=RECORD_COMMAND
        )

    def save(
        self, key: str, canon: dict[str, Any], status: int, content: bytes, elapsed_s: float | None = None
    ) -> None:
        """Write one exchange (atomically; concurrent recorders leave complete files).

        ``elapsed_s`` is the endpoint's answer time when recorded; replay reports it back so that
        cost metrics computed from a replay equal those of the recording.
        """
        try:
            body: Any = json.loads(content)
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = content.decode("utf-8", errors="replace")
        request_body = canon.get("body")
        record = {
            "format": FORMAT_VERSION,
            "key": key,
            "model": request_body.get("model") if isinstance(request_body, dict) else None,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "request": canon,
            "response": {"status": status, "body": body},
        }
        if elapsed_s is not None:
            record["elapsed_s"] = round(elapsed_s, 4)
        text = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        write_atomic(fixture_file(self.directory, key), text)

    def response(self, record: dict[str, Any], request: httpx.Request, key: str) -> httpx.Response:
        """An httpx response rebuilt from a fixture."""
        resp = record["response"]
        body = resp.get("body")
        headers = {"x-drafting-fixture": key}
        _note_elapsed(record.get("elapsed_s"))
        if isinstance(body, str):
            content = body.encode("utf-8")
            headers["content-type"] = "text/plain; charset=utf-8"
        else:
            content = json.dumps(body).encode("utf-8")
            headers["content-type"] = "application/json"
        return httpx.Response(resp["status"], headers=headers, content=content, request=request)

    def replay(self, request: httpx.Request) -> tuple[str, dict[str, Any], httpx.Response | None]:
        """Key a request and, in replay or auto mode, answer it from its fixture.

        Returns:
            The key, the canonical request, and the replayed response (None: go to the network).

        Raises:
            FixtureMissError: Replay mode and no fixture for the request.
        """
        canon = self.canonical(request)
        key = fixture_key(canon)
        if self.mode in ("replay", "auto"):
            record = self.load(key)
            if record is not None:
                _note_used(key)
                return key, canon, self.response(record, request, key)
            if self.mode == "replay":
                raise self.miss(key)
        return key, canon, None

    def record(
        self,
        key: str,
        canon: dict[str, Any],
        request: httpx.Request,
        response: httpx.Response,
        content: bytes,
        elapsed_s: float,
    ) -> httpx.Response:
        """Write a network answer (when recordable) and return it rebuilt around the read body.

        Raises:
            EndpointError: A recordable answer larger than `max_record_bytes` (not recorded:
                a 50 MB reply was recorded twice, 150 MB on disk).
        """
        if self.recordable(response.status_code) and len(content) > max_record_bytes():
            raise EndpointError(
                f"reply of {len(content):,} bytes is over the {max_record_bytes():,}-byte limit "
                f"for a recorded reply ({MAX_RECORD_BYTES_ENV}); not recorded",
                endpoint=request.url.host or None,
            )
        if self.recordable(response.status_code):
            self.save(key, canon, response.status_code, content, elapsed_s)
            _note_elapsed(round(elapsed_s, 4))
            _note_used(key)
        return _rebuilt(response, content, request)

    @staticmethod
    def recordable(status: int) -> bool:
        """Only successful answers are written (see the module docstring)."""
        return 200 <= status < 300


#: Response headers that no longer hold once the body has been read and decoded.
_STALE_HEADERS = ("content-encoding", "content-length", "transfer-encoding")


def _rebuilt(response: httpx.Response, content: bytes, request: httpx.Request) -> httpx.Response:
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _STALE_HEADERS]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=content,
        request=request,
        extensions={"http_version": response.extensions.get("http_version", b"HTTP/1.1")},
    )


class FixtureTransport(httpx.BaseTransport):
    """Synchronous record/replay transport.

    Args:
        store: The fixture store (directory and mode).
        inner: Builds the real transport; called at most once, and never in replay mode.
        adapt: Rewrites each request for the server's dialect before it is keyed and sent.
    """

    def __init__(
        self,
        store: FixtureStore,
        inner: Callable[[], httpx.BaseTransport],
        adapt: Callable[[httpx.Request], httpx.Request] | None = None,
    ):
        self.store = store
        self._make_inner = inner
        self._inner: httpx.BaseTransport | None = None
        self._adapt = adapt

    def _network(self) -> httpx.BaseTransport:
        if self._inner is None:
            self._inner = self._make_inner()
        return self._inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        store = self.store
        if self._adapt is not None:
            request = self._adapt(request)
        if store.mode == "live":
            return self._network().handle_request(request)
        key, canon, replayed = store.replay(request)
        if replayed is not None:
            return replayed
        started = time.perf_counter()
        response = self._network().handle_request(request)
        try:
            content = response.read()
        finally:
            response.close()
        return store.record(key, canon, request, response, content, time.perf_counter() - started)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


class AsyncFixtureTransport(httpx.AsyncBaseTransport):
    """Asynchronous record/replay transport; see `FixtureTransport`."""

    def __init__(
        self,
        store: FixtureStore,
        inner: Callable[[], httpx.AsyncBaseTransport],
        adapt: Callable[[httpx.Request], httpx.Request] | None = None,
    ):
        self.store = store
        self._make_inner = inner
        self._inner_per_loop: weakref.WeakKeyDictionary[Any, httpx.AsyncBaseTransport] = (
            weakref.WeakKeyDictionary()
        )
        self._adapt = adapt

    def _network(self) -> httpx.AsyncBaseTransport:
        """The network transport of the running event loop.

        One per loop: pooled connections belong to the loop that opened them, and a client used
        again under a later `asyncio.run` failed every call to a keep-alive server.
        """
        loop = asyncio.get_running_loop()
        inner = self._inner_per_loop.get(loop)
        if inner is None:
            inner = self._inner_per_loop[loop] = self._make_inner()
        return inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        store = self.store
        await request.aread()
        if self._adapt is not None:
            request = self._adapt(request)
        if store.mode == "live":
            return await self._network().handle_async_request(request)
        key, canon, replayed = store.replay(request)
        if replayed is not None:
            return replayed
        started = time.perf_counter()
        response = await self._network().handle_async_request(request)
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        return store.record(key, canon, request, response, content, time.perf_counter() - started)

    async def aclose(self) -> None:
        inner = self._inner_per_loop.pop(asyncio.get_running_loop(), None)
        if inner is not None:
            await inner.aclose()
