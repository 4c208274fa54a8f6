"""The MedPix 2.0 importer: one JSON object per line (see ``../shared/datasets/README.md``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from drafting.cases import validation_error_to_input_error
from drafting.errors import CaseFileError, InputError
from drafting.importers.textparse import clean_text as _text
from drafting.importers.textparse import guess_modalities, parse_age_sex, split_list
from drafting.safe_io import open_regular_file
from drafting.schema import Case, CaseInput, Diagnosis, Differential, ImagingStudy, Report


class MedPixImporter:
    """MedPix 2.0 JSONL (one case per line; see ``../shared/datasets/README.md``).

    History, Exam and Findings become input; Case Diagnosis, Differential Diagnosis and Discussion
    become gold. Title and Topic are kept as metadata (title, topic), never as input.
    """

    name = "medpix"

    def iter_cases(self, path: Path) -> Iterator[Case | CaseFileError]:
        """Yield one case (or its error) per JSON line of ``path``.

        ``path`` may be a directory: each ``*.jsonl`` file under it is read in name order, and a
        file that cannot be read is one error, not the end of the import.
        """
        if path.is_dir():
            files = sorted(f for f in path.rglob("*.jsonl") if not f.is_dir())
            if not files:
                raise CaseFileError("directory holds no *.jsonl files", path=path)
            for f in files:
                try:
                    yield from self._iter_file(f)
                except CaseFileError as exc:
                    yield exc
            return
        yield from self._iter_file(path)

    def _iter_file(self, path: Path) -> Iterator[Case | CaseFileError]:
        try:
            handle = open_regular_file(path)
        except InputError as exc:
            raise CaseFileError(exc.message, path=path) from None
        with handle:
            for lineno, raw in enumerate(handle, start=1):
                where = f"{path}:{lineno}"
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:  # one bad line, not the whole file
                    yield CaseFileError(f"not UTF-8 text (byte {exc.start})", path=where)
                    continue
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield CaseFileError(f"invalid JSON ({exc.msg})", path=where)
                    continue
                try:
                    yield self.record_to_case(record, source_path=where)
                except CaseFileError as exc:
                    yield exc
                except RecursionError:
                    yield CaseFileError("record nested too deeply", path=where)

    def record_to_case(self, record: Any, *, source_path: str = "") -> Case:
        """Map one MedPix record to a `Case`.

        Raises:
            CaseFileError: The record is not an object or lacks what a case needs.
        """
        if not isinstance(record, dict):
            raise CaseFileError("expected a JSON object", path=source_path)
        case = record.get("Case") or {}
        topic = record.get("Topic") or {}
        for name, value in (("Case", case), ("Topic", topic)):
            if not isinstance(value, dict):
                raise CaseFileError(
                    f"expected an object, found {type(value).__name__}", path=source_path,
                    field=name,
                )
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
            Differential(name=n) for n in split_list(_text(case.get("Differential Diagnosis")))
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


