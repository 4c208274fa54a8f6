"""The tabular importer: a team's own CSV or JSONL export, mapped to case fields by a YAML file.

A mapping names, for each case field, the column (or columns, joined by blank lines) it comes from.
Input and gold are kept apart: a column may feed the input or the gold, never both, because only
the input ever reaches a prompt. Example (``tests/data/import/tabular/mapping.yaml``)::

    id: report_id
    title: exam_name            # optional metadata, never input
    source: "St Elsewhere PACS export 2026-10"
    license: "internal use only"
    input:
      age: patient_age          # "54", "54 y" or "54-year-old"
      sex: patient_sex          # F/M/female/male/...
      clinical_history: [indication, history]
      imaging:
        - description: findings
          modality: modality
          region: body_part
      labs: labs
    gold:
      diagnosis: impression     # primary diagnosis (its first item when it is a list)
      differentials: ddx        # one per line, or bullets / numbers, or separated by ';'
      final_diagnosis: final_dx # defaults to the primary diagnosis
      reasoning: discussion
      findings: gold_findings
      rehabilitation:
        goals: rehab_goals
        precautions: precautions
        monitoring: follow_up

JSONL fields may be nested: ``patient.age`` reads ``{"patient": {"age": 54}}``.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from drafting.cases import read_config_mapping, validation_error_to_input_error
from drafting.errors import CaseFileError, ConfigError
from drafting.importers.gold import gold_report
from drafting.importers.textparse import clean_text, parse_age_sex, split_list
from drafting.schema import Case, CaseInput, ImagingStudy, is_safe_case_id

#: A column name, or several whose texts are joined.
Columns = str | list[str]

_AGE_NUMBER = re.compile(r"^\s*(\d{1,3})(?:\s*(?:y|yr|yrs|years?|yo|y/o|-year-old))?\s*$", re.I)
_SEMICOLONS = re.compile(r"\s*;\s*")


class _MapModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ImagingMap(_MapModel):
    """Columns of one imaging study."""

    description: str
    modality: str | None = None
    region: str | None = None


class InputMap(_MapModel):
    """Columns that become the case input (what reaches a prompt)."""

    clinical_history: Columns | None = None
    age: str | None = None
    sex: str | None = None
    imaging: list[ImagingMap] = Field(default_factory=list)
    labs: Columns | None = None

    @model_validator(mode="after")
    def _has_text(self) -> InputMap:
        if not self.clinical_history and not self.imaging:
            raise ValueError("map at least one of input.clinical_history or input.imaging")
        return self


class RehabilitationMap(_MapModel):
    """Columns of the gold rehabilitation plan (each split into items)."""

    goals: str | None = None
    precautions: str | None = None
    monitoring: str | None = None


class GoldMap(_MapModel):
    """Columns that become the gold report (never input)."""

    findings: Columns | None = None
    diagnosis: str | None = None
    reasoning: Columns | None = None
    differentials: str | None = None
    final_diagnosis: str | None = None
    rehabilitation: RehabilitationMap = Field(default_factory=RehabilitationMap)


class TabularMapping(_MapModel):
    """A mapping file: the file's format and which column feeds which case field."""

    format: Literal["csv", "jsonl"] | None = Field(None, description="Default: from the file suffix.")
    delimiter: str = Field(",", min_length=1, max_length=1)
    id: str
    title: str | None = None
    topic: str | None = None
    source: str = ""
    license: str = ""
    input: InputMap
    gold: GoldMap = Field(default_factory=GoldMap)

    @field_validator("id")
    @classmethod
    def _column_named(cls, value: str) -> str:
        if not value:
            raise ValueError("name the column that holds each case's id")
        return value

    def input_columns(self) -> dict[str, str]:
        """Column -> the input field it feeds."""
        return _columns_of(self.input.model_dump(), "input")

    def gold_columns(self) -> dict[str, str]:
        """Column -> the gold (or metadata) field it feeds."""
        cols = _columns_of(self.gold.model_dump(), "gold")
        for name in ("title", "topic"):
            if value := getattr(self, name):
                cols[value] = name
        return cols


def _columns_of(data: Any, where: str) -> dict[str, str]:
    """Every column a (dumped) map names, with the dotted field that names it."""
    found: dict[str, str] = {}
    if isinstance(data, str):
        found[data] = where
    elif isinstance(data, list):
        for i, item in enumerate(data):
            found.update(_columns_of(item, f"{where}.{i}" if not isinstance(item, str) else where))
    elif isinstance(data, dict):
        for key, value in data.items():
            if value is not None:
                found.update(_columns_of(value, f"{where}.{key}"))
    return found


def load_mapping(path: str | Path) -> TabularMapping:
    """Read and validate a mapping file.

    Raises:
        ConfigError: The file cannot be read, is not valid YAML, or does not validate; the message
            names the file and the field. A column mapped to both input and gold is refused.
    """
    data = read_config_mapping(path, what="case fields to column names")
    try:
        mapping = TabularMapping.model_validate(data)
    except ValidationError as exc:
        raise validation_error_to_input_error(exc, path=path, error_type=ConfigError) from None
    both = set(mapping.input_columns()) & (set(mapping.gold_columns()) | {mapping.id})
    if both:
        column = min(both)
        raise ConfigError(
            f"column '{column}' feeds both the input and {mapping.gold_columns().get(column, 'id')}: "
            "gold must never reach the prompt",
            path=path,
            field=mapping.input_columns()[column],
        )
    return mapping


class TabularImporter:
    """CSV or JSONL records mapped to cases by a `TabularMapping`."""

    name = "tabular"

    def __init__(self, mapping: TabularMapping, *, mapping_path: str | Path = "mapping"):
        self.mapping = mapping
        self.mapping_path = str(mapping_path)

    @classmethod
    def from_mapping_file(cls, path: Path | None) -> TabularImporter:
        """The importer configured by the mapping file at ``path``.

        Raises:
            ConfigError: No mapping file, or an invalid one.
        """
        if path is None:
            raise ConfigError("the 'tabular' importer needs a mapping file", field="mapping")
        return cls(load_mapping(path), mapping_path=path)

    def iter_cases(self, path: Path) -> Iterator[Case | CaseFileError]:
        """Yield one case (or its error) per row of a CSV file or line of a JSONL file.

        Raises:
            CaseFileError: The file cannot be read at all.
            ConfigError: The mapping names a CSV column the file does not have.
        """
        fmt = self.mapping.format or ("jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv")
        rows = self._csv_rows(path) if fmt == "csv" else self._jsonl_rows(path)
        for where, row in rows:
            if isinstance(row, CaseFileError):
                yield row
                continue
            try:
                yield self.row_to_case(row, source_path=where)
            except CaseFileError as exc:
                yield exc

    def _csv_rows(self, path: Path) -> Iterator[tuple[str, dict[str, Any] | CaseFileError]]:
        try:
            handle = path.open(encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise CaseFileError(f"cannot read file ({exc.strerror})", path=path) from None
        with handle:
            reader = csv.DictReader(handle, delimiter=self.mapping.delimiter)
            try:
                header = reader.fieldnames or []
            except (UnicodeDecodeError, csv.Error) as exc:
                raise CaseFileError(f"cannot read the CSV header ({exc})", path=path) from None
            self._check_columns(header, path)
            line = 1
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except (UnicodeDecodeError, csv.Error) as exc:
                    yield f"{path}:{reader.line_num}", CaseFileError(
                        f"unreadable row ({exc})", path=f"{path}:{reader.line_num}"
                    )
                    return
                line = reader.line_num
                yield f"{path}:{line}", row

    def _check_columns(self, header: Sequence[str], path: Path) -> None:
        named = {self.mapping.id, *self.mapping.input_columns(), *self.mapping.gold_columns()}
        missing = sorted(c for c in named if c not in header)
        if missing:
            fields = {**self.mapping.gold_columns(), **self.mapping.input_columns(), self.mapping.id: "id"}
            raise ConfigError(
                f"column '{missing[0]}' is not in {path.name} (its columns: {', '.join(header) or 'none'})",
                path=self.mapping_path,
                field=fields[missing[0]],
            )

    def _jsonl_rows(self, path: Path) -> Iterator[tuple[str, dict[str, Any] | CaseFileError]]:
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise CaseFileError(f"cannot read file ({exc.strerror})", path=path) from None
        with handle:
            for lineno, raw in enumerate(handle, start=1):
                where = f"{path}:{lineno}"
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    yield where, CaseFileError(f"not UTF-8 text (byte {exc.start})", path=where)
                    continue
                except json.JSONDecodeError as exc:
                    yield where, CaseFileError(f"invalid JSON ({exc.msg})", path=where)
                    continue
                if not isinstance(record, dict):
                    yield where, CaseFileError("expected a JSON object", path=where)
                    continue
                yield where, record

    def row_to_case(self, row: Mapping[str, Any], *, source_path: str = "") -> Case:
        """Map one record to a `Case`.

        Raises:
            CaseFileError: The record lacks an id or does not make a valid case.
        """
        m = self.mapping
        case_id = _cell(row, m.id)
        if not case_id:
            raise CaseFileError("the id column is empty", path=source_path, field=m.id)
        if not is_safe_case_id(case_id):
            raise CaseFileError(
                f"id '{case_id[:40]}' is not a safe case id (letters, digits, '.', '_', '-')",
                path=source_path,
                field=m.id,
            )
        history = _joined(row, m.input.clinical_history)
        age, sex = _age_sex(row, m.input, history)
        imaging = [
            ImagingStudy(
                description=_cell(row, study.description),
                modality=_cell(row, study.modality),
                region=_cell(row, study.region),
            )
            for study in m.input.imaging
            if _cell(row, study.description)
        ]
        primary_items = split_list(_cell(row, m.gold.diagnosis))
        primary = primary_items[0] if primary_items else ""
        differentials = [*primary_items[1:], *_items(_cell(row, m.gold.differentials))]
        rehab = m.gold.rehabilitation
        try:
            return Case(
                id=case_id,
                title=_cell(row, m.title),
                topic=_cell(row, m.topic),
                source=m.source or f"imported from {Path(source_path.rsplit(':', 1)[0]).name}",
                license=m.license,
                input=CaseInput(
                    age=age,
                    sex=sex,
                    clinical_history=history,
                    imaging=imaging,
                    labs=_joined(row, m.input.labs),
                ),
                gold=gold_report(
                    primary,
                    reasoning=_joined(row, m.gold.reasoning),
                    differentials=differentials,
                    final_diagnosis=_cell(row, m.gold.final_diagnosis),
                    findings=_joined(row, m.gold.findings),
                    goals=_items(_cell(row, rehab.goals)),
                    precautions=_items(_cell(row, rehab.precautions)),
                    monitoring=_items(_cell(row, rehab.monitoring)),
                ),
            )
        except ValidationError as exc:
            raise validation_error_to_input_error(exc, path=source_path) from None


def _lookup(row: Mapping[str, Any], column: str) -> Any:
    """A record's value for a column; a dotted name walks nested JSON objects."""
    if column in row:
        return row[column]
    value: Any = row
    for part in column.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _cell(row: Mapping[str, Any], column: str | None) -> str:
    if column is None:
        return ""
    value = _lookup(row, column)
    if isinstance(value, list):
        return "\n".join(clean_text(v) for v in value if clean_text(v))
    if isinstance(value, dict):
        return ""
    return clean_text(value)


def _joined(row: Mapping[str, Any], columns: Columns | None) -> str:
    if columns is None:
        return ""
    names = [columns] if isinstance(columns, str) else columns
    return "\n\n".join(t for t in (_cell(row, c) for c in names) if t)


def _items(text: str) -> list[str]:
    """List items from a cell: one per line or bullet, else separated by semicolons."""
    items = split_list(text)
    if len(items) == 1 and ";" in items[0]:
        items = [i for i in _SEMICOLONS.split(items[0]) if i]
    return items


def _age_sex(row: Mapping[str, Any], inp: InputMap, history: str) -> tuple[int | None, str]:
    """Age and sex from their columns, else as the history states them."""
    guessed_age, guessed_sex = parse_age_sex(history)
    age: int | None = guessed_age
    if inp.age is not None:
        raw = _lookup(row, inp.age)
        if isinstance(raw, bool):
            raw = None  # a JSON true/false is not an age
        text = clean_text(raw)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            age = int(raw)
        elif m := _AGE_NUMBER.match(text):
            age = int(m.group(1))
        elif text:
            age = parse_age_sex(text)[0]
    sex = _cell(row, inp.sex) or guessed_sex
    return age, sex
