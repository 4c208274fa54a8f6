"""Endpoint configuration: which OpenAI-protocol server to talk to, and how.

An `Endpoint` is resolved from arguments, then the environment, then defaults
(`resolve_endpoint`). It carries everything the client factories need: backend, URL, model,
key, timeouts, the retry budget, how the server takes structured output, and the fixture mode.
The API key is a `SecretStr`: it never appears in `repr`, in `describe()` or in a fixture file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from drafting.errors import ConfigError

Backend = Literal["local", "openai"]
FixturesMode = Literal["live", "record", "replay", "auto"]
StructuredOutput = Literal["json_schema", "json_object_schema"]

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
        structured_output: How the server takes a JSON schema (see `structured_output_kwargs`).
        fixtures_mode: ``live``, ``record``, ``replay`` or ``auto``.
        fixtures_dir: Root of the fixture tree.
        fixture_label: Subdirectory of `fixtures_dir` for this endpoint's recordings.
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
    **overrides: Any,
) -> Endpoint:
    """Resolve an endpoint from arguments, then environment variables, then defaults.

    Environment: ``DRAFTING_BACKEND``, ``DRAFTING_MODEL``, ``OPENAI_API_KEY``,
    ``OPENAI_BASE_URL``, ``DRAFTING_FIXTURES``, ``DRAFTING_FIXTURES_DIR``. With none of backend,
    base URL or key configured, the backend is ``local`` (the embedded model).

    Args:
        backend: ``local`` or ``openai``.
        model: Model name; defaults to the embedded alias or ``gpt-4o-mini``.
        base_url: An OpenAI-compatible server (implies ``openai`` when backend is not given).
        api_key: The key; for ``openai`` it falls back to ``OPENAI_API_KEY``.
        fixtures: Fixture mode: live, record, replay or auto (default live).
        fixtures_dir: Fixture root (default ``eval/fixtures``).
        label: Fixture subdirectory (default derived from backend and model).
        **overrides: Other `Endpoint` fields (timeout_s, max_attempts, max_wait_s, ...).

    Returns:
        The frozen endpoint.

    Raises:
        ConfigError: An unknown backend or fixture mode, or an ``openai`` backend with no key.
    """
    backend = backend or _env("DRAFTING_BACKEND")
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

    if backend == "local":
        key = api_key  # the embedded server's random key is set when it starts
        model = model or _env("DRAFTING_MODEL") or LOCAL_MODEL
        structured = "json_object_schema"
    else:
        key = api_key or env_key
        model = model or _env("DRAFTING_MODEL") or OPENAI_MODEL
        # llama.cpp-compatible servers may be reached through OPENAI_BASE_URL too; they are
        # told apart only by an explicit override.
        structured = "json_schema"
        if key is None and not base_url and mode != "replay":
            raise ConfigError(
                "backend openai needs an API key: set OPENAI_API_KEY or pass --api-key "
                "(or set OPENAI_BASE_URL for a compatible server)"
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
    }
    fields.update(overrides)
    try:
        return Endpoint(**fields)
    except ValueError as exc:  # pydantic.ValidationError
        raise ConfigError(f"invalid endpoint setting: {exc}") from None
