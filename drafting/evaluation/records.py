"""Typed, versioned run records: what a run directory and a baseline file hold.

Every file carries ``format`` (`FORMAT_VERSION`): each row of ``results.jsonl`` (`CaseRow`),
``summary.json`` (`RunSummary`), ``config.json`` (`RunConfig`) and a baseline (`Baseline`).
Field order is part of the format: the files are written in the models' field order.

Readers accept the current version. Files written before versions existed carry no number and
have the layout of version 1, so they are read as version 1. Any other version stops the reader
with a `RecordFormatError` naming the file, the version found and what to do.

Extension point: `RunSummary.notes` holds run-level notes (a contamination report, a warning
about the run) as `RunNote` entries, so a new check can report in ``summary.json`` and
``report.html`` without a format change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from drafting.cases import first_validation_problem
from drafting.errors import ConfigError, RecordFormatError
from drafting.evaluation.metrics.base import MetricMeta, MetricResult
from drafting.evaluation.suite import Suite
from drafting.schema import Draft

#: The format version of every record file this version of drafting writes and reads.
FORMAT_VERSION = 1

R = TypeVar("R", bound="Record")


class Record(BaseModel):
    """Base of the record models: unknown fields are ignored (a same-version file may carry more)."""

    model_config = ConfigDict(extra="ignore")


# --- results.jsonl -------------------------------------------------------------------------------


class CaseError(Record):
    """Why a case failed: exception type, first line of the message, stage when known."""

    type: str
    message: str = ""
    stage: str | None = None


class Timings(Record):
    """Seconds spent drafting and scoring one case."""

    draft_s: float = 0.0
    score_s: float = 0.0


class TokenCounts(Record):
    """Model tokens of one case, over every stage."""

    prompt: int = 0
    completion: int = 0
    total: int = 0


class CaseRow(Record):
    """One case of a run: one line of ``results.jsonl``.

    Attributes:
        case_id: The case id (a load error: ``load-error:<full path>``, never a case id).
        kind: ``case``, or ``load_error`` for a case file or record that did not load.
        case_sha256: Hash of the case's content, so that a resumed run re-drafts a changed
            case (empty in rows written before it existed).
        status: ``ok`` (drafted; metrics scored) or ``failed`` (see ``error``).
        error: Why the case failed.
        draft: The draft, when there is one.
        metrics: One result per metric, in suite order.
        timings: Drafting and scoring seconds.
        tokens: Model tokens.
        fixture_keys: Recorded exchanges the case used (replay and record modes).
    """

    format: int = FORMAT_VERSION
    case_id: str
    status: Literal["ok", "failed"]
    error: CaseError | None = None
    draft: Draft | None = None
    metrics: list[MetricResult] = Field(default_factory=list)
    timings: Timings = Field(default_factory=Timings)
    tokens: TokenCounts = Field(default_factory=TokenCounts)
    fixture_keys: list[str] = Field(default_factory=list)
    kind: Literal["case", "load_error"] = "case"
    case_sha256: str = ""

    def scored_value(self, metric: str) -> float | None:
        """The scored value of one metric for this case, or None."""
        for result in self.metrics:
            if result.name == metric and result.status == "scored":
                return result.value
        return None


# --- summary.json --------------------------------------------------------------------------------


class MetricSummary(Record):
    """One metric over a run's cases: its meta, mean with a bootstrap 95% interval, counts."""

    section: str = "other"
    kind: str = ""
    higher_is_better: bool = True
    bounded: bool = True
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    not_applicable: int = 0
    unscored: int = 0
    failed: int = 0
    min: float | None = None
    max: float | None = None
    std: float | None = None


class CaseCounts(Record):
    """Cases in a run: total, drafted (ok) and failed."""

    total: int = 0
    ok: int = 0
    failed: int = 0


class TokenTotals(Record):
    """Tokens over a run."""

    total: int = 0
    per_case_mean: float | None = None


class TimingTotals(Record):
    """Seconds over a run."""

    draft_s_total: float = 0.0
    score_s_total: float = 0.0
    draft_s_mean: float | None = None
    score_s_mean: float | None = None


class RunNote(Record):
    """A run-level note: a finding about the run as a whole (e.g. kind ``contamination``).

    Attributes:
        kind: A short machine-readable kind.
        message: One line for people.
        details: Structured evidence (ids, similarities, ...).
    """

    kind: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class JudgeAgreement(Record):
    """How often the LLM judge (``judge.diagnosis_equivalence``) agrees with the deterministic
    diagnosis matcher over a run (see `drafting.evaluation.metrics.judge_diagnosis.agreement`).

    Attributes:
        n: Cases with both a judge verdict and a matcher verdict.
        agree: Of those, cases where the two verdicts (same / partial / different) are equal.
        rate: ``agree / n`` (None when ``n`` is 0).
        kappa: Cohen's kappa of the two verdicts (agreement beyond chance).
        hit_agreement: Agreement on "same" vs not (what the hit metrics count).
        unscored: Cases the judge left unscored (no usable reply).
        confusion: ``"judge/matcher"`` verdict pair -> count.
    """

    n: int = 0
    agree: int = 0
    rate: float | None = None
    kappa: float | None = None
    hit_agreement: float | None = None
    unscored: int = 0
    confusion: dict[str, int] = Field(default_factory=dict)

    def line(self) -> str:
        """One line for people: "agree on 17/20 diagnoses (85%; kappa 0.71; same vs not 90%)"."""
        unscored = f"; {self.unscored} unscored" if self.unscored else ""
        if not self.n or self.rate is None:
            return f"no case with both verdicts{unscored}"
        kappa = f"kappa {self.kappa:.2f}" if self.kappa is not None else "kappa n/a"
        hits = f"same vs not {self.hit_agreement:.0%}" if self.hit_agreement is not None else ""
        return f"agree on {self.agree}/{self.n} diagnoses ({self.rate:.0%}; {kappa}; {hits}){unscored}"

    def message(self) -> str:
        """The run note: `line` with the verdict pairs ("judge/matcher: different/same 1, ...")."""
        pairs = ", ".join(f"{pair} {count}" for pair, count in sorted(self.confusion.items()))
        tail = f"; judge/matcher: {pairs}" if pairs else ""
        return f"LLM judge vs diagnosis matcher: {self.line()}{tail}"


class RunSummary(Record):
    """``summary.json``: the run's aggregates, computed from ``results.jsonl`` sorted by case id."""

    format: int = FORMAT_VERSION
    run_id: str = ""
    suite: str = ""
    config_hash: str = ""
    thresholds: dict[str, float] = Field(default_factory=dict)
    cases: CaseCounts = Field(default_factory=CaseCounts)
    metrics: dict[str, MetricSummary] = Field(default_factory=dict)
    sections: dict[str, list[str]] = Field(default_factory=dict)
    failures: dict[str, str] = Field(default_factory=dict)
    tokens: TokenTotals = Field(default_factory=TokenTotals)
    timings: TimingTotals = Field(default_factory=TimingTotals)
    notes: list[RunNote] = Field(default_factory=list)
    #: case id -> review flags of its draft (drafting.injection): drafted, but not silently ok.
    flagged: dict[str, list[str]] = Field(default_factory=dict)
    #: Case files (or importer records) that did not load; counted among the failed cases.
    load_errors: int = 0
    #: The LLM judge's agreement with the diagnosis matcher (only when a judge endpoint is
    #: configured and the suite has ``judge.diagnosis_equivalence``).
    judge_agreement: JudgeAgreement | None = None


# --- config.json ---------------------------------------------------------------------------------


class PromptRecord(Record):
    """A prompt version used by the run, with its content hash and what the version changes."""

    version: str
    sha256: str | None = None
    description: str = ""


class RunConfig(Record):
    """``config.json``: what the run was asked to do. Never an API key.

    ``endpoint`` and ``judge`` are the endpoints' own descriptions (`Endpoint.describe`).
    """

    format: int = FORMAT_VERSION
    run_id: str
    created_at: str = ""
    suite_file: str | None = None
    suite: Suite
    config_hash: str = ""
    endpoint: dict[str, Any] | None = None
    judge: dict[str, Any] | None = None
    prompts: dict[str, PromptRecord] = Field(default_factory=dict)
    metrics: dict[str, MetricMeta] = Field(default_factory=dict)
    draft_fn: str = "default"
    drafting_version: str = ""
    python: str = ""


# --- baselines -----------------------------------------------------------------------------------


class BaselineMetric(Record):
    """One metric of a baseline: summary figures and the per-case values (for pairing)."""

    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    section: str = "other"
    higher_is_better: bool = True
    bounded: bool = True
    values: dict[str, float] = Field(default_factory=dict)


class Baseline(Record):
    """A baseline file (``eval/baselines/<suite>.json``), written by `drafting eval baseline`."""

    format: int = FORMAT_VERSION
    suite: str = ""
    run_id: str = ""
    config_hash: str = ""
    created_at: str = ""
    cases: CaseCounts = Field(default_factory=CaseCounts)
    metrics: dict[str, BaselineMetric] = Field(default_factory=dict)


# --- reading -------------------------------------------------------------------------------------

_REDO = {
    "baseline": "write it again from a run with `drafting eval baseline RUN --out FILE`",
    "results": "re-run the suite",
    "summary": "re-run the suite",
    "config": "re-run the suite",
}


def check_format(data: Mapping[str, Any], *, path: str | Path, what: str) -> None:
    """Accept the current format version (a file without one is version 1); else say what to do.

    Args:
        data: The parsed file (or row).
        path: The file, for the message.
        what: ``results``, ``summary``, ``config`` or ``baseline``.

    Raises:
        RecordFormatError: Another version.
    """
    found = data.get("format", 1)  # written before versions existed: the version-1 layout
    if found == FORMAT_VERSION:
        return
    if isinstance(found, int) and not isinstance(found, bool) and found > FORMAT_VERSION:
        raise RecordFormatError(
            f"{what} format {found} is newer than this drafting reads ({FORMAT_VERSION}); "
            "upgrade drafting to read it",
            path=path,
        )
    raise RecordFormatError(
        f"{what} format {found!r} is not one this drafting reads ({FORMAT_VERSION}); "
        f"{_REDO.get(what, 're-create the file')}",
        path=path,
    )


def validate_record(model: type[R], data: Any, *, path: str | Path, what: str) -> R:
    """Validate parsed JSON as a record, with the version checked first.

    Raises:
        RecordFormatError: Another format version.
        ConfigError: Not a JSON object, or a field that does not validate (named in the message).
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"not a {what} file (expected a JSON object)", path=path)
    check_format(data, path=path, what=what)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        msg, field = first_validation_problem(exc)
        raise ConfigError(f"not a valid {what} file: {msg}", path=path, field=field) from None


def dump_record(record: Record) -> str:
    """A record as indented JSON text, in field order, with a trailing newline."""
    return json.dumps(record.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
