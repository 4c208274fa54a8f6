"""Importers: turn external data into `Case` objects, behind one small interface.

An importer yields, per record, either a `Case` or the `CaseFileError` that record raised, so that
one bad record never stops an import. Three ship with the package:

- ``medpix``: MedPix 2.0 JSONL (`medpix.MedPixImporter`);
- ``tabular``: a team's own CSV or JSONL export, with a YAML mapping from its columns to case
  fields (`tabular.TabularImporter`);
- ``reports``: free-text radiology reports split on their section headings, HISTORY / FINDINGS /
  IMPRESSION / RECOMMENDATIONS and the like (`reports.ReportImporter`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from drafting.errors import CaseFileError, ConfigError
from drafting.importers.medpix import MedPixImporter
from drafting.importers.reports import ReportImporter
from drafting.importers.tabular import TabularImporter
from drafting.importers.textparse import parse_age_sex, split_list
from drafting.schema import Case

__all__ = [
    "IMPORTERS",
    "Importer",
    "MedPixImporter",
    "ReportImporter",
    "TabularImporter",
    "get_importer",
    "import_cases",
    "parse_age_sex",
    "split_list",
]


class Importer(Protocol):
    """Reads one data format."""

    name: str

    def iter_cases(self, path: Path) -> Iterator[Case | CaseFileError]:
        """Yield a case, or the error of a bad record, per record in ``path``."""
        ...


#: Importer name -> factory taking the optional mapping file (`--mapping`, a suite's ``mapping``).
IMPORTERS: dict[str, Callable[[Path | None], Importer]] = {
    "medpix": lambda mapping: MedPixImporter(),
    "tabular": lambda mapping: TabularImporter.from_mapping_file(mapping),
    "reports": lambda mapping: ReportImporter.from_heading_file(mapping),
}

#: Importers that cannot run without a mapping file.
NEEDS_MAPPING = {"tabular"}


def get_importer(name: str, mapping: str | Path | None = None) -> Importer:
    """The importer registered under ``name``, configured by its mapping file if it takes one.

    Raises:
        ConfigError: No importer has that name, it needs a mapping that was not given, or the
            mapping file is invalid (the message names the file and field).
    """
    if name not in IMPORTERS:
        known = ", ".join(sorted(IMPORTERS))
        raise ConfigError(f"unknown importer '{name}' (known: {known})", field="importer")
    if name in NEEDS_MAPPING and mapping is None:
        raise ConfigError(
            f"the '{name}' importer needs a mapping file (--mapping FILE, or 'mapping:' in a suite)",
            field="mapping",
        )
    if name == "medpix" and mapping is not None:
        raise ConfigError("the 'medpix' importer takes no mapping file", field="mapping")
    return IMPORTERS[name](Path(mapping) if mapping is not None else None)


def import_cases(
    importer: str,
    path: str | Path,
    *,
    mapping: str | Path | None = None,
    warnings: list[str] | None = None,
) -> tuple[list[Case], list[CaseFileError]]:
    """Run an importer over a file or folder, returning the cases and the per-record errors.

    Args:
        importer: A name in `IMPORTERS`.
        path: The data file (or, for ``reports``, a folder of report files).
        mapping: The importer's mapping file (required by ``tabular``, optional for ``reports``).
        warnings: When given, non-fatal remarks (e.g. report headings that were ignored) are
            appended to it, one line each.

    Raises:
        ConfigError: Unknown importer, or a missing or invalid mapping.
        CaseFileError: The data cannot be read at all.
    """
    reader = get_importer(importer, mapping)
    cases: list[Case] = []
    errors: list[CaseFileError] = []
    for item in reader.iter_cases(Path(path)):
        if isinstance(item, CaseFileError):
            errors.append(item)
        else:
            cases.append(item)
    if warnings is not None:
        warnings.extend(getattr(reader, "warnings", []))
    return cases, errors
