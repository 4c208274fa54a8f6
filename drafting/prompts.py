"""Prompt registry: versioned prompt templates loaded from ``prompts/<stage>/<version>.yaml``.

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
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, ValidationError, field_validator

from drafting.cases import read_yaml_file, validation_error_to_input_error
from drafting.errors import CaseFileError, ConfigError
from drafting.schema import STAGE_OUTPUTS, PromptRef

#: The chain's stages, in order.
STAGES = ("findings", "diagnosis", "rehabilitation")
DEFAULT_VERSION = "v1"
#: The version each stage uses when none is asked for: the newest that has been recorded and
#: measured against the one before it (README, "What the embedded model achieves").
DEFAULT_VERSIONS = {"findings": "v2", "diagnosis": "v3", "rehabilitation": "v1"}
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


def prompts_root() -> Path:
    """Where prompt files live: $DRAFTING_PROMPTS_DIR, ./prompts, or the project's prompts/."""
    env = os.environ.get("DRAFTING_PROMPTS_DIR")
    if env:
        return Path(env)
    local = Path.cwd() / "prompts"
    if local.is_dir():
        return local
    return Path(__file__).resolve().parent.parent / "prompts"


def load_prompt_file(path: str | Path) -> PromptSpec:
    """Load and validate one prompt file.

    Raises:
        ConfigError: Invalid YAML, unknown or missing fields, an unknown output schema, a variable
            used but not declared or declared but unused, or a file name that disagrees with the
            stage and version inside it.
    """
    p = Path(path)
    try:
        data = read_yaml_file(p, max_bytes=200_000)
    except CaseFileError as exc:
        raise ConfigError(exc.message, path=p) from None
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of prompt fields", path=p)
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


def load_prompt(stage: str, version: str = DEFAULT_VERSION, *, root: str | Path | None = None) -> PromptSpec:
    """Load ``<root>/<stage>/<version>.yaml``.

    Raises:
        ConfigError: Unknown stage, missing version (listing those available) or an invalid file.
    """
    base = Path(root) if root is not None else prompts_root()
    return _load_cached(str(base.resolve()), stage, version)


@lru_cache(maxsize=64)
def _load_cached(base: str, stage: str, version: str) -> PromptSpec:
    if stage not in STAGES:
        raise ConfigError(f"unknown stage '{stage}' (stages: {', '.join(STAGES)})", field="prompt")
    if not _VERSION_RE.match(version):
        raise ConfigError(f"invalid prompt version '{version}'", field=f"prompt {stage}")
    path = Path(base) / stage / f"{version}.yaml"
    if not path.is_file():
        known = ", ".join(available_versions(stage, root=base)) or "none"
        raise ConfigError(
            f"no prompt version '{version}' for stage '{stage}' (available: {known})",
            path=path,
            field=f"prompts.{stage}",
        )
    return load_prompt_file(path)


def available_versions(stage: str, *, root: str | Path | None = None) -> list[str]:
    """Versions present for a stage, sorted."""
    base = Path(root) if root is not None else prompts_root()
    return sorted(p.stem for p in (base / stage).glob("*.yaml"))


def load_prompt_set(
    versions: dict[str, str] | None = None, *, root: str | Path | None = None
) -> dict[str, PromptSpec]:
    """The prompt for every stage: the given versions, `DEFAULT_VERSIONS` for the rest.

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
    return {s: load_prompt(s, versions.get(s) or _default_version(s, root), root=root) for s in STAGES}


def _default_version(stage: str, root: str | Path | None) -> str:
    """`DEFAULT_VERSIONS` for the stage, or ``v1`` in a prompt directory that lacks it."""
    version = DEFAULT_VERSIONS[stage]
    if version in available_versions(stage, root=root):
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
