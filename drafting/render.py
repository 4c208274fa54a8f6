"""Render a `Draft` as Markdown, JSON or HTML.

The Markdown layout is also what `drafting.evaluation.markdown_parse` reads back, so the two
modules agree on the headings below (a round trip gives the same `Report`):

```
# Draft report: <case id>
## Findings
## Diagnosis            (**Primary diagnosis:** ..., reasoning, ### Differential diagnoses)
## Final diagnosis
## Rehabilitation plan  (### Goals, ### Exercise prescription (FITT-VP), ### Precautions,
                         ### Monitoring)
## Disclaimer
## References used
---                     (footer: prompt versions, backend and model, cost per stage)
```
"""

from __future__ import annotations

from drafting.schema import Draft, Exercise, Report

#: Written where a section is empty; the parser reads it back as empty.
EMPTY_MARK = "_Not provided._"

#: FITT-VP columns in table order, with the `Exercise` field each holds.
FITT_VP_COLUMNS: list[tuple[str, str]] = [
    ("Type", "type"),
    ("Frequency", "frequency"),
    ("Intensity", "intensity"),
    ("Time", "time"),
    ("Volume", "volume"),
    ("Progression", "progression"),
]


def escape_html(text: str) -> str:
    """Escape ``&``, ``<`` and ``>``: Markdown passes raw HTML through to the page, so a
    ``<script>`` copied from case text into a draft would run where the Markdown is shown."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_cell(text: str) -> str:
    """Make text safe inside a Markdown table cell: escape HTML and pipes, newlines become <br>."""
    text = escape_html(text.replace("\\", "\\\\").replace("|", "\\|"))
    return "<br>".join(line.strip() for line in text.splitlines()) if "\n" in text else text


def _escape_line(line: str) -> str:
    """Escape HTML, and a leading character that Markdown (or our parser) reads as structure."""
    stripped = escape_html(line.lstrip())
    if stripped.startswith(("#", "- ", "* ", "+ ", "---", "|", "_Not provided")) or (
        stripped[:1].isdigit() and ". " in stripped[:5]
    ):
        return "\\" + stripped
    return stripped


def _paragraphs(text: str) -> list[str]:
    """Each non-empty line of ``text`` as its own paragraph (blank line between)."""
    lines = [_escape_line(ln) for ln in text.splitlines() if ln.strip()]
    if not lines:
        return [EMPTY_MARK, ""]
    out: list[str] = []
    for line in lines:
        out += [line, ""]
    return out


def _item(marker: str, text: str) -> list[str]:
    """A list item; extra lines of ``text`` become indented continuation lines."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()] or [""]
    indent = " " * len(marker)
    return [f"{marker}{_escape_line(lines[0])}"] + [f"{indent}{_escape_line(ln)}" for ln in lines[1:]]


def _bullets(items: list[str]) -> list[str]:
    items = [i for i in items if i.strip()]
    if not items:
        return [EMPTY_MARK, ""]
    out: list[str] = []
    for text in items:
        out += _item("- ", text)
    return [*out, ""]


def _findings(text: str) -> list[str]:
    """Several statements become a bullet list, a single paragraph stays a paragraph."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return _bullets(lines) if len(lines) > 1 else _paragraphs(text)


def _exercise_table(exercises: list[Exercise]) -> list[str]:
    if not exercises:
        return [EMPTY_MARK, ""]
    head = "| " + " | ".join(name for name, _ in FITT_VP_COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in FITT_VP_COLUMNS) + "|"
    rows = [
        "| " + " | ".join(escape_cell(getattr(ex, field)) for _, field in FITT_VP_COLUMNS) + " |"
        for ex in exercises
    ]
    return [head, rule, *rows, ""]


def render_report_markdown(report: Report) -> list[str]:
    """The report sections (findings to disclaimer) as Markdown lines."""
    dx = report.diagnosis
    lines = ["## Findings", "", *_findings(report.findings)]
    lines += ["## Diagnosis", ""]
    primary = _escape_line(dx.primary.replace("\n", " ")) if dx.primary.strip() else EMPTY_MARK
    lines += [f"**Primary diagnosis:** {primary}", ""]
    lines += _paragraphs(dx.reasoning)
    lines += ["### Differential diagnoses", ""]
    if dx.differentials:
        for rank, diff in enumerate(dx.differentials, start=1):
            name = diff.name.replace("\n", " ").replace("**", "").strip()
            reasoning = diff.reasoning.strip()
            lines += _item(f"{rank}. ", f"**{name}**: {reasoning}" if reasoning else f"**{name}**")
        lines.append("")
    else:
        lines += [EMPTY_MARK, ""]
    lines += ["## Final diagnosis", "", *_paragraphs(report.final_diagnosis)]
    rehab = report.rehabilitation
    lines += ["## Rehabilitation plan", ""]
    lines += ["### Goals", "", *_bullets(rehab.goals)]
    lines += ["### Exercise prescription (FITT-VP)", "", *_exercise_table(rehab.exercises)]
    lines += ["### Precautions", "", *_bullets(rehab.precautions)]
    lines += ["### Monitoring", "", *_bullets(rehab.monitoring)]
    lines += ["## Disclaimer", "", *_paragraphs(report.disclaimer)]
    return lines


def _footer(draft: Draft) -> list[str]:
    prov = draft.provenance
    lines = ["---", ""]
    if prov.prompts:
        prompts = ", ".join(
            escape_cell(f"{p.stage}={p.version} ({p.sha256[:12]})") for p in prov.prompts
        )
        lines += [f"Prompts: {prompts}", ""]
    model = " / ".join(escape_cell(p) for p in (prov.backend, prov.model) if p)
    if model:
        lines += [f"Model: {model}", ""]
    if prov.stages:
        lines += ["| Stage | Prompt tokens | Completion tokens | Seconds | Attempts |"]
        lines += ["|---|---:|---:|---:|---:|"]
        for s in prov.stages:
            lines.append(
                f"| {escape_cell(s.stage)} | {s.prompt_tokens} | {s.completion_tokens} "
                f"| {s.latency_s:.2f} | {s.attempts} |"
            )
        lines += [
            f"| total | {sum(s.prompt_tokens for s in prov.stages)} "
            f"| {sum(s.completion_tokens for s in prov.stages)} "
            f"| {prov.total_latency_s():.2f} | |",
            "",
        ]
    if prov.flags:
        lines += [f"Flags: {escape_cell(', '.join(prov.flags))}", ""]
    if prov.drafting_version:
        lines += [f"Drafted with drafting {escape_cell(prov.drafting_version)}.", ""]
    return lines if len(lines) > 2 else []


def render_markdown(draft: Draft) -> str:
    """The draft as a Markdown document: report sections, references used, provenance footer.

    Args:
        draft: The draft to render.

    Returns:
        Markdown text ending in a newline.
    """
    lines = [f"# Draft report: {escape_html(draft.case_id)}", ""]
    lines += render_report_markdown(draft.report)
    lines += ["## References used", ""]
    refs = draft.provenance.references
    if refs:
        lines += ["| Case | Title | Score | Retrievers |", "|---|---|---:|---|"]
        for ref in refs:
            lines.append(
                f"| {escape_cell(ref.case_id)} | {escape_cell(ref.title)} | {ref.score:.4f} "
                f"| {escape_cell(', '.join(ref.retrievers))} |"
            )
        lines.append("")
    else:
        lines += ["_None._", ""]
    lines += _footer(draft)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def render_json(draft: Draft) -> str:
    """The full draft (report and provenance) as indented JSON; it validates as a `Draft`."""
    return draft.model_dump_json(indent=2)


_HTML_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Draft report: {{ d.case_id }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;
vertical-align:top}th{background:#f4f4f4}.muted{color:#666;font-size:.9em}.empty{color:#999}
</style></head><body>
<h1>Draft report: {{ d.case_id }}</h1>
{% set r = d.report %}
<h2>Findings</h2>
{% set lines = r.findings.splitlines() | select | list %}
{% if lines | length > 1 %}<ul>{% for l in lines %}<li>{{ l }}</li>{% endfor %}</ul>
{% elif lines %}<p>{{ lines[0] }}</p>{% else %}<p class="empty">Not provided.</p>{% endif %}
<h2>Diagnosis</h2>
<p><strong>Primary diagnosis:</strong> {{ r.diagnosis.primary or "—" }}</p>
{% for l in r.diagnosis.reasoning.splitlines() if l.strip() %}<p>{{ l }}</p>{% endfor %}
<h3>Differential diagnoses</h3>
{% if r.diagnosis.differentials %}<ol>{% for x in r.diagnosis.differentials %}
<li><strong>{{ x.name }}</strong>{% if x.reasoning %}: {{ x.reasoning }}{% endif %}</li>
{% endfor %}</ol>{% else %}<p class="empty">Not provided.</p>{% endif %}
<h2>Final diagnosis</h2><p>{{ r.final_diagnosis or "—" }}</p>
<h2>Rehabilitation plan</h2>
{% macro items(xs) %}{% if xs %}<ul>{% for x in xs %}<li>{{ x }}</li>{% endfor %}</ul>
{% else %}<p class="empty">Not provided.</p>{% endif %}{% endmacro %}
<h3>Goals</h3>{{ items(r.rehabilitation.goals) }}
<h3>Exercise prescription (FITT-VP)</h3>
{% if r.rehabilitation.exercises %}<table><tr>{% for c, _ in cols %}<th>{{ c }}</th>{% endfor %}</tr>
{% for ex in r.rehabilitation.exercises %}<tr>{% for _, f in cols %}<td>{{ ex[f] }}</td>
{% endfor %}</tr>{% endfor %}</table>{% else %}<p class="empty">Not provided.</p>{% endif %}
<h3>Precautions</h3>{{ items(r.rehabilitation.precautions) }}
<h3>Monitoring</h3>{{ items(r.rehabilitation.monitoring) }}
<h2>Disclaimer</h2><p>{{ r.disclaimer }}</p>
<h2>References used</h2>
{% if d.provenance.references %}<table><tr><th>Case</th><th>Title</th><th>Score</th>
<th>Retrievers</th></tr>{% for ref in d.provenance.references %}<tr><td>{{ ref.case_id }}</td>
<td>{{ ref.title }}</td><td>{{ "%.4f" | format(ref.score) }}</td>
<td>{{ ref.retrievers | join(", ") }}</td></tr>{% endfor %}</table>
{% else %}<p class="empty">None.</p>{% endif %}
<hr><p class="muted">
{% for p in d.provenance.prompts %}{{ p.stage }}={{ p.version }} ({{ p.sha256[:12] }})
{%- if not loop.last %}, {% endif %}{% endfor %}
{% if d.provenance.model %} · {{ d.provenance.backend }} / {{ d.provenance.model }}{% endif %}
{% for s in d.provenance.stages %} · {{ s.stage }}: {{ s.prompt_tokens + s.completion_tokens }}
tokens, {{ "%.2f" | format(s.latency_s) }} s{% endfor %}</p>
</body></html>
"""


def render_html(draft: Draft) -> str:
    """The draft as one self-contained HTML page; all case text is HTML-escaped."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    exercises_cols = FITT_VP_COLUMNS
    template = env.from_string(_HTML_TEMPLATE)
    return template.render(d=draft, cols=exercises_cols)
