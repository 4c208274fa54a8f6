import json

import pytest
from pydantic import ValidationError

from drafting.schema import (
    DISCLAIMER,
    Case,
    CaseInput,
    Draft,
    FindingsOutput,
    ImagingStudy,
    Report,
    case_json_schema,
    is_safe_case_id,
)


def _case(**over):
    data = {
        "id": "c-1",
        "input": {
            "age": 40,
            "sex": "F",
            "clinical_history": "Knee pain.",
            "imaging": [{"modality": "MRI", "region": "knee", "description": "Effusion."}],
        },
    }
    data.update(over)
    return data


def test_case_round_trip_through_json():
    case = Case.model_validate(_case())
    again = Case.model_validate_json(case.model_dump_json())
    assert again == case
    assert again.input.sex == "female"  # "F" normalised


def test_unknown_field_is_rejected():
    with pytest.raises(ValidationError) as info:
        Case.model_validate(_case(colour="blue"))
    assert info.value.errors()[0]["type"] == "extra_forbidden"


@pytest.mark.parametrize("bad_id", ["../etc", "a/b", "", ".hidden", "x" * 200])
def test_case_ids_must_be_path_safe(bad_id):
    assert not is_safe_case_id(bad_id)
    with pytest.raises(ValidationError):
        Case.model_validate(_case(id=bad_id))


def test_input_needs_history_or_imaging():
    with pytest.raises(ValidationError, match="clinical_history or at least one imaging"):
        CaseInput(clinical_history="", imaging=[])


def test_imaging_text_labels_each_study():
    inp = CaseInput(
        imaging=[ImagingStudy(modality="CT", region="chest", description="Nodule."),
                 ImagingStudy(description="Normal.")]
    )
    assert inp.imaging_text() == "CT chest: Nodule.\nNormal."


def test_gold_may_be_empty_and_report_defaults_are_empty():
    case = Case.model_validate(_case())
    assert case.gold == Report()
    assert case.label() == ""


def test_stage_output_schema_bounds_lists():
    schema = FindingsOutput.model_json_schema()
    assert schema["properties"]["findings"]["maxItems"] == 6
    # Strings are bounded too (the bound rides in the pattern; see tests/test_outputs.py).
    assert schema["properties"]["findings"]["items"]["maxLength"] == 150
    with pytest.raises(ValidationError):
        FindingsOutput(findings=[])


def test_draft_round_trip_keeps_provenance():
    draft = Draft(case_id="c-1", report=Report(findings="x", disclaimer=DISCLAIMER))
    again = Draft.model_validate_json(draft.model_dump_json())
    assert again == draft


def test_case_json_schema_is_json_serialisable():
    schema = case_json_schema()
    assert "input" in schema["properties"]
    json.dumps(schema)
