"""Importers: turn external datasets into `Case` objects, behind one small interface.

An importer yields, per record, either a `Case` or the `CaseFileError` that record raised, so that
one bad record never stops an import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from drafting.cases import validation_error_to_input_error
from drafting.errors import CaseFileError, ConfigError
from drafting.schema import Case, CaseInput, Diagnosis, Differential, ImagingStudy, Report


class Importer(Protocol):
    """Reads one dataset format."""

    name: str

    def iter_cases(self, path: Path) -> Iterator[Case | CaseFileError]:
        """Yield a case, or the error of a bad record, per record in ``path``."""
        ...


_BULLET = re.compile(r"^\s*(?:[-–—•»*·]+|\d+[.)])\s*")
_AGE = re.compile(r"\b(\d{1,3})\s*-?\s*(?:years?|yrs?|yo|y/o|y\.\s?o\.?)(?![a-z])", re.I)
_AGE_INFANT = re.compile(r"\b\d{1,2}\s*-?\s*(?:months?|mo|weeks?|wk|days?)\s*-?\s*old\b", re.I)
_FEMALE = re.compile(r"\b(?:female|woman|girl|lady|f|[wbha]f)\b", re.I)
_MALE = re.compile(r"\b(?:male|man|boy|gentleman|m|[wbha]m)\b", re.I)
_FEMALE_PRONOUN = re.compile(r"\b(?:she|her)\b", re.I)
_MALE_PRONOUN = re.compile(r"\b(?:he|his|him)\b", re.I)
_MODALITY_WORDS = {
    "CT": re.compile(r"\bCT\b|computed tomograph", re.I),
    "MRI": re.compile(r"\bMRI?\b|magnetic resonance|\bT1\b|\bT2\b|FLAIR", re.I),
    "X-ray": re.compile(r"radiograph|x-ray|\bfilm\b", re.I),
    "ultrasound": re.compile(r"ultrasound|sonograph|\bUS\b|doppler", re.I),
    "nuclear medicine": re.compile(r"\bPET\b|scintigra|bone scan|SPECT", re.I),
    "angiography": re.compile(r"angiogra", re.I),
}
_EMPTY_MARKERS = {"", "n/a", "na", "none", "null", "-"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = str(value).strip()
    return "" if text.lower() in _EMPTY_MARKERS else text


def split_differentials(text: str) -> list[str]:
    """Split a newline- and bullet-separated differential list into names.

    A line marked ``»`` that heads a group of ``•`` items is a group heading, not a diagnosis.
    """
    lines = [ln.rstrip() for ln in text.replace("\r", "\n").split("\n")]
    lines = [ln for ln in lines if ln.strip()]
    names: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if stripped.startswith("»") and nxt.startswith("•"):
            continue
        name = _BULLET.sub("", stripped).strip().rstrip(".").strip()
        if name:
            names.append(name)
    return names


def parse_age_sex(history: str) -> tuple[int | None, str]:
    """Age in years and sex as stated in a free-text history ("47 yo man", "18 y/o male")."""
    age: int | None = None
    if m := _AGE.search(history):
        age = int(m.group(1))
        if age > 130:
            age = None
    elif _AGE_INFANT.search(history):
        age = 0
    head = history[:120]
    sex = _first_sex(head, _FEMALE, _MALE) or _first_sex(head, _FEMALE_PRONOUN, _MALE_PRONOUN)
    return age, sex or "unknown"


def _first_sex(text: str, female_rx: re.Pattern[str], male_rx: re.Pattern[str]) -> str:
    female, male = female_rx.search(text), male_rx.search(text)
    if female and (not male or female.start() < male.start()):
        return "female"
    if male:
        return "male"
    return ""


def guess_modalities(findings: str, *, has_ct: bool, has_mri: bool) -> str:
    """Modalities named in the findings text, else those of the listed image files."""
    found = [name for name, rx in _MODALITY_WORDS.items() if rx.search(findings)]
    if not found:
        found = [m for m, present in (("CT", has_ct), ("MRI", has_mri)) if present]
    return ", ".join(found)


class MedPixImporter:
    """MedPix 2.0 JSONL (one case per line; see ``../shared/datasets/README.md``).

    History, Exam and Findings become input; Case Diagnosis, Differential Diagnosis and Discussion
    become gold. Title and Topic are kept as metadata (title, topic), never as input.
    """

    name = "medpix"

    def iter_cases(self, path: Path) -> Iterator[Case | CaseFileError]:
        """Yield one case (or its error) per JSON line of ``path``."""
        try:
            handle = path.open(encoding="utf-8")
        except OSError as exc:
            raise CaseFileError(f"cannot read file ({exc.strerror})", path=path) from None
        with handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{lineno}"
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield CaseFileError(f"invalid JSON ({exc.msg})", path=where)
                    continue
                try:
                    yield self.record_to_case(record, source_path=where)
                except CaseFileError as exc:
                    yield exc

    def record_to_case(self, record: Any, *, source_path: str = "") -> Case:
        """Map one MedPix record to a `Case`.

        Raises:
            CaseFileError: The record is not an object or lacks what a case needs.
        """
        if not isinstance(record, dict):
            raise CaseFileError("expected a JSON object", path=source_path)
        case = record.get("Case") or {}
        topic = record.get("Topic") or {}
        uid = _text(record.get("U_id"))
        if not uid:
            raise CaseFileError("required field is missing", path=source_path, field="U_id")
        history = _text(case.get("History"))
        exam = _text(case.get("Exam"))
        findings = _text(case.get("Findings"))
        if not (history or exam or findings):
            raise CaseFileError(
                "no History, Exam or Findings: nothing to draft from", path=source_path,
                field="Case.Findings",
            )
        age, sex = parse_age_sex(history)
        clinical = history + (f"\nExamination: {exam}" if exam else "")
        imaging = []
        if findings:
            modality = guess_modalities(
                findings, has_ct=bool(record.get("TAC")), has_mri=bool(record.get("MRI"))
            )
            imaging.append(ImagingStudy(modality=modality, region="", description=findings))
        diagnosis = _text(case.get("Case Diagnosis"))
        differentials = [
            Differential(name=n) for n in split_differentials(_text(case.get("Differential Diagnosis")))
        ]
        try:
            return Case(
                id=uid,
                title=_text(case.get("Title")),
                source=f"MedPix 2.0 (CHILab1/MedPix-2.0 @ d3bc431), case {uid}",
                license="MedPix teaching case: research and education use with citation; "
                "not redistributed with this project",
                topic=_text(topic.get("Title")),
                input=CaseInput(age=age, sex=sex, clinical_history=clinical, imaging=imaging),
                gold=Report(
                    diagnosis=Diagnosis(
                        primary=diagnosis,
                        reasoning=_text(case.get("Discussion")),
                        differentials=differentials,
                    ),
                    final_diagnosis=diagnosis,
                ),
            )
        except ValidationError as exc:
            raise validation_error_to_input_error(exc, path=source_path) from None


IMPORTERS: dict[str, Importer] = {"medpix": MedPixImporter()}


def get_importer(name: str) -> Importer:
    """The importer registered under ``name``.

    Raises:
        ConfigError: No importer has that name.
    """
    try:
        return IMPORTERS[name]
    except KeyError:
        known = ", ".join(sorted(IMPORTERS))
        raise ConfigError(f"unknown importer '{name}' (known: {known})", field="importer") from None


def import_cases(importer: str, path: str | Path) -> tuple[list[Case], list[CaseFileError]]:
    """Run an importer over a file, returning the cases and the per-record errors.

    Raises:
        ConfigError: Unknown importer.
        CaseFileError: The file cannot be read at all.
    """
    cases: list[Case] = []
    errors: list[CaseFileError] = []
    for item in get_importer(importer).iter_cases(Path(path)):
        if isinstance(item, CaseFileError):
            errors.append(item)
        else:
            cases.append(item)
    return cases, errors
