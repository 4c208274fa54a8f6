"""Read a Markdown report back into a `Report`, for scoring drafts made elsewhere.

The document's structure (headings, thematic breaks, code blocks) comes from a CommonMark parser
(markdown-it-py), so no heading is ever found by a backtracking regex; the text under each heading
is then read line by line. Understood, case-insensitively and at any heading level:

- what `drafting.render.render_markdown` writes: "Findings", "Diagnosis" (with a
  "**Primary diagnosis:**" line), "Differential diagnoses", "Final diagnosis", "Rehabilitation
  plan" (with "Goals", "Exercise prescription (FITT-VP)", "Precautions", "Monitoring"),
  "Disclaimer";
- the usual headings of a radiology report: "Impression", "Conclusion", "Assessment", "Opinion"
  (numbered or bulleted items become the primary diagnosis, then the differentials in order, and
  item 1 is also the final diagnosis unless a "Final diagnosis" section says otherwise; prose gives
  its first paragraph), "Recommendations", "Plan", "Follow-up" (the plan's items).

Headings it does not use ("Technique", "Comparison", ...) are ignored and named in a warning; our own
"References used" section and the footer after a ``---`` rule are ignored silently.
"""

from __future__ import annotations

import html
import re
from typing import NamedTuple

from markdown_it import MarkdownIt

from drafting.errors import InputError
from drafting.schema import Diagnosis, Differential, Exercise, Rehabilitation, Report

# Every pattern below is linear in the line length (no two adjacent unbounded quantifiers that can
# match the same characters); headings come from the CommonMark parser, not from a regex.
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
    (re.compile(r"final\s+(diagnosis|impression)"), "final"),
    (re.compile(r"^(impressions?|conclusions?|assessment|opinion|summary)$"), "impression"),
    (re.compile(r"recommendation|^plan$|^follow[- ]?up$"), "recommendations"),
    (re.compile(r"differential"), "differentials"),
    (re.compile(r"disclaimer"), "disclaimer"),
    (re.compile(r"^references? used$|provenance|prompt|^metadata$"), "silent"),
    (re.compile(r"goal|objective"), "goals"),
    (re.compile(r"exercise|fitt|prescription"), "exercises"),
    (re.compile(r"precaution|contraindication|safety"), "precautions"),
    (re.compile(r"monitor|follow[- ]?up"), "monitoring"),
    (re.compile(r"rehabilitation|rehab|treatment plan|management plan"), "rehabilitation"),
    (re.compile(r"finding|observation"), "findings"),
    (re.compile(r"diagnos|assessment"), "diagnosis"),
    (re.compile(r"^draft report|report$"), "title"),
]

#: Section keys whose text is read; the others are titles, ours to skip, or unknown.
_READ = {
    "final", "impression", "recommendations", "differentials", "disclaimer", "goals", "exercises",
    "precautions", "monitoring", "rehabilitation", "findings", "diagnosis",
}
_REHAB_PARTS = {"goals", "exercises", "precautions", "monitoring"}
_MARKDOWN = MarkdownIt("commonmark")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")

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
    t = " ".join(re.sub(r"[*_`:]", " ", title).split()).lower()
    for pattern, key in _SECTIONS:
        if pattern.search(t):
            return key
    return "unknown"


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


class _Mark(NamedTuple):
    """A heading or thematic break: where it starts, the line after it, its text and level."""

    start: int
    after: int
    title: str | None  # None for a ``---`` rule
    level: int


def _marks(text: str) -> list[_Mark]:
    """Top-level headings and rules, in document order, as the CommonMark parser sees them."""
    tokens = _MARKDOWN.parse(text)
    marks: list[_Mark] = []
    for i, tok in enumerate(tokens):
        if tok.level != 0 or not tok.map:
            continue
        if tok.type == "heading_open":
            marks.append(_Mark(tok.map[0], tok.map[1], tokens[i + 1].content, int(tok.tag[1:])))
        elif tok.type == "hr":
            marks.append(_Mark(tok.map[0], tok.map[1], None, 0))
    return marks


def _split_sections(text: str, warnings: list[str] | None) -> dict[str, list[str]]:
    """The lines under each heading, keyed by section; unknown headings go to ``warnings``."""
    lines = text.splitlines()
    marks = _marks(text)
    sections: dict[str, list[str]] = {"preamble": lines[: marks[0].start] if marks else lines}
    parent = ""
    ignored: list[str] = []
    for n, mark in enumerate(marks):
        end = marks[n + 1].start if n + 1 < len(marks) else len(lines)
        if mark.title is None:
            key = "silent"  # a rule ends a section; our renderer puts the footer after one
        else:
            key = _section_key(mark.title)
            if key == "diagnosis" and parent == "rehabilitation" and mark.level > 2:
                key = "silent"
            if key in _REHAB_PARTS:
                parent = "rehabilitation"
            elif key != "differentials":
                parent = key
            if key == "unknown" and mark.level == 1 and not set(sections) & _READ:
                key = "title"  # a document title above the first section
            if key == "unknown":
                ignored.append(" ".join(mark.title.split()))
        sections.setdefault(key, []).extend(lines[mark.after : end])
    if ignored and warnings is not None:
        warnings.append(f"ignored heading(s) it does not score: {', '.join(dict.fromkeys(ignored))}")
    return sections


def _impression(lines: list[str]) -> tuple[str, list[str], str]:
    """(primary, differentials, reasoning) from an Impression/Conclusion section.

    List items are the ranked diagnoses; prose gives its first paragraph as the diagnosis.
    """
    items = _blocks(lines)
    listed = any(_BULLET.match(ln) or _NUMBERED.match(ln) for ln in lines)
    if listed:
        items = [_strip_emphasis(i).rstrip(".") for i in items]
        return items[0], items[1:], ""
    if not items:
        return "", [], ""
    prose = " ".join(items)
    first = _SENTENCE_END.split(_strip_emphasis(items[0]), maxsplit=1)[0].rstrip(".").strip()
    return first, [], prose


def parse_markdown_report(text: str, *, warnings: list[str] | None = None) -> Report:
    """Parse a Markdown report into a `Report`.

    Args:
        text: The Markdown document.
        warnings: When given, a line naming the headings that were ignored is appended to it.

    Returns:
        The report; sections the document lacks are left empty.

    Raises:
        InputError: The text has none of the known section headings.
    """
    sections = _split_sections(text, warnings)
    if not set(sections) & _READ:
        raise InputError("no report sections found (expected headings such as '## Findings')")

    findings = "\n".join(_blocks(sections.get("findings", [])))
    primary, reasoning = _parse_diagnosis(sections.get("diagnosis", []))
    differentials = [_parse_differential(b) for b in _blocks(sections.get("differentials", []))]
    final = "\n".join(_blocks(sections.get("final", [])))
    imp_primary, imp_rest, imp_reasoning = _impression(sections.get("impression", []))
    if imp_primary:
        primary = primary or imp_primary
        differentials = differentials or [Differential(name=n) for n in imp_rest]
        final = final or imp_primary
        reasoning = reasoning or ([imp_reasoning] if imp_reasoning else [])
    rehab_intro = _blocks(sections.get("rehabilitation", [])) + _blocks(sections.get("recommendations", []))
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
