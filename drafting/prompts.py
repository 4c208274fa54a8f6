"""Prompt registry: versioned prompt templates loaded from ``<dir>/<stage>/<version>.yaml``.

The package bundles the project's prompts; user directories layer over them (`prompt_dirs`).

A prompt file is data, validated here: its messages, the variables it declares (every variable used
must be declared and every declared one used), the name of its output schema, its generation
parameters and a one-line description of what the version changes. Each gets a content hash that
drafts record in their provenance.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import string
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, ValidationError, field_validator

from drafting.cases import read_config_mapping, validation_error_to_input_error
from drafting.errors import ConfigError
from drafting.resources import bundled_path
from drafting.schema import STAGE_OUTPUTS, PromptRef

#: The chain's stages, in order.
STAGES = ("findings", "diagnosis", "rehabilitation")
DEFAULT_VERSION = "v1"
#: The version each stage uses when none is asked for: the newest that has been recorded and
#: measured against the one before it (README, "What the embedded model achieves").
DEFAULT_VERSIONS = {"findings": "v2", "diagnosis": "v3", "rehabilitation": "v2"}
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class GenerationParams(BaseModel):
    """Sampling parameters sent with every request of a stage."""

    model_config = ConfigDict(extra="forbid")

    # Strict: YAML `max_tokens: true` must not become 1. The seed fits a signed 64-bit integer,
    # what OpenAI-compatible servers accept.
    temperature: StrictFloat = Field(0.0, ge=0, le=2)
    max_tokens: StrictInt = Field(400, ge=1, le=8192)
    seed: StrictInt | None = Field(0, ge=-(2**63), le=2**63 - 1)
    top_p: StrictFloat | None = Field(None, gt=0, le=1)


class PromptMessage(BaseModel):
    """One chat message template; ``{name}`` marks a variable, ``{{``/``}}`` literal braces."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(..., min_length=1)


class PromptSpec(BaseModel):
    """A validated prompt version for one stage."""

    model_config = ConfigDict(extra="forbid")

    stage: Literal["findings", "diagnosis", "rehabilitation"]
    version: str
    description: str = Field(..., min_length=1, description="What this version changes.")
    output_schema: str
    input_variables: list[str]
    parameters: GenerationParams = Field(default_factory=GenerationParams)
    messages: list[PromptMessage] = Field(..., min_length=1)

    @field_validator("version")
    @classmethod
    def _safe_version(cls, value: str) -> str:
        if not _VERSION_RE.match(value):
            raise ValueError("version must be letters, digits, '.', '_' or '-'")
        return value

    @field_validator("output_schema")
    @classmethod
    def _known_schema(cls, value: str) -> str:
        if value not in STAGE_OUTPUTS:
            raise ValueError(f"unknown output schema '{value}' (known: {', '.join(STAGE_OUTPUTS)})")
        return value

    @property
    def output_model(self) -> type[BaseModel]:
        """The pydantic model the stage's reply must validate as."""
        return STAGE_OUTPUTS[self.output_schema]

    @property
    def sha256(self) -> str:
        """Hash of the prompt's content (canonical JSON), recorded in provenance."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def ref(self) -> PromptRef:
        """The provenance record of this prompt."""
        return PromptRef(stage=self.stage, version=self.version, sha256=self.sha256)

    def render(self, **variables: str) -> list[tuple[str, str]]:
        """The messages with variables filled, as (role, content) pairs.

        Raises:
            ConfigError: A declared variable was not supplied.
        """
        missing = set(self.input_variables) - set(variables)
        if missing:
            raise ConfigError(
                f"missing prompt variables: {', '.join(sorted(missing))}",
                field=f"{self.stage}/{self.version}",
            )
        return [(m.role, m.content.format(**variables)) for m in self.messages]


def used_variables(template: str) -> set[str]:
    """Variable names a ``str.format`` template uses.

    Raises:
        ValueError: The template is malformed (an unmatched brace, a positional or dotted field).
    """
    names = set()
    for _, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier():
            raise ValueError(f"'{{{field}}}' is not a variable name (write '{{{{' for a literal brace)")
        if spec or conversion:
            raise ValueError(f"'{{{field}}}' must not carry a format spec or conversion")
        names.add(field)
    return names


#: Environment variable naming user prompt directories (``os.pathsep``-separated).
PROMPTS_ENV = "DRAFTING_PROMPTS_DIR"

PromptsDir = str | Path | Sequence[str | Path] | None


def prompt_dirs(prompts_dir: PromptsDir = None) -> tuple[Path, ...]:
    """The prompt directories, first match wins; user directories layer over the bundled ones.

    A user directory holds ``<stage>/<version>.yaml`` files that add versions or override
    bundled ones of the same name. Order: ``prompts_dir`` (``--prompts-dir``, a suite's
    ``prompts_dir``), then ``$DRAFTING_PROMPTS_DIR``, then ``./prompts`` when it exists, then the
    prompts bundled with the package.

    Args:
        prompts_dir: One directory or several, searched before all others.
    """
    layers: list[Path] = []
    if prompts_dir is not None:
        given = [prompts_dir] if isinstance(prompts_dir, str | Path) else list(prompts_dir)
        layers += [Path(p).expanduser() for p in given]
    env = os.environ.get(PROMPTS_ENV, "").strip()
    if env:
        layers += [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
    local = Path.cwd() / "prompts"
    if local.is_dir():
        layers.append(local)
    layers.append(bundled_path("prompts"))
    unique: dict[Path, None] = {}
    for layer in layers:
        unique.setdefault(layer.resolve(), None)
    return tuple(unique)


def prompts_root() -> Path:
    """The bundled prompts directory (user directories layer over it: see `prompt_dirs`)."""
    return bundled_path("prompts")


def load_prompt_file(path: str | Path) -> PromptSpec:
    """Load and validate one prompt file.

    Raises:
        ConfigError: Invalid YAML, unknown or missing fields, an unknown output schema, a variable
            used but not declared or declared but unused, or a file name that disagrees with the
            stage and version inside it.
    """
    p = Path(path)
    data = read_config_mapping(p, what="prompt fields")
    try:
        spec = PromptSpec.model_validate(data)
    except ValidationError as exc:
        err = validation_error_to_input_error(exc, path=p)
        raise ConfigError(err.message, path=p, field=err.field) from None
    used: set[str] = set()
    for i, message in enumerate(spec.messages):
        try:
            used |= used_variables(message.content)
        except ValueError as exc:
            raise ConfigError(str(exc), path=p, field=f"messages.{i}.content") from None
    declared = set(spec.input_variables)
    if undeclared := used - declared:
        raise ConfigError(
            f"variable used but not declared: {', '.join(sorted(undeclared))}",
            path=p,
            field="input_variables",
        )
    if unused := declared - used:
        raise ConfigError(
            f"variable declared but not used: {', '.join(sorted(unused))}",
            path=p,
            field="input_variables",
        )
    if p.stem != spec.version or p.parent.name != spec.stage:
        raise ConfigError(
            f"file should be {spec.stage}/{spec.version}.yaml to match its stage and version",
            path=p,
            field="version",
        )
    return spec


def load_prompt(stage: str, version: str = DEFAULT_VERSION, *, prompts_dir: PromptsDir = None) -> PromptSpec:
    """Load ``<stage>/<version>.yaml`` from the first prompt directory that has it.

    Args:
        stage: findings, diagnosis or rehabilitation.
        version: The version (file name without ``.yaml``).
        prompts_dir: User prompt directories searched before the others (see `prompt_dirs`).

    Raises:
        ConfigError: Unknown stage, missing version (listing those available) or an invalid file.
    """
    return _load_cached(tuple(str(d) for d in prompt_dirs(prompts_dir)), stage, version)


@lru_cache(maxsize=64)
def _load_cached(dirs: tuple[str, ...], stage: str, version: str) -> PromptSpec:
    if stage not in STAGES:
        raise ConfigError(f"unknown stage '{stage}' (stages: {', '.join(STAGES)})", field="prompt")
    if not _VERSION_RE.match(version):
        raise ConfigError(f"invalid prompt version '{version}'", field=f"prompt {stage}")
    for base in dirs:
        path = Path(base) / stage / f"{version}.yaml"
        if path.is_file():
            return load_prompt_file(path)
    known = ", ".join(_versions(stage, dirs)) or "none"
    raise ConfigError(
        f"no prompt version '{version}' for stage '{stage}' (available: {known}; "
        f"searched: {', '.join(dirs)})",
        field=f"prompts.{stage}",
    )


def _versions(stage: str, dirs: Sequence[str | Path]) -> list[str]:
    return sorted({p.stem for d in dirs for p in (Path(d) / stage).glob("*.yaml")})


def available_versions(stage: str, *, prompts_dir: PromptsDir = None) -> list[str]:
    """Versions present for a stage in any prompt directory, sorted."""
    return _versions(stage, prompt_dirs(prompts_dir))


def load_prompt_set(
    versions: dict[str, str] | None = None, *, prompts_dir: PromptsDir = None
) -> dict[str, PromptSpec]:
    """The prompt for every stage: the given versions, `DEFAULT_VERSIONS` for the rest.

    Args:
        versions: stage -> version.
        prompts_dir: User prompt directories searched before the others (see `prompt_dirs`).

    Raises:
        ConfigError: An unknown stage or a missing version.
    """
    versions = dict(versions or {})
    unknown = set(versions) - set(STAGES)
    if unknown:
        raise ConfigError(
            f"unknown stage(s) {', '.join(sorted(unknown))} (stages: {', '.join(STAGES)})",
            field="prompts",
        )
    return {
        s: load_prompt(s, versions.get(s) or _default_version(s, prompts_dir), prompts_dir=prompts_dir)
        for s in STAGES
    }


def _default_version(stage: str, prompts_dir: PromptsDir) -> str:
    """`DEFAULT_VERSIONS` for the stage, or ``v1`` where the prompt directories lack it."""
    version = DEFAULT_VERSIONS[stage]
    if version in available_versions(stage, prompts_dir=prompts_dir):
        return version
    return DEFAULT_VERSION


def parse_prompt_overrides(items: list[str]) -> dict[str, str]:
    """Parse ``stage=version`` command-line items.

    Raises:
        ConfigError: An item without ``=``.
    """
    out: dict[str, str] = {}
    for item in items:
        stage, sep, version = item.partition("=")
        if not sep or not stage or not version:
            raise ConfigError(f"expected stage=version, got '{item}'", field="--prompt")
        out[stage.strip()] = version.strip()
    return out
