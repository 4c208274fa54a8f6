"""The report importer: free-text radiology reports split on their section headings.

One report per ``.txt`` or ``.md`` file (a folder of them, or one file). A heading is a line that
starts with a known section name followed by a colon (``FINDINGS: ...``, text may follow on the same
line), a known name alone on its line (``IMPRESSION``), or a Markdown heading (``## Findings``).
The sections become a case, the way MIMIC-CXR and Eurorad reports read:

- HISTORY / INDICATION / CLINICAL INFORMATION -> ``input.clinical_history`` (age and sex read
  from it);
- TECHNIQUE / EXAMINATION -> the imaging study's modality and the head of its description;
- FINDINGS -> ``input.imaging[0].description``: what the images show is the drafting input;
- IMPRESSION / CONCLUSION / DIAGNOSIS -> the gold diagnosis: a numbered or bulleted impression
  gives the primary diagnosis (item 1, also the final diagnosis) and differentials (the rest); a
  prose impression gives its first sentence as the diagnosis and the whole as reasoning;
- RECOMMENDATIONS / PLAN / FOLLOW-UP -> the gold plan's goals.

Other ALL-CAPS headings (COMPARISON, ADDENDUM, ...) are ignored and named in a warning. The heading
names are configurable: a YAML file maps each section to its names, replacing the defaults for the
sections it lists::

    history: [HISTORY, INDICATION, REASON FOR STUDY]
    impression: [IMPRESSION, OPINION]
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from drafting.cases import read_config_mapping, validation_error_to_input_error
from drafting.errors import CaseFileError, ConfigError
from drafting.importers.gold import gold_report
from drafting.importers.textparse import guess_modalities, parse_age_sex
from drafting.schema import Case, CaseInput, ImagingStudy, is_safe_case_id

SECTIONS = ("history", "technique", "findings", "impression", "recommendations")

DEFAULT_HEADINGS: dict[str, list[str]] = {
    "history": [
        "HISTORY", "CLINICAL HISTORY", "INDICATION", "INDICATIONS", "CLINICAL INDICATION",
        "CLINICAL INFORMATION", "CLINICAL DETAILS", "REASON FOR EXAM", "REASON FOR EXAMINATION",
        "REASON FOR STUDY", "CLINICAL DATA",
    ],
    "technique": ["TECHNIQUE", "EXAMINATION", "EXAM", "PROCEDURE", "STUDY", "PROTOCOL"],
    "findings": ["FINDINGS", "IMAGING FINDINGS", "REPORT"],
    "impression": [
        "IMPRESSION", "IMPRESSIONS", "CONCLUSION", "CONCLUSIONS", "DIAGNOSIS", "FINAL DIAGNOSIS",
        "OPINION", "SUMMARY",
    ],
    "recommendations": ["RECOMMENDATION", "RECOMMENDATIONS", "PLAN", "FOLLOW-UP", "FOLLOW UP"],
}

REPORT_SUFFIXES = (".txt", ".md", ".text")
MAX_REPORT_BYTES = 1_000_000

# Linear-time patterns: a bounded name, then a colon; or a bounded name alone on the line.
_COLON_HEADING = re.compile(r"^([A-Za-z][A-Za-z /&()-]{0,39}?)[ \t]*:[ \t]*(.*)$")
_BARE_HEADING = re.compile(r"^([A-Za-z][A-Za-z /&()-]{0,39})$")
_ITEM = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•])\s+(.*)$")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}[ \t]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")


def _norm(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).upper()


class ReportImporter:
    """Sectioned free-text reports, one per file."""

    name = "reports"

    def __init__(self, headings: dict[str, list[str]] | None = None):
        chosen = {**DEFAULT_HEADINGS, **(headings or {})}
        self.heading_to_section = {_norm(n): section for section, names in chosen.items() for n in names}
        self.warnings: list[str] = []

    @classmethod
    def from_heading_file(cls, path: Path | None) -> ReportImporter:
        """The importer with the heading names of a YAML file (defaults when ``path`` is None).

        Raises:
            ConfigError: The file is invalid; the message names the file and the field.
        """
        if path is None:
            return cls()
        data = read_config_mapping(path, what="section -> list of heading names", max_bytes=100_000)
        headings: dict[str, list[str]] = {}
        for section, names in data.items():
            if section not in SECTIONS:
                raise ConfigError(
                    f"unknown section (known: {', '.join(SECTIONS)})", path=path, field=str(section)
                )
            if isinstance(names, str):
                names = [names]
            valid = isinstance(names, list) and names and all(isinstance(n, str) and n.strip() for n in names)
            if not valid:
                raise ConfigError("expected a non-empty list of heading names", path=path, field=section)
            headings[section] = names
        return cls(headings)

    def iter_cases(self, path: Path) -> Iterator[Case | CaseFileError]:
        """Yield one case (or its error) per report file under ``path``.

        Raises:
            CaseFileError: ``path`` does not exist or holds no report file.
        """
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in REPORT_SUFFIXES)
            if not files:
                raise CaseFileError(
                    f"no report files ({', '.join(REPORT_SUFFIXES)}) in this folder", path=path
                )
        elif path.is_file():
            files = [path]
        else:
            raise CaseFileError("no such file or folder", path=path)
        root = path if path.is_dir() else path.parent
        for file in files:
            case_id = _case_id(file.relative_to(root).with_suffix("").as_posix())
            try:
                yield self.report_to_case(_read_text(file), source_path=file, case_id=case_id)
            except CaseFileError as exc:
                yield exc

    def split_sections(self, text: str, *, source: str = "") -> tuple[str, dict[str, str]]:
        """The text before the first heading, and each known section's text.

        A section named twice keeps both texts, joined. Unknown headings are noted in `warnings`.
        """
        preamble: list[str] = []
        sections: dict[str, list[str]] = {}
        current: list[str] | None = None
        ignored: list[str] = []
        for raw in text.splitlines():
            line = raw.strip()
            heading, rest = self._heading(line)
            if heading is None:
                (preamble if current is None else current).append(line)
                continue
            section = self.heading_to_section.get(_norm(heading))
            if section is None and current is None and not sections and line.startswith("#"):
                preamble.append(heading)  # a Markdown title above the first section
                continue
            if section is None:
                ignored.append(heading)
                current = []  # an unknown section's text is dropped, with a warning
            else:
                current = sections.setdefault(section, [])
            if rest:
                current.append(rest)
        if ignored:
            names = ", ".join(dict.fromkeys(ignored))
            self.warnings.append(f"{source}: ignored heading(s): {names}")
        texts = {k: "\n".join(v).strip() for k, v in sections.items()}
        return "\n".join(preamble).strip(), {k: v for k, v in texts.items() if v}

    def _heading(self, line: str) -> tuple[str | None, str]:
        """(heading name, text after it) when the line is a heading, else (None, "").

        A Markdown heading always is one; ``NAME: text`` and a bare ``NAME`` line are when the
        name is a known heading or written in capitals (``COMPARISON: none``).
        """
        if _MARKDOWN_HEADING.match(line):
            return _MARKDOWN_HEADING.sub("", line).strip().rstrip(":").strip(), ""
        m = _COLON_HEADING.match(line) or _BARE_HEADING.match(line)
        if not m:
            return None, ""
        name = m.group(1).strip()
        known = _norm(name) in self.heading_to_section
        if known or (name.isupper() and len(name) >= 3):
            return name, (m.group(2).strip() if m.re is _COLON_HEADING else "")
        return None, ""

    def report_to_case(self, text: str, *, source_path: str | Path, case_id: str | None = None) -> Case:
        """Turn one report's text into a `Case` (see the module docstring for the mapping).

        Raises:
            CaseFileError: No findings or history to draft from, or an invalid case.
        """
        path = Path(source_path)
        preamble, sections = self.split_sections(text, source=str(path))
        history = sections.get("history", "")
        findings = sections.get("findings", "")
        technique = sections.get("technique", "")
        if not (history or findings):
            raise CaseFileError(
                "no HISTORY/INDICATION or FINDINGS section: nothing to draft from "
                f"(headings it knows: {', '.join(sorted(self.heading_to_section)[:6])}, ...)",
                path=path,
            )
        case_id = case_id or _case_id(path.stem)
        age, sex = parse_age_sex(history or preamble)
        imaging = []
        if findings or technique:
            head = f"Technique: {technique}" if technique else ""
            description = "\n".join(p for p in (head, findings) if p)
            cues = f"{preamble}\n{technique}\n{findings}"
            modality = guess_modalities(cues, has_ct=False, has_mri=False)
            imaging.append(ImagingStudy(modality=modality, region="", description=description))
        primary, differentials, reasoning = _impression(sections.get("impression", ""))
        title = preamble.splitlines()[0][:200] if preamble else ""
        try:
            return Case(
                id=case_id,
                title=title,
                source=f"text report {path.name}",
                input=CaseInput(age=age, sex=sex, clinical_history=history, imaging=imaging),
                gold=gold_report(
                    primary,
                    reasoning=reasoning,
                    differentials=differentials,
                    goals=_recommendations(sections.get("recommendations", "")),
                ),
            )
        except ValidationError as exc:
            raise validation_error_to_input_error(exc, path=path) from None


def _list_items(text: str) -> list[str]:
    """The numbered or bulleted items of a text (wrapped continuations joined); [] for prose."""
    items: list[str] = []
    for line in text.splitlines():
        m = _ITEM.match(line)
        if m:
            items.append(m.group(1).strip())
        elif items and line.strip():
            items[-1] = f"{items[-1]} {line.strip()}"
    return [i.rstrip(".").strip() for i in items if i.strip(" .")]


def _impression(text: str) -> tuple[str, list[str], str]:
    """(primary, differentials, reasoning) from an impression section.

    Numbered or bulleted items give the primary (item 1) and the differentials (the rest); prose
    gives its first sentence as the primary and the whole text as reasoning.
    """
    if items := _list_items(text):
        return items[0], items[1:], ""
    prose = " ".join(text.split())
    if not prose:
        return "", [], ""
    first = _SENTENCE_END.split(prose, maxsplit=1)[0].rstrip(".").strip()
    return first, [], prose if first != prose.rstrip(".") else ""


def _case_id(name: str) -> str:
    """A path-safe case id from a report's file name (or path under the imported folder)."""
    case_id = _SAFE_ID.sub("-", name).strip("-._")[:128] or "report"
    return case_id if is_safe_case_id(case_id) else f"r-{case_id}"[:128]


def _recommendations(text: str) -> list[str]:
    return _list_items(text) or ([" ".join(text.split())] if text.strip() else [])


def _read_text(path: Path) -> str:
    """A report file's text; refuses what is not a regular, small, UTF-8 file."""
    try:
        if not path.is_file():
            raise CaseFileError("not a regular file", path=path)
        size = path.stat().st_size
        if size > MAX_REPORT_BYTES:
            limit = f"{MAX_REPORT_BYTES:,}-byte limit"
            raise CaseFileError(f"file is {size:,} bytes, over the {limit}", path=path)
        raw = path.read_bytes()
    except OSError as exc:
        raise CaseFileError(f"cannot read file ({exc.strerror})", path=path) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaseFileError(f"not UTF-8 text (byte {exc.start})", path=path) from None
