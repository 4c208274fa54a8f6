"""Markdown, JSON and HTML rendering of a draft, and reading Markdown reports back."""

from __future__ import annotations

import pytest

from drafting.cases import load_case
from drafting.errors import InputError
from drafting.evaluation.markdown_parse import markdown_case_id, parse_markdown_report
from drafting.render import render_html, render_json, render_markdown
from drafting.schema import (
    DISCLAIMER,
    Draft,
    Exercise,
    PromptRef,
    Provenance,
    RetrievedReference,
    StageRecord,
)
from tests.support import SEEDS_DIR


def _draft(case_id: str = "seed-000") -> Draft:
    case = load_case(SEEDS_DIR / f"{case_id}.yaml")
    report = case.gold.model_copy(deep=True)
    report.disclaimer = DISCLAIMER
    report.findings = "Sheet-like calcifications.\nNo fracture.\n# not a heading\n- not a bullet"
    report.rehabilitation.exercises = [
        Exercise(
            type="walking | cycling",
            frequency="3 per week\nor more",
            intensity="RPE 11-13",
            time="20 min",
            progression="add 5 min weekly",
        )
    ]
    prov = Provenance(
        references=[
            RetrievedReference(
                case_id="seed-003", title="Myositis", score=0.0328, retrievers=["bm25", "dense"]
            )
        ],
        prompts=[PromptRef(stage="findings", version="v1", sha256="0123456789abcdef" * 4)],
        backend="local",
        model="SmolLM2-135M-Instruct",
        stages=[StageRecord(stage="findings", prompt_tokens=300, completion_tokens=50, latency_s=7.25)],
    )
    return Draft(case_id=case.id, report=report, provenance=prov)


def test_markdown_has_every_section_in_order():
    md = render_markdown(_draft())
    headings = [ln for ln in md.splitlines() if ln.startswith("#")]
    assert headings == [
        "# Draft report: seed-000",
        "## Findings",
        "## Diagnosis",
        "### Differential diagnoses",
        "## Final diagnosis",
        "## Rehabilitation plan",
        "### Goals",
        "### Exercise prescription (FITT-VP)",
        "### Precautions",
        "### Monitoring",
        "## Disclaimer",
        "## References used",
    ]
    assert "**Primary diagnosis:** Dermatomyositis complicated by calcinosis" in md
    assert "1. **Systemic scleroderma or mixed connective tissue disease**: Conditions" in md
    assert "| Type | Frequency | Intensity | Time | Volume | Progression |" in md
    assert "| walking \\| cycling | 3 per week<br>or more | RPE 11-13 | 20 min |  |" in md
    assert "| seed-003 | Myositis | 0.0328 | bm25, dense |" in md
    assert "findings=v1 (0123456789ab)" in md and "local / SmolLM2-135M-Instruct" in md
    assert "| findings | 300 | 50 | 7.25 | 1 |" in md


@pytest.mark.parametrize("case_id", ["seed-000", "seed-003"])
def test_markdown_round_trip_gives_the_same_report(case_id):
    draft = _draft(case_id)
    md = render_markdown(draft)
    assert parse_markdown_report(md) == draft.report
    assert markdown_case_id(md) == case_id


def test_empty_sections_round_trip_as_empty():
    draft = _draft()
    draft.report.diagnosis.differentials = []
    draft.report.rehabilitation.exercises = []
    draft.report.rehabilitation.precautions = []
    md = render_markdown(draft)
    assert "_Not provided._" in md
    assert parse_markdown_report(md) == draft.report


def test_parses_a_similar_report_written_elsewhere():
    text = """# Radiology report

## Imaging findings
Calcifications in both thighs,
without fracture.

## Diagnosis
**Primary diagnosis:** Dermatomyositis with calcinosis
Typical distribution.

## Differentials
- Scleroderma - less likely
- Hyperparathyroidism: normal calcium

## Final Diagnosis
Calcinosis cutis

## Rehabilitation
### Goals
* Keep mobility
### Exercise
| Exercise | Frequency | Intensity | Duration | Volume | Progression |
| --- | --- | --- | --- | --- | --- |
| Walking | daily | light | 20 min | 140 min/week | slow |
### Monitoring
- CK levels
"""
    report = parse_markdown_report(text)
    assert report.findings == "Calcifications in both thighs, without fracture."
    assert report.diagnosis.primary == "Dermatomyositis with calcinosis"
    assert [d.name for d in report.diagnosis.differentials] == ["Scleroderma", "Hyperparathyroidism"]
    assert report.diagnosis.differentials[1].reasoning == "normal calcium"
    assert report.final_diagnosis == "Calcinosis cutis"
    assert report.rehabilitation.goals == ["Keep mobility"]
    assert report.rehabilitation.exercises[0].time == "20 min"
    assert report.rehabilitation.monitoring == ["CK levels"]


def test_text_without_report_headings_is_an_input_error():
    with pytest.raises(InputError, match="no report sections"):
        parse_markdown_report("just some text\n")


def test_json_validates_as_a_draft():
    draft = _draft()
    assert Draft.model_validate_json(render_json(draft)) == draft


def test_html_escapes_case_text():
    draft = _draft()
    draft.report.final_diagnosis = "<script>alert(1)</script>"
    html = render_html(draft)
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<th>Progression</th>" in html


# --- hostile text (issue 17) ------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "text <b>bold</b> & <!-- comment --> AT&amp;T",
    "<a href='javascript:alert(3)'>x</a>",
    "<svg/onload=alert(4)>",
]


def _hostile_draft() -> Draft:
    draft = _draft()
    r = draft.report
    r.findings = "\n".join(HOSTILE)
    r.diagnosis.primary = HOSTILE[0]
    r.diagnosis.reasoning = HOSTILE[1]
    r.diagnosis.differentials[0].name = HOSTILE[4]
    r.diagnosis.differentials[0].reasoning = HOSTILE[2]
    r.final_diagnosis = HOSTILE[3]
    r.rehabilitation.goals = [HOSTILE[0]]
    r.rehabilitation.exercises[0].type = HOSTILE[1]
    draft.provenance.model = "<script>alert(5)</script>"
    draft.provenance.references[0].title = "<script>alert(6)</script>"
    return draft


def test_markdown_output_carries_no_raw_html_for_a_commonmark_renderer():
    """A `<script>` copied from case text into a draft ran where the Markdown was rendered."""
    from markdown_it import MarkdownIt

    markdown = render_markdown(_hostile_draft())
    page = MarkdownIt("commonmark").enable("table").render(markdown)
    lowered = page.lower()
    for tag in ("<script", "<img", "<svg", "<a href", "<!--", "<b>"):
        assert tag not in lowered, (tag, page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text, not dropped


def test_hostile_text_round_trips_through_markdown():
    draft = _hostile_draft()
    parsed = parse_markdown_report(render_markdown(draft))
    assert parsed.findings == draft.report.findings
    assert parsed.diagnosis.primary == draft.report.diagnosis.primary
    assert parsed.diagnosis.differentials[0].name == HOSTILE[4]
    assert parsed.diagnosis.differentials[0].reasoning == HOSTILE[2]
    assert parsed.final_diagnosis == HOSTILE[3]
    assert parsed.rehabilitation.exercises[0].type == HOSTILE[1]


@pytest.mark.parametrize("line", [
    "#" + " " * 4000 + "x",
    "# Findings" + " " * 4000 + "x#",
    "#" + " " * 4000,
    "## " + "\t " * 3000 + "#" * 5 + " y",
])
def test_padded_heading_lines_parse_in_linear_time(line):
    """`drafting eval score` took 129 s on a heading padded with 4,000 spaces."""
    import time

    text = "## Findings\n\nok\n\n" + "\n".join([line] * 5) + "\n\n**Primary diagnosis:**" + " " * 4000 + "\n"
    text += "Reasoning" + " " * 5000 + "\n\n### Differential diagnoses\n\n1. a" + " " * 5000 + "b\n"
    started = time.perf_counter()
    parse_markdown_report(text)
    assert time.perf_counter() - started < 1.0


def test_heading_text_strips_padding_and_closing_hashes():
    report = parse_markdown_report("##   Findings   ##  \n\nA finding.\n\n## Final diagnosis ###\n\nX\n")
    assert report.findings == "A finding." and report.final_diagnosis == "X"
