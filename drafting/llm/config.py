"""Endpoint configuration: which OpenAI-protocol server to talk to, and how.

An `Endpoint` is resolved from arguments, then the environment, then defaults
(`resolve_endpoint`). It carries everything the client factories need: backend, URL, model,
key, timeouts, the retry budget, how the server takes structured output, and the fixture mode.
The API key is a `SecretStr`: it never appears in `repr`, in `describe()` or in a fixture file.
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from drafting.errors import ConfigError

Backend = Literal["local", "openai"]
FixturesMode = Literal["live", "record", "replay", "auto"]
StructuredOutput = Literal["json_schema", "json_object_schema", "none"]

#: The stable name the embedded server answers to (``--model_alias``); fixture keys include it.
LOCAL_MODEL = "SmolLM2-135M-Instruct"
#: Default model for the ``openai`` backend when none is given.
OPENAI_MODEL = "gpt-4o-mini"
#: The local backend's client URL: a placeholder the forwarding transport rewrites to the
#: embedded server once it runs. Never resolved, never connected to.
LOCAL_PLACEHOLDER_URL = "http://embedded-llama-cpp.invalid/v1"
DEFAULT_FIXTURES_DIR = Path("eval/fixtures")

_BACKENDS = ("local", "openai")
_MODES = ("live", "record", "replay", "auto")
_STRUCTURED = ("json_schema", "json_object_schema", "none")


class Endpoint(BaseModel):
    """One model endpoint speaking the OpenAI Chat Completions protocol.

    Attributes:
        backend: ``local`` (embedded llama.cpp server) or ``openai`` (OpenAI or compatible).
        base_url: The server's base URL; None means the OpenAI API (or, for ``local``, the
            embedded server started on first use).
        model: The model name sent in every request body.
        api_key: Never serialised or printed.
        timeout_s: Per-request timeout in seconds.
        max_attempts: Attempts per request, first one included (timeouts, 429 and 5xx retry).
        max_wait_s: Total seconds the retry layer may sleep for one request.
        backoff_s: First retry backoff (doubling), when the server gives no Retry-After.
        structured_output: How the server takes a JSON schema: ``json_schema`` (OpenAI's strict
            structured outputs; falls back once to ``json_object_schema`` when a server rejects
            it), ``json_object_schema`` (llama.cpp's ``json_object`` with a ``schema``) or
            ``none`` (no ``response_format``; the reply is parsed and repaired as text).
        fixtures_mode: ``live``, ``record``, ``replay`` or ``auto``.
        fixtures_dir: Root of the fixture tree.
        fixture_label: Subdirectory of `fixtures_dir` for this endpoint's recordings.
        local_model: A GGUF file the embedded server serves instead of the bundled SmolLM2.
        local_n_ctx: The embedded server's context length (default 8192).
        local_threads: The embedded server's CPU threads (default ``$DRAFTING_LOCAL_THREADS``
            or 2).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Backend = "local"
    base_url: str | None = None
    model: str = LOCAL_MODEL
    api_key: SecretStr | None = Field(default=None, repr=False, exclude=True)
    timeout_s: float = 120.0
    max_attempts: int = Field(default=4, ge=1)
    max_wait_s: float = Field(default=60.0, ge=0)
    backoff_s: float = Field(default=1.0, ge=0)
    structured_output: StructuredOutput = "json_object_schema"
    fixtures_mode: FixturesMode = "live"
    fixtures_dir: Path = DEFAULT_FIXTURES_DIR
    # One path component: a label such as "../../../x" wrote fixtures outside the fixture root.
    fixture_label: str = Field(default="", pattern=r"^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,127})?$")
    local_model: Path | None = None
    local_n_ctx: int | None = Field(default=None, ge=256)
    local_threads: int | None = Field(default=None, ge=1)

    @property
    def label(self) -> str:
        """The fixture subdirectory name (explicit label, else derived from backend and model)."""
        return self.fixture_label or default_label(self.backend, self.model)

    @property
    def fixture_path(self) -> Path:
        """Where this endpoint's fixtures live: ``<fixtures_dir>/<label>``."""
        return Path(self.fixtures_dir) / self.label

    @property
    def client_base_url(self) -> str:
        """The base URL the SDK client is built with."""
        if self.backend == "local":
            return self.base_url or LOCAL_PLACEHOLDER_URL
        return self.base_url or "https://api.openai.com/v1"

    @property
    def host(self) -> str:
        """The endpoint's host for messages and provenance (no scheme, path or credentials)."""
        if self.backend == "local" and not self.base_url:
            return "embedded llama.cpp server"
        return urlsplit(self.client_base_url).hostname or "?"

    def describe(self) -> dict[str, Any]:
        """A provenance record: backend, model and host; never the key."""
        return {"backend": self.backend, "model": self.model, "host": self.host}


_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def default_label(backend: str, model: str) -> str:
    """Fixture label derived from backend and model, e.g. ``local-smollm2-135m-instruct``."""
    slug = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-") or "model"
    return f"{backend}-{slug}"


GGUF_MAGIC = b"GGUF"


def check_gguf(path: str | Path) -> Path:
    """The absolute path of a GGUF model file.

    Raises:
        ConfigError: The file does not exist or does not start with the GGUF magic bytes.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError("local model file not found", path=p, field="--local-model")
    try:
        with p.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ConfigError(f"cannot read local model file ({exc.strerror})", path=p) from None
    if magic != GGUF_MAGIC:
        raise ConfigError(
            "not a GGUF model file (llama.cpp serves .gguf files only)", path=p, field="--local-model"
        )
    return p.resolve()


def local_model_label(gguf: Path) -> str:
    """Fixture label of a local model file: ``local-<name>-<first 12 hex of its sha256>``.

    Another file under the same name, or the same file renamed, never shares recordings.
    """
    stat = gguf.stat()
    digest = _file_sha256(str(gguf), stat.st_size, stat.st_mtime_ns)
    return f"{default_label('local', gguf.stem)}-{digest[:12]}"


@lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file, cached per (path, size, mtime): a multi-GB model is hashed once."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def resolve_endpoint(
    *,
    backend: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    fixtures: str | None = None,
    fixtures_dir: str | Path | None = None,
    label: str | None = None,
    structured_output: str | None = None,
    local_model: str | Path | None = None,
    **overrides: Any,
) -> Endpoint:
    """Resolve an endpoint from arguments, then environment variables, then defaults.

    Environment: ``DRAFTING_BACKEND``, ``DRAFTING_MODEL``, ``OPENAI_API_KEY``,
    ``OPENAI_BASE_URL``, ``DRAFTING_FIXTURES``, ``DRAFTING_FIXTURES_DIR``,
    ``DRAFTING_STRUCTURED_OUTPUT``, ``DRAFTING_LOCAL_MODEL``, ``DRAFTING_TIMEOUT`` (seconds per
    request, default 120). With none of backend, base URL or
    key configured, the backend is ``local`` (the embedded model).

    Args:
        backend: ``local`` or ``openai``.
        model: Model name; defaults to the embedded alias or ``gpt-4o-mini``.
        base_url: An OpenAI-compatible server (implies ``openai`` when backend is not given).
        api_key: The key; for ``openai`` it falls back to ``OPENAI_API_KEY``.
        fixtures: Fixture mode: live, record, replay or auto (default live).
        fixtures_dir: Fixture root (default ``eval/fixtures``).
        label: Fixture subdirectory (default derived from backend and model; for a
            ``local_model``, from the file's name and content hash).
        structured_output: ``json_schema``, ``json_object_schema`` or ``none`` (default:
            ``json_object_schema`` for the local backend, ``json_schema`` otherwise).
        local_model: A GGUF file for the embedded server (local backend only).
        **overrides: Other `Endpoint` fields (timeout_s, max_attempts, max_wait_s, ...).

    Returns:
        The frozen endpoint.

    Raises:
        ConfigError: An unknown backend, fixture or structured-output mode, an ``openai``
            backend with no key, or a local model file that is missing or not GGUF.
    """
    backend = backend or _env("DRAFTING_BACKEND")
    explicit_model_file = local_model
    local_model = local_model or _env("DRAFTING_LOCAL_MODEL")
    if backend is None and local_model and not base_url:
        backend = "local"  # a model file to serve means the embedded server
    if backend != "local":
        # An explicit local backend ignores OPENAI_BASE_URL (it may be set for the judge).
        base_url = base_url or _env("OPENAI_BASE_URL")
    env_key = _env("OPENAI_API_KEY")
    if backend is None:
        backend = "openai" if (base_url or api_key or env_key) else "local"
    if backend not in _BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; use one of {', '.join(_BACKENDS)}")

    mode = fixtures or _env("DRAFTING_FIXTURES") or "live"
    if mode not in _MODES:
        raise ConfigError(f"unknown fixtures mode {mode!r}; use one of {', '.join(_MODES)}")
    root = Path(fixtures_dir or _env("DRAFTING_FIXTURES_DIR") or DEFAULT_FIXTURES_DIR)

    structured = structured_output or _env("DRAFTING_STRUCTURED_OUTPUT")
    if structured is not None and structured not in _STRUCTURED:
        raise ConfigError(
            f"unknown structured-output mode {structured!r}; use one of {', '.join(_STRUCTURED)}",
            field="--structured-output",
        )
    gguf: Path | None = None
    if backend == "local":
        key = api_key  # the embedded server's random key is set when it starts
        if local_model:
            gguf = check_gguf(local_model)
            label = label or local_model_label(gguf)
        model = model or _env("DRAFTING_MODEL") or (gguf.stem if gguf else LOCAL_MODEL)
        # llama.cpp's server takes ``json_object`` with a ``schema``; the committed recordings
        # are keyed by exactly those request bytes.
        structured = structured or "json_object_schema"
    else:
        if explicit_model_file:  # DRAFTING_LOCAL_MODEL only concerns the local backend
            raise ConfigError("--local-model needs the local backend", field="--local-model")
        key = api_key or env_key
        model = model or _env("DRAFTING_MODEL") or OPENAI_MODEL
        # OpenAI's strict structured outputs; a server that rejects them (llama.cpp, directly or
        # behind a gateway) gets ``json_object`` with the schema instead, once per run.
        structured = structured or "json_schema"
        if key is None and not base_url and mode != "replay":
            raise ConfigError(
                "backend openai needs an API key: set OPENAI_API_KEY "
                "(or pass --base-url / set OPENAI_BASE_URL for a compatible server)"
            )
    if label and not _LABEL_RE.match(label):
        raise ConfigError(
            f"fixture label {label!r} must be one path component (letters, digits, '.', '_', '-')",
            field="label",
        )
    fields: dict[str, Any] = {
        "backend": backend,
        "base_url": base_url,
        "model": model,
        "api_key": SecretStr(key) if key else None,
        "structured_output": structured,
        "fixtures_mode": mode,
        "fixtures_dir": root,
        "fixture_label": label or "",
        "local_model": gguf,
    }
    timeout = _env("DRAFTING_TIMEOUT")
    if timeout is not None and "timeout_s" not in overrides:
        try:
            fields["timeout_s"] = float(timeout)
        except ValueError:
            raise ConfigError(f"DRAFTING_TIMEOUT must be seconds, got {timeout!r}") from None
    fields.update(overrides)
    try:
        return Endpoint(**fields)
    except ValueError as exc:  # pydantic.ValidationError
        raise ConfigError(f"invalid endpoint setting: {exc}") from None
