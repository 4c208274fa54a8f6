"""The importers for a team's own data: tabular exports with a mapping, and sectioned text reports."""

from pathlib import Path

import pytest

from drafting.cases import load_cases, save_case
from drafting.errors import ConfigError
from drafting.importers import ReportImporter, import_cases

DATA = Path(__file__).parent / "data" / "import"
TABULAR = DATA / "tabular"
REPORTS = DATA / "reports"


def test_csv_with_mapping_gives_cases_with_input_and_gold_apart(tmp_path: Path):
    cases, errors = import_cases("tabular", TABULAR / "reports.csv", mapping=TABULAR / "mapping.yaml")
    assert not errors
    assert [c.id for c in cases] == ["rad-0001", "rad-0002", "rad-0003"]
    stroke = cases[0]
    assert (stroke.input.age, stroke.input.sex) == (67, "male")
    assert stroke.input.imaging[0].modality == "CT" and stroke.input.imaging[0].region == "brain"
    assert stroke.gold.diagnosis.primary == "Acute right middle cerebral artery territory infarct"
    assert stroke.gold.final_diagnosis == stroke.gold.diagnosis.primary
    assert [d.name for d in stroke.gold.diagnosis.differentials] == [
        "Cerebral venous thrombosis", "Low-grade glioma", "Cerebritis",
    ]
    assert stroke.gold.rehabilitation.monitoring == [
        "CT angiography and neurology review", "repeat CT at 24 hours",
    ]
    # a differential per line, "34 y" as an age, "n/a" as no age
    assert len(cases[1].gold.diagnosis.differentials) == 3 and cases[1].input.age == 34
    assert cases[2].input.age is None and cases[2].input.sex == "female"
    for case in cases:  # no gold text in the input
        assert case.gold.diagnosis.primary.lower() not in case.input.model_dump_json().lower()
        save_case(case, tmp_path)
    assert len(load_cases([tmp_path]).cases) == 3


def test_jsonl_with_dotted_columns():
    cases, errors = import_cases(
        "tabular", TABULAR / "reports.jsonl", mapping=TABULAR / "mapping-jsonl.yaml"
    )
    assert not errors
    knee, gall = cases
    assert (knee.input.age, knee.input.sex, knee.input.imaging[0].region) == (58, "male", "right knee")
    assert knee.gold.diagnosis.primary == "Bucket-handle tear of the medial meniscus"
    assert [d.name for d in knee.gold.diagnosis.differentials] == ["Joint effusion"]
    assert (gall.input.age, gall.input.sex) == (41, "female")


def _mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "map.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_mapping_errors_name_the_file_and_field(tmp_path: Path):
    csv = TABULAR / "reports.csv"
    unknown_column = _mapping(tmp_path, "id: report_id\ninput: {clinical_history: no_such_column}\n")
    with pytest.raises(ConfigError, match=r"map\.yaml: input\.clinical_history: column 'no_such_column'"):
        import_cases("tabular", csv, mapping=unknown_column)
    leak = _mapping(
        tmp_path, "id: report_id\ninput: {clinical_history: impression}\ngold: {diagnosis: impression}\n"
    )
    with pytest.raises(ConfigError, match="gold must never reach the prompt"):
        import_cases("tabular", csv, mapping=leak)
    typo = _mapping(tmp_path, "id: report_id\ninput: {history: indication}\n")
    with pytest.raises(ConfigError, match=r"map\.yaml: input\.history: unknown field"):
        import_cases("tabular", csv, mapping=typo)
    with pytest.raises(ConfigError, match="needs a mapping file"):
        import_cases("tabular", csv)
    with pytest.raises(ConfigError, match="unknown importer 'excel'"):
        import_cases("excel", csv)


def test_bad_rows_are_reported_and_the_import_goes_on(tmp_path: Path):
    data = tmp_path / "x.jsonl"
    data.write_bytes(
        b'{"id": "ok-1", "history": "Cough for two weeks."}\n'
        b"not json\n"
        b'{"id": "bad id!", "history": "x"}\n'
        b'{"id": "no-text"}\n'
        b'{"id": "latin", "history": "caf\xe9"}\n'
        b'[1, 2]\n'
        b'{"id": "ok-2", "history": "Fever."}\n'
    )
    mapping = _mapping(tmp_path, "id: id\ninput: {clinical_history: history}\n")
    cases, errors = import_cases("tabular", data, mapping=mapping)
    assert [c.id for c in cases] == ["ok-1", "ok-2"]
    assert len(errors) == 5
    assert all(str(data) in str(e) for e in errors)


def test_sectioned_reports_become_cases_with_the_impression_as_gold():
    warnings: list[str] = []
    cases, errors = import_cases("reports", REPORTS, warnings=warnings)
    assert not errors
    cxr, mri = sorted(cases, key=lambda c: c.id)
    assert cxr.id == "cxr-1001" and (cxr.input.age, cxr.input.sex) == (72, "male")
    assert cxr.input.clinical_history.startswith("72-year-old man with worsening shortness of breath")
    assert cxr.input.imaging[0].modality == "X-ray"
    assert cxr.input.imaging[0].description.startswith("Technique: PA and lateral views")
    assert "Kerley B lines" in cxr.input.imaging[0].description
    assert cxr.gold.diagnosis.primary == "Congestive heart failure with interstitial pulmonary oedema"
    assert cxr.gold.final_diagnosis == cxr.gold.diagnosis.primary
    assert [d.name for d in cxr.gold.diagnosis.differentials] == ["Small bilateral pleural effusions"]
    assert cxr.gold.rehabilitation.goals == [
        "Clinical correlation with BNP; follow-up radiograph after diuresis."
    ]
    assert "congestive" not in cxr.input.model_dump_json().lower()
    assert mri.title == "MRI brain with and without contrast"
    assert (mri.input.age, mri.input.sex, mri.input.imaging[0].modality) == (34, "female", "MRI")
    assert mri.gold.diagnosis.primary == (
        "Findings are consistent with multiple sclerosis with active demyelinating lesions"
    )
    assert "Neuromyelitis optica" in mri.gold.diagnosis.reasoning
    assert any("COMPARISON" in w for w in warnings) and any("Addendum" in w for w in warnings)


def test_heading_map_file_adds_names(tmp_path: Path):
    report = tmp_path / "r1.txt"
    report.write_text(
        "CLINICAL QUESTION: Fall on outstretched hand, snuffbox tenderness.\n"
        "FINDINGS: Undisplaced fracture through the waist of the scaphoid.\n"
        "OPINION: Scaphoid waist fracture.\n",
        encoding="utf-8",
    )
    cases, errors = import_cases("reports", report, mapping=REPORTS / "headings.yaml")
    assert not errors
    assert cases[0].input.clinical_history.startswith("Fall on outstretched hand")
    assert cases[0].gold.diagnosis.primary == "Scaphoid waist fracture"
    bad = tmp_path / "h.yaml"
    bad.write_text("impresion: [OPINION]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"h\.yaml: impresion: unknown section"):
        import_cases("reports", report, mapping=bad)


def test_a_report_without_history_or_findings_is_an_error_not_a_crash(tmp_path: Path):
    (tmp_path / "a.txt").write_text("IMPRESSION: Normal study.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(b"FINDINGS: caf\xe9\n")
    (tmp_path / "c.txt").write_text("HISTORY: Headache.\nFINDINGS: Normal brain MRI.\n", encoding="utf-8")
    cases, errors = import_cases("reports", tmp_path)
    assert [c.id for c in cases] == ["c"]
    assert len(errors) == 2 and any("nothing to draft from" in str(e) for e in errors)


def test_heading_detection_is_linear_on_long_padded_lines():
    importer = ReportImporter()
    padded = "FINDINGS" + " " * 50_000
    _, sections = importer.split_sections(f"HISTORY: pain\n{padded}: x\n{padded}y\n")
    assert sections["history"] == "pain"
    assert sections["findings"].split() == ["x", "FINDINGS", "y"]  # the second line is text
