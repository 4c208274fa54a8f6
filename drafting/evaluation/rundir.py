"""A run directory on disk: ``config.json``, ``results.jsonl``, ``summary.json``, ``report.html``.

The files hold the typed records of `drafting.evaluation.records`; this module reads and writes
them and loads a directory as a `Run`.

``results.jsonl`` holds one JSON object per case, appended (flushed and fsynced) as each case
finishes, so a killed run loses at most the case being written; a truncated last line is ignored
when reading and cut off before resuming.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drafting.errors import ConfigError
from drafting.evaluation.metrics.base import MetricMeta
from drafting.evaluation.records import (
    CaseRow,
    R,
    Record,
    RunConfig,
    RunSummary,
    dump_record,
    validate_record,
)

CONFIG = "config.json"
RESULTS = "results.jsonl"
SUMMARY = "summary.json"
REPORT = "report.html"
FIXTURES_USED = "fixtures_used.txt"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """``text`` with every run of characters outside ``[A-Za-z0-9._-]`` made one ``-``, trimmed
    of leading and trailing dots and dashes (may be empty)."""
    return _UNSAFE.sub("-", text).strip(".-")


def make_run_id(suite_name: str, config_hash: str, *, now: datetime | None = None) -> str:
    """``<UTC timestamp>-<suite>-<hash[:8]>``, made of ``[A-Za-z0-9._-]`` only.

    The suite name is sanitised, so a run id is always a single path component.
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    name = safe_name(suite_name)[:48] or "suite"
    short = hashlib.sha256(f"{config_hash}{stamp}".encode()).hexdigest()[:8]
    return f"{stamp}-{name}-{short}"


def create_run_dir(runs_root: Path, run_id: str) -> Path:
    """Create ``runs_root/run_id`` (never an existing one: a suffix is added on collision)."""
    if Path(run_id).name != run_id or run_id in {".", ".."}:
        raise ConfigError(f"unsafe run id '{run_id}'")
    runs_root.mkdir(parents=True, exist_ok=True)
    for i in range(1000):
        candidate = runs_root / (run_id if i == 0 else f"{run_id}-{i}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise ConfigError(f"cannot create a run directory under {runs_root}")  # pragma: no cover


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temp file + rename), trailing newline.

    Keys keep their (deterministic) insertion order: metrics stay in suite order.
    """
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_record(path: Path, record: Record) -> None:
    """Write a record (summary, config, baseline) atomically, in its field order."""
    write_text_atomic(path, dump_record(record))


def write_text_atomic(path: Path, text: str) -> None:
    """Write text through a temp file and a rename, so a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, "utf-8")
    tmp.replace(path)


def read_json(path: Path) -> Any:
    """Read a JSON file, as a ConfigError naming it when missing or invalid."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("file not found", path=path) from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read JSON ({exc})", path=path) from None


def read_record(path: Path, model: type[R], *, what: str) -> R:
    """Read a record file, version checked.

    Raises:
        ConfigError: Missing, not JSON or not valid (naming the file and field).
        RecordFormatError: A format version this drafting does not read.
    """
    return validate_record(model, read_json(path), path=path, what=what)


def read_results(path: Path) -> list[CaseRow]:
    """Rows of a results file in file order.

    A truncated last line (a killed run) and a line that is not JSON are skipped; a row in
    another format version, or one that does not validate, stops the reader with its line.

    Raises:
        RecordFormatError: A row in a format version this drafting does not read.
        ConfigError: A row that does not validate.
    """
    if not path.exists():
        return []
    rows: list[CaseRow] = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):
                break  # the last line of a killed run: not a finished case
            try:
                data = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(data, dict) and "case_id" in data:
                rows.append(validate_record(CaseRow, data, path=f"{path}:{number}", what="results"))
    return rows


def truncate_partial_line(path: Path) -> None:
    """Cut an unterminated last line (a write interrupted by a kill) before appending."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        with path.open("r+b") as handle:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())


class ResultsWriter:
    """Appends rows to results.jsonl, one line each, flushed and fsynced."""

    def __init__(self, path: Path):
        self.path = path
        self._handle = path.open("a", encoding="utf-8")

    def write(self, row: CaseRow) -> None:
        """Append one row as a single line (the draft serialised once, here)."""
        self._handle.write(row.model_dump_json() + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        """Close the file."""
        self._handle.close()


def unique_rows(rows: Iterable[CaseRow]) -> list[CaseRow]:
    """One row per case id (the first written wins), sorted by case id."""
    seen: dict[str, CaseRow] = {}
    for row in rows:
        seen.setdefault(row.case_id, row)
    return [seen[k] for k in sorted(seen)]


@dataclass
class Run:
    """A finished (or partial) run loaded from its directory.

    Attributes:
        dir: The run directory.
        config: config.json (None for a directory holding only results.jsonl).
        summary: summary.json (None until the run is finished).
        results: results.jsonl rows, one per case, sorted by case id.
    """

    dir: Path
    config: RunConfig | None = None
    summary: RunSummary | None = None
    results: list[CaseRow] = field(default_factory=list)

    @property
    def id(self) -> str:
        """The run id (the directory name)."""
        return self.dir.name

    @property
    def suite_name(self) -> str:
        """The suite's name as recorded in config.json."""
        return self.config.suite.name if self.config is not None else ""

    @property
    def report_path(self) -> Path:
        """Where report.html is."""
        return self.dir / REPORT

    def metric_meta(self) -> dict[str, MetricMeta]:
        """name -> how to read the metric: from config.json, else from the summary."""
        meta = dict(self.config.metrics) if self.config is not None else {}
        for name, summ in (self.summary.metrics if self.summary is not None else {}).items():
            meta.setdefault(
                name,
                MetricMeta(
                    section=summ.section,
                    kind=summ.kind,
                    higher_is_better=summ.higher_is_better,
                    bounded=summ.bounded,
                ),
            )
        return meta

    def values(self, metric: str) -> dict[str, float]:
        """case id -> scored value of one metric."""
        from drafting.evaluation.stats import metric_values

        return metric_values(self.results, metric)

    def to_pandas(self) -> Any:
        """One row per case x metric: case_id, case_status, metric, section, value, status, reason.

        A case that failed drafting gives one row with metric None and its error in ``reason``.
        """
        import pandas as pd

        meta = self.metric_meta()
        records: list[dict[str, Any]] = []
        for row in self.results:
            base = {"case_id": row.case_id, "case_status": row.status}
            if not row.metrics:
                records.append({**base, "metric": None, "section": None, "value": None,
                                "status": row.status,
                                "reason": row.error.message if row.error else ""})
            for result in row.metrics:
                records.append({
                    **base,
                    "metric": result.name,
                    "section": meta[result.name].section if result.name in meta else None,
                    "value": result.value,
                    "status": result.status,
                    "reason": result.reason,
                })
        columns = ["case_id", "case_status", "metric", "section", "value", "status", "reason"]
        return pd.DataFrame.from_records(records, columns=columns)


def load_run(run_dir: str | Path) -> Run:
    """Load a run directory into typed records.

    Directories written before format versions existed load as version 1.

    Raises:
        ConfigError: Not a run directory (no config.json or results.jsonl), or a file that does
            not validate.
        RecordFormatError: A file in a format version this drafting does not read.
    """
    d = Path(run_dir)
    if not d.is_dir():
        raise ConfigError("no such run directory", path=d)
    if not (d / CONFIG).exists() and not (d / RESULTS).exists():
        raise ConfigError("not a run directory (no config.json or results.jsonl)", path=d)
    config = read_record(d / CONFIG, RunConfig, what="config") if (d / CONFIG).exists() else None
    summary = (
        read_record(d / SUMMARY, RunSummary, what="summary") if (d / SUMMARY).exists() else None
    )
    return Run(dir=d, config=config, summary=summary,
               results=unique_rows(read_results(d / RESULTS)))
