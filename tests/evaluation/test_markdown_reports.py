"""`eval score` reads radiology reports as people write them (Impression, Recommendations, ...)."""

from __future__ import annotations

import json
import time

from drafting.cli import run
from drafting.evaluation.markdown_parse import parse_markdown_report

REPORT = """# MRI thighs

## Technique
Axial and coronal STIR.

## Findings
Sheet-like calcification in the subcutaneous fat and fascia of both thighs.

## Impression
1. Dermatomyositis with calcinosis
2. Systemic sclerosis
3. Hyperparathyroidism

## Recommendations
- Physiotherapy to maintain range of motion
- Check calcium and phosphate

## Comparison
None.
"""


def test_impression_items_become_primary_differentials_and_final():
    warnings: list[str] = []
    report = parse_markdown_report(REPORT, warnings=warnings)
    assert report.diagnosis.primary == "Dermatomyositis with calcinosis"
    assert report.final_diagnosis == "Dermatomyositis with calcinosis"
    assert [d.name for d in report.diagnosis.differentials] == ["Systemic sclerosis", "Hyperparathyroidism"]
    assert report.rehabilitation.goals == [
        "Physiotherapy to maintain range of motion", "Check calcium and phosphate",
    ]
    assert report.findings.startswith("Sheet-like calcification")
    assert warnings == ["ignored heading(s) it does not score: Technique, Comparison"]


def test_conclusion_prose_and_setext_headings():
    report = parse_markdown_report(
        "Findings\n========\nA lytic lesion.\n\nConclusion\n----------\n"
        "Giant cell tumour of the distal radius. Aneurysmal bone cyst is less likely.\n"
    )
    assert report.diagnosis.primary == "Giant cell tumour of the distal radius"
    assert report.diagnosis.reasoning.endswith("Aneurysmal bone cyst is less likely.")
    assert report.final_diagnosis == report.diagnosis.primary


def test_headings_inside_code_blocks_are_not_sections():
    report = parse_markdown_report("## Findings\n```\n## Impression\nnot a heading\n```\nReal text.\n")
    assert report.diagnosis.primary == ""
    assert "Real text." in report.findings


GOLD = """id: thighs-1
title: Thigh calcification
source: written for this test
input: {clinical_history: "Proximal weakness and a heliotrope rash."}
gold:
  diagnosis: {primary: Dermatomyositis with calcinosis}
  final_diagnosis: Dermatomyositis with calcinosis
"""


def test_eval_score_scores_an_impression_report_and_warns(tmp_path, capsys):
    path = tmp_path / "report.md"
    path.write_text(REPORT, encoding="utf-8")
    gold = tmp_path / "gold.yaml"
    gold.write_text(GOLD, encoding="utf-8")
    code = run(["eval", "score", str(path), "--gold", str(gold), "--json",
                "--metrics", "diagnosis.top1_hit,diagnosis.final_match"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    results = {r["name"]: r for r in json.loads(captured.out)["results"]}
    assert results["diagnosis.top1_hit"]["value"] == 1.0
    assert results["diagnosis.final_match"]["value"] == 1.0
    assert "warning:" in captured.err and "Technique, Comparison" in captured.err


def test_padded_heading_lines_parse_in_linear_time():
    text = "#" + " " * 20_000 + "Findings" + " " * 20_000 + "\nSome text.\n"
    start = time.perf_counter()
    report = parse_markdown_report(text)
    assert time.perf_counter() - start < 2.0
    assert report.findings == "Some text."
