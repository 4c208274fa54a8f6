"""Read a Markdown report back into a `Report`, for scoring drafts made elsewhere.

Understands what `drafting.render.render_markdown` writes and reasonably similar reports: any
heading level, case-insensitive names such as "Findings" / "Imaging findings", "Diagnosis",
"Differential(s)", "Final diagnosis" / "Conclusion", "Rehabilitation" (with "Goals",
"Exercise ..." / "FITT-VP", "Precautions", "Monitoring" sub-headings) and "Disclaimer". Text
under headings it does not know (references, provenance, a ``---`` footer) is ignored.
"""

from __future__ import annotations

import html
import re

from drafting.errors import InputError
from drafting.schema import Diagnosis, Differential, Exercise, Rehabilitation, Report

# Every pattern below is linear in the line length: no two adjacent unbounded quantifiers that
# can match the same characters (a heading padded with 4,000 spaces took 129 s with the old
# `\s+(.*?)\s*#*\s*$`). The heading's closing `#`s and padding are stripped in `_heading_text`.
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s(.*)$")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s{0,3}\d{1,3}[.)]\s+(.*)$")
_PRIMARY = re.compile(
    r"^\s*(?:(?:\*\*|__)\s*)?(?:primary|most likely|working)\s+diagnosis\s*:?\s*(?:\*\*|__)?\s*:?\s*(.*)$",
    re.IGNORECASE,
)
_REASONING_LABEL = re.compile(r"^\s*(?:(?:\*\*|__)\s*)?reasoning\s*:?\s*(?:\*\*|__)?\s*:?\s*", re.I)
_EMPTY_MARKS = {"_not provided._", "not provided.", "not provided", "_none._", "none", "none.", "n/a"}
#: "Name: why" or "Name - why" (searched, so the name is everything before the first separator).
_DIFFERENTIAL_SEP = re.compile(r":\s|\s[-–—]\s")
_ESCAPED_LEAD = re.compile(r"^\\(?=[#\-*+|_0-9])")

#: Heading text (lower case) -> section key; first match wins, so specific names come first.
_SECTIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"final\s+(diagnosis|impression)|^conclusions?$|^impression$"), "final"),
    (re.compile(r"differential"), "differentials"),
    (re.compile(r"disclaimer"), "disclaimer"),
    (re.compile(r"reference|provenance|prompt|^metadata$"), "ignore"),
    (re.compile(r"goal|objective"), "goals"),
    (re.compile(r"exercise|fitt|prescription"), "exercises"),
    (re.compile(r"precaution|contraindication|safety"), "precautions"),
    (re.compile(r"monitor|follow[- ]?up"), "monitoring"),
    (re.compile(r"rehabilitation|rehab|treatment plan|management plan"), "rehabilitation"),
    (re.compile(r"finding|observation"), "findings"),
    (re.compile(r"diagnos|assessment"), "diagnosis"),
    (re.compile(r"^draft report|^report\b"), "title"),
]

_FITT_FIELDS = {
    "type": "type",
    "exercise": "type",
    "mode": "type",
    "frequency": "frequency",
    "intensity": "intensity",
    "time": "time",
    "duration": "time",
    "volume": "volume",
    "progression": "progression",
}


def _section_key(title: str) -> str:
    t = re.sub(r"[*_`]", "", title).strip().lower()
    for pattern, key in _SECTIONS:
        if pattern.search(t):
            return key
    return "ignore"


def _heading_text(rest: str) -> str:
    """A heading's text without padding and closing ``#`` sequence."""
    return rest.strip().rstrip("#").rstrip()


def _unescape(line: str) -> str:
    """Undo the renderer's escapes: a leading backslash, and HTML entities (``&lt;``)."""
    return html.unescape(_ESCAPED_LEAD.sub("", line))


def _strip_emphasis(text: str) -> str:
    text = text.strip()
    for mark in ("**", "__"):
        if text.startswith(mark) and text.endswith(mark) and len(text) > 2 * len(mark):
            return text[len(mark) : -len(mark)].strip()
    return text


def _is_empty_mark(line: str) -> bool:
    return line.strip().lower() in _EMPTY_MARKS


def _blocks(lines: list[str]) -> list[str]:
    """Paragraphs and list items of a section, each as one text (continuations joined by \\n).

    A paragraph's hard-wrapped lines are joined with a space (Markdown would show one line);
    a list item's indented continuation lines with a newline (how the renderer writes them).
    """
    blocks: list[str] = []
    current: list[str] = []
    kind = ""

    def flush() -> None:
        nonlocal current, kind
        if current:
            blocks.append(("\n" if kind == "item" else " ").join(current))
        current, kind = [], ""

    for raw in lines:
        if not raw.strip():
            flush()
            continue
        m = _BULLET.match(raw) or _NUMBERED.match(raw)
        if m:
            flush()
            current, kind = [_unescape(m.group(1).strip())], "item"
        elif kind == "item" and raw.startswith((" ", "\t")):
            current.append(_unescape(raw.strip()))
        else:
            if kind == "item":
                flush()
            kind = kind or "para"
            current.append(_unescape(raw.strip()))
    flush()
    return [b for b in blocks if b.strip() and not _is_empty_mark(b)]


def _split_cells(row: str) -> list[str]:
    row = row.strip()
    row = row.removeprefix("|")
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    cells, cell, i = [], [], 0
    while i < len(row):
        ch = row[i]
        if ch == "\\" and i + 1 < len(row) and row[i + 1] in "|\\":
            cell.append(row[i + 1])
            i += 2
            continue
        if ch == "|":
            cells.append("".join(cell))
            cell = []
        else:
            cell.append(ch)
        i += 1
    cells.append("".join(cell))
    return [html.unescape(re.sub(r"<br\s*/?>", "\n", c.strip())) for c in cells]


def _parse_exercises(lines: list[str]) -> list[Exercise]:
    rows = [ln for ln in lines if ln.strip().startswith("|")]
    exercises: list[Exercise] = []
    if len(rows) >= 2:
        header = [h.lower().split()[0] if h.split() else "" for h in _split_cells(rows[0])]
        fields = [_FITT_FIELDS.get(re.sub(r"[^a-z]", "", h), "") for h in header]
        for row in rows[1:]:
            cells = _split_cells(row)
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                continue  # the header rule
            values = {f: c for f, c in zip(fields, cells, strict=False) if f}
            if any(values.values()):
                exercises.append(Exercise(**values))
    else:  # no table: each list item is an exercise type
        exercises = [Exercise(type=b) for b in _blocks(lines)]
    return exercises


def _parse_differential(block: str) -> Differential:
    first, _, rest = block.partition("\n")
    m = re.match(r"^\*\*(.+?)\*\*\s*:?\s*(.*)$", first)
    sep = None if m else _DIFFERENTIAL_SEP.search(first, 1)
    if m:
        name, reasoning = m.group(1).strip(), m.group(2).strip()
    elif sep:
        name, reasoning = first[: sep.start()].strip(), first[sep.end() :].strip()
    else:
        name, reasoning = first.strip(), ""
    if rest:
        reasoning = f"{reasoning}\n{rest}" if reasoning else rest
    return Differential(name=name.rstrip(":").strip(), reasoning=reasoning)


def _parse_diagnosis(lines: list[str]) -> tuple[str, list[str]]:
    """Primary diagnosis and reasoning paragraphs from the diagnosis section's own text."""
    primary = ""
    labelled = False
    rest: list[str] = []
    for line in lines:
        m = None if labelled else _PRIMARY.match(_unescape(line))
        if m:  # the label's line alone names the diagnosis, even inside a paragraph
            labelled = True
            primary = "" if _is_empty_mark(m.group(1)) else _strip_emphasis(m.group(1))
            rest.append("")
        else:
            rest.append(line)
    reasoning = [_REASONING_LABEL.sub("", b, count=1) for b in _blocks(rest)]
    if not labelled and len(reasoning) > 1 and len(reasoning[0]) <= 160:
        # No label: a short first paragraph names the diagnosis, the rest argues for it.
        primary = _strip_emphasis(reasoning.pop(0))
    return primary, reasoning


def parse_markdown_report(text: str) -> Report:
    """Parse a Markdown report into a `Report`.

    Args:
        text: The Markdown document.

    Returns:
        The report; sections the document lacks are left empty.

    Raises:
        InputError: The text has none of the known section headings.
    """
    sections: dict[str, list[str]] = {}
    key = "preamble"
    parent = ""
    for line in text.splitlines():
        m = _HEADING.match(line)
        if m:
            new = _section_key(_heading_text(m.group(2)))
            level = len(m.group(1))
            if new == "diagnosis" and parent == "rehabilitation" and level > 2:
                new = "ignore"
            if new in {"goals", "exercises", "precautions", "monitoring"}:
                parent = "rehabilitation"
            elif new != "differentials":
                parent = new
            key = new
            sections.setdefault(key, [])
            continue
        if line.strip() in {"---", "***", "___"}:
            key = "ignore"  # a rule ends a section; our renderer puts the footer after one
            continue
        sections.setdefault(key, []).append(line)

    known = set(sections) - {"preamble", "ignore", "title"}
    if not known:
        raise InputError("no report sections found (expected headings such as '## Findings')")

    findings = "\n".join(_blocks(sections.get("findings", [])))
    primary, reasoning = _parse_diagnosis(sections.get("diagnosis", []))
    differentials = [_parse_differential(b) for b in _blocks(sections.get("differentials", []))]
    final = "\n".join(_blocks(sections.get("final", [])))
    rehab_intro = _blocks(sections.get("rehabilitation", []))
    rehab = Rehabilitation(
        goals=_blocks(sections.get("goals", [])) or rehab_intro,
        exercises=_parse_exercises(sections.get("exercises", [])),
        precautions=_blocks(sections.get("precautions", [])),
        monitoring=_blocks(sections.get("monitoring", [])),
    )
    return Report(
        findings=findings,
        diagnosis=Diagnosis(primary=primary, reasoning="\n".join(reasoning), differentials=differentials),
        final_diagnosis=final,
        rehabilitation=rehab,
        disclaimer="\n".join(_blocks(sections.get("disclaimer", []))),
    )


def markdown_case_id(text: str) -> str | None:
    """The case id from a ``# Draft report: <id>`` title, when the document has one."""
    m = re.search(r"^#\s+Draft report:\s*(\S+)\s*$", text, re.MULTILINE)
    return m.group(1) if m else None
