"""Evaluation suites: the YAML files under ``eval/suites/`` that say what a run drafts and scores.

A suite names its cases (a directory of case files, or an importer plus a path), the drafter
(backend, model, prompt versions, k, retrieval mode, reference corpus), the metrics, an optional
judge endpoint, the fixture mode and directory, and thresholds and gate settings for the CI gate.

Relative paths in a suite resolve against the current working directory when they exist there,
else against the suite's *repository root*: the parent of the ``eval/`` directory that holds the
suite (``eval/suites/x.yaml`` -> the directory holding ``eval/``), or the suite's own directory when
it is not under an ``eval/`` directory. So ``drafting eval run eval/suites/seeds.yaml`` works from
the repository root and from anywhere else.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from drafting.cases import read_yaml_file, validation_error_to_input_error
from drafting.errors import CaseFileError, ConfigError, InputError
from drafting.redact import redact_url
from drafting.retrieval.backends import RetrievalConfig
from drafting.schema import Case

FixtureMode = Literal["live", "record", "replay", "auto"]

#: Threshold key that is not a metric: the largest share of cases allowed to fail drafting.
CASE_FAILURE_RATE = "case_failure_rate"


class _Strict(BaseModel):
    # Numbers are StrictInt / StrictFloat below: YAML `k: true` must not become 1.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CaseSource(_Strict):
    """Where a suite's cases (or a drafter's reference corpus) come from.

    Exactly one of ``dir`` (a directory or file of case YAML) or ``importer`` + ``path``.
    """

    dir: str | None = None
    importer: str | None = None
    path: str | None = None
    mapping: str | None = Field(
        None, description="The importer's mapping file (tabular: columns -> case fields; reports: headings)."
    )
    limit: StrictInt | None = Field(None, ge=1, description="Keep only the first N cases (file order).")
    ids: list[str] | None = Field(
        None, min_length=1, description="Keep only these case ids (an empty list would run none)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> CaseSource:
        if self.dir and (self.importer or self.path or self.mapping):
            raise ValueError("give either 'dir' or 'importer' with 'path', not both")
        if not self.dir and not (self.importer and self.path):
            raise ValueError("give 'dir', or 'importer' with 'path'")
        return self


class EndpointConfig(_Strict):
    """A model endpoint: backend (local/openai), model, base URL, how it takes a JSON schema.

    Keys come from the environment.
    """

    backend: Literal["local", "openai"] | None = None
    model: str | None = None
    base_url: str | None = None
    structured_output: Literal["json_schema", "json_object_schema", "none"] | None = None

    @field_serializer("base_url")
    def _without_credentials(self, value: str | None) -> str | None:
        # Every dump (config.json, the config hash) shows the URL without a key in it.
        return redact_url(value) if value else value


class ContaminationConfig(_Strict):
    """The contamination guard: corpus cases whose input nearly repeats a case's input (the same
    patient under another id) are reported and, unless ``exclude`` is false, never retrieved
    for that case. See `drafting.evaluation.contamination`."""

    exclude: bool = True
    threshold: float = Field(0.2, gt=0, le=1, description="Jaccard of input 5-gram shingles.")


class DrafterConfig(EndpointConfig):
    """How each case is drafted. ``backend: retrieval`` is the retrieval-only baseline (no model)."""

    # A wider choice than EndpointConfig.backend: the drafter also takes the model-free baseline.
    backend: Literal["local", "openai", "retrieval"] | None = None  # type: ignore[assignment]
    prompts: dict[str, str] = Field(default_factory=dict, description="stage -> prompt version")
    prompts_dir: str | None = Field(
        None, description="Your prompt files (<stage>/<version>.yaml), over the bundled ones."
    )
    k: StrictInt = Field(3, ge=0, le=50)
    retrieval_mode: Literal["auto", "bm25", "dense", "hybrid"] = "auto"
    #: The retrieval backend (``{backend: lancedb}``); None: the built-in index in
    #: ``retrieval_mode``. Its own ``mode`` replaces ``retrieval_mode``.
    retrieval: RetrievalConfig | None = None
    corpus: CaseSource | None = None
    contamination: ContaminationConfig = Field(default_factory=ContaminationConfig)


class FixturesConfig(_Strict):
    """Recorded model traffic: mode, directory and label (None: the endpoint picks the label)."""

    mode: FixtureMode = "replay"
    dir: str = "eval/fixtures"
    # One path component under dir (a label such as "../../x" wrote outside the fixture root).
    label: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class GateConfig(_Strict):
    """What `drafting eval check` and `drafting eval run` hold a run to, beside its thresholds.

    Attributes:
        max_failure_rate: Largest share of cases allowed to fail drafting (default 0: any
            failed case fails the gate).
        min_effect: Smallest drop from the baseline that can fail a [0, 1] metric, on top of
            significance (a difference of 1e-9 is never a regression).
        metric_min_effect: Per-metric minimum effects, overriding ``min_effect`` (the only way
            to give an unbounded metric one; it has none by default).
        baseline_cost: Also compare cost metrics (tokens, seconds) with the baseline; by default
            they are gated by explicit thresholds only.
    """

    max_failure_rate: float = Field(0.0, ge=0.0, le=1.0)
    min_effect: float = Field(0.02, ge=0.0)
    metric_min_effect: dict[str, float] = Field(default_factory=dict)
    baseline_cost: bool = False


class Suite(_Strict):
    """A validated suite. Paths are as written; `resolve_paths` makes them absolute."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    description: str = ""
    cases: CaseSource
    drafter: DrafterConfig = Field(default_factory=DrafterConfig)
    metrics: list[str | dict[str, dict[str, Any] | None]] = Field(default_factory=list)
    judge: EndpointConfig | None = None
    fixtures: FixturesConfig = Field(default_factory=FixturesConfig)
    thresholds: dict[str, StrictFloat] = Field(default_factory=dict)
    gate: GateConfig = Field(default_factory=GateConfig)

    #: Where the suite came from (not a YAML field).
    source_path: str | None = Field(None, exclude=True)
    base_dir: str | None = Field(None, exclude=True)

    @field_validator("metrics")
    @classmethod
    def _metric_specs(cls, value: list[Any]) -> list[Any]:
        for spec in value:
            if isinstance(spec, dict) and len(spec) != 1:
                raise ValueError("a metric with parameters is a one-key mapping {name: {params}}")
        return value

    def metric_names(self) -> list[str]:
        """Metric names in suite order (empty: the default metric set)."""
        return [s if isinstance(s, str) else next(iter(s)) for s in self.metrics]

    def resolved(self) -> dict[str, Any]:
        """The suite as plain JSON data (what config.json records), credentials redacted."""
        data = self.model_dump(mode="json")
        if data["drafter"].get("retrieval") is None:  # unset: the same hash as before it existed
            data["drafter"].pop("retrieval", None)
        return data

    def config_hash(self) -> str:
        """sha256 of the resolved suite (sorted keys): equal suites, equal hashes.

        The gate settings are left out: they judge a run, they do not change it (a run can be
        resumed, or gated, under another gate).
        """
        data = self.model_dump(mode="json", exclude={"gate"})
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


def repo_root_for(suite_path: Path) -> Path:
    """The directory relative suite paths fall back to: the parent of the enclosing ``eval/``."""
    p = suite_path.resolve().parent
    for parent in [p, *p.parents]:
        if parent.name == "eval":
            return parent.parent
    return p


def resolve_path(raw: str, base_dir: Path) -> Path:
    """A suite path: absolute as is; relative: the working directory if it exists there, else base."""
    p = Path(raw).expanduser()
    if p.is_absolute():
        return p
    if p.exists():
        return p.resolve()
    return (base_dir / p).resolve()


def load_suite(path: str | Path, *, check_prompts: bool = True) -> Suite:
    """Load and validate a suite file, resolving its paths.

    Args:
        path: The suite YAML file.
        check_prompts: Also check that each named prompt version exists (needs `drafting.prompts`).

    Raises:
        ConfigError: One line naming the suite file and the bad field.
    """
    p = Path(path)
    try:
        data = read_yaml_file(p)
    except CaseFileError as exc:
        raise ConfigError(exc.message, path=p) from None
    return suite_from_data(data, path=p, check_prompts=check_prompts)


def suite_from_data(
    data: Any, *, path: str | Path | None = None, check_prompts: bool = True
) -> Suite:
    """Validate suite data (as parsed from YAML) and resolve its paths.

    Args:
        data: The parsed mapping.
        path: The file it came from (for messages, and as the base of relative paths; without
            it, relative paths resolve against the working directory).
        check_prompts: Also check that each named prompt version exists.

    Raises:
        ConfigError: One line naming the file and the bad field.
    """
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of suite fields", path=path)
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        raise validation_error_to_input_error(exc, path=path, error_type=ConfigError) from None
    base = repo_root_for(Path(path)) if path is not None else Path.cwd()
    suite = resolve_paths(suite, base)
    suite.source_path = str(Path(path).resolve()) if path is not None else None
    if check_prompts:
        check_prompt_versions(suite, path=path)
    return suite


def resolve_paths(suite: Suite, base_dir: Path) -> Suite:
    """A copy of the suite with every path absolute (see the module docstring for the rule)."""
    s = suite.model_copy(deep=True)
    s.base_dir = str(base_dir)
    for src in (s.cases, s.drafter.corpus):
        if src is None:
            continue
        if src.dir:
            src.dir = str(resolve_path(src.dir, base_dir))
        if src.path:
            src.path = str(resolve_path(src.path, base_dir))
        if src.mapping:
            src.mapping = str(resolve_path(src.mapping, base_dir))
    s.fixtures.dir = str(resolve_path(s.fixtures.dir, base_dir))
    if s.drafter.prompts_dir:
        s.drafter.prompts_dir = str(resolve_path(s.drafter.prompts_dir, base_dir))
    return s


def check_prompt_versions(suite: Suite, *, path: str | Path | None = None) -> None:
    """Raise ConfigError naming ``drafter.prompts.<stage>`` when a prompt version does not exist."""
    if not suite.drafter.prompts:
        return
    from drafting.prompts import load_prompt

    for stage, version in suite.drafter.prompts.items():
        try:
            load_prompt(stage, version, prompts_dir=suite.drafter.prompts_dir)
        except InputError as exc:
            raise ConfigError(
                f"prompt {stage}/{version} cannot be loaded ({exc.message})",
                path=path or suite.source_path,
                field=f"drafter.prompts.{stage}",
            ) from None


def apply_overrides(
    suite: Suite,
    *,
    fixtures: str | None = None,
    cases: str | Path | None = None,
    prompts: dict[str, str] | None = None,
    model: str | None = None,
) -> Suite:
    """A copy of the suite with command-line overrides applied (and validated).

    Args:
        fixtures: Fixture mode (live, record, replay, auto).
        cases: A directory or file of case YAML replacing the suite's cases; a ``.jsonl`` file
            keeps the suite's importer.
        prompts: stage -> version, merged over the suite's.
        model: The drafter's model.

    Raises:
        ConfigError: A bad override.
    """
    s = suite.model_copy(deep=True)
    if fixtures is not None:
        if fixtures not in ("live", "record", "replay", "auto"):
            raise ConfigError(
                f"unknown fixture mode '{fixtures}' (live, record, replay, auto)", field="--fixtures"
            )
        s.fixtures.mode = cast(FixtureMode, fixtures)
    if cases is not None:
        p = str(Path(cases).expanduser().resolve())
        if p.endswith(".jsonl") and s.cases.importer:
            s.cases = CaseSource(importer=s.cases.importer, path=p)
        else:
            s.cases = CaseSource(dir=p)
    if prompts:
        s.drafter.prompts = {**s.drafter.prompts, **prompts}
        check_prompt_versions(s)
    if model is not None:
        s.drafter.model = model
    return s


def load_case_source(source: CaseSource) -> tuple[list[Case], list[CaseFileError]]:
    """Load the cases a source names, with one error per file or record that did not load.

    ``ids`` keeps only the named cases; ``limit`` then keeps the first N (file order).

    Raises:
        CaseFileError: The directory or file cannot be read at all.
        ConfigError: Unknown importer.
    """
    if source.dir:
        from drafting.cases import load_cases

        result = load_cases([source.dir])
        cases, errors = result.cases, result.errors
        if len(errors) == 1 and not cases and not Path(source.dir).exists():
            raise errors[0]
    else:
        from drafting.importers import import_cases

        cases, errors = import_cases(source.importer or "", source.path or "", mapping=source.mapping)
    if source.ids is not None:
        wanted = set(source.ids)
        cases = [c for c in cases if c.id in wanted]
        # A record that did not load can be a wanted case only while a wanted id is missing;
        # otherwise a subset of a file would fail on records nobody asked for.
        if wanted <= {c.id for c in cases}:
            errors = []
    if source.limit is not None:
        cases = cases[: source.limit]
        # Errors past the limit would not have been drafted either.
        errors = errors[: max(0, source.limit - len(cases))]
    return cases, errors
