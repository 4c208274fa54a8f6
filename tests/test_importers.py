import json
from pathlib import Path

from drafting.cases import load_cases, save_case
from drafting.importers import MedPixImporter, import_cases, parse_age_sex, split_list
from tests.support import medpix_file, requires_medpix


def test_split_list_handles_bullets_and_group_headings():
    text = (
        "» Benign\n•  fibrous dysplasia\n•  enchondroma\n\n» Other\n•  aneurysmal bone cyst\n"
        "-Ankle Sprain\n--Stress Fracture."
    )
    assert split_list(text) == [
        "fibrous dysplasia", "enchondroma", "aneurysmal bone cyst", "Ankle Sprain", "Stress Fracture",
    ]


def test_parse_age_sex_variants():
    assert parse_age_sex("75 y.o. man with CAD") == (75, "male")
    assert parse_age_sex("74 yo WF with diabetes") == (74, "female")
    assert parse_age_sex("A 38 year old female presented") == (38, "female")
    assert parse_age_sex("8-week-old baby boy") == (0, "male")
    assert parse_age_sex("Chronic cough.") == (None, "unknown")


def test_record_with_missing_fields_still_imports():
    case = MedPixImporter().record_to_case(
        {"U_id": "MPX1", "Case": {"History": "40 yo woman with cough", "Findings": None}}
    )
    assert case.input.imaging == [] and case.input.sex == "female"
    assert case.gold.final_diagnosis == ""


def test_bad_records_are_errors_not_crashes(tmp_path: Path):
    path = tmp_path / "x.jsonl"
    path.write_text(
        '{"U_id": "MPX1", "Case": {"History": "cough"}}\nnot json\n{"Case": {}}\n[1]\n',
        encoding="utf-8",
    )
    cases, errors = import_cases("medpix", path)
    assert [c.id for c in cases] == ["MPX1"]
    assert len(errors) == 3
    assert all(str(path) in str(e) for e in errors)


def test_a_bad_record_or_line_is_reported_and_the_import_goes_on(tmp_path: Path):
    """One non-UTF-8 line, or one record whose `Case` is a string, aborted the whole import."""
    good = json.dumps({"U_id": "MPX1", "Case": {"History": "40 yo woman with cough"}})
    later = json.dumps({"U_id": "MPX2", "Case": {"Findings": "Consolidation."}})
    path = tmp_path / "x.jsonl"
    path.write_bytes(
        good.encode() + b"\n"
        + b'{"U_id": "MPX9", "Case": {"History": "caf\xe9"}}\n'  # Latin-1, not UTF-8
        + json.dumps({"U_id": "MPX3", "Case": "a string"}).encode() + b"\n"
        + json.dumps({"U_id": "MPX4", "Case": {"History": "x"}, "Topic": ["a list"]}).encode()
        + b"\n" + later.encode() + b"\n"
    )
    cases, errors = import_cases("medpix", path)
    assert [c.id for c in cases] == ["MPX1", "MPX2"]
    messages = [str(e) for e in errors]
    assert len(messages) == 3, messages
    assert f"{path}:2" in messages[0] and "UTF-8" in messages[0]
    assert f"{path}:3" in messages[1] and "Case" in messages[1]
    assert f"{path}:4" in messages[2] and "Topic" in messages[2]


def test_a_directory_of_files_reports_a_bad_file_and_goes_on(tmp_path: Path):
    import os

    (tmp_path / "a.jsonl").write_text(
        json.dumps({"U_id": "MPX1", "Case": {"History": "cough"}}) + "\n", encoding="utf-8")
    os.mkfifo(tmp_path / "b.jsonl")
    (tmp_path / "c.jsonl").write_text(
        json.dumps({"U_id": "MPX2", "Case": {"History": "fever"}}) + "\n", encoding="utf-8")
    cases, errors = import_cases("medpix", tmp_path)
    assert [c.id for c in cases] == ["MPX1", "MPX2"]
    assert len(errors) == 1 and "b.jsonl" in str(errors[0]) and "FIFO" in str(errors[0])


@requires_medpix
def test_medpix_dev_imports_67_valid_cases_without_gold_in_input(tmp_path: Path):
    cases, errors = import_cases("medpix", medpix_file("dev"))
    assert len(cases) == 67 and not errors
    raw = {json.loads(line)["U_id"]: json.loads(line) for line in medpix_file("dev").open()}
    for case in cases:
        input_text = case.input.model_dump_json().lower()
        record = raw[case.id]["Case"]
        source_input = " ".join(
            (record.get(f) or "") for f in ("History", "Exam", "Findings")
        ).lower()
        for gold_field in ("Case Diagnosis", "Differential Diagnosis", "Discussion", "Title"):
            value = (record.get(gold_field) or "").strip().lower()
            # A finding may itself name the diagnosis ("... consistent with an acute infarct");
            # what must never happen is a gold field copied into the input.
            if len(value) > 12 and value not in source_input:
                assert json.dumps(value)[1:-1] not in input_text, (case.id, gold_field)
        topic = (raw[case.id].get("Topic") or {}).get("Title") or ""
        assert case.topic == topic.strip()
    for case in cases:
        save_case(case, tmp_path)
    assert len(load_cases([tmp_path]).cases) == 67
