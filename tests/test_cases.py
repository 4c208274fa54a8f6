from pathlib import Path

import pytest

from drafting.cases import ReferenceStore, load_case, load_cases, save_case
from drafting.errors import CaseFileError
from tests.support import SEEDS_DIR

GOOD = """\
id: good-1
input:
  clinical_history: Knee pain.
  imaging:
    - modality: MRI
      description: Joint effusion.
"""


def test_seed_cases_load_and_keep_input_apart_from_gold():
    result = load_cases([SEEDS_DIR])
    assert not result.errors
    assert sorted(c.id for c in result.cases) == ["seed-000", "seed-003"]
    for case in result.cases:
        assert case.gold.findings and case.gold.final_diagnosis and case.gold.disclaimer
        assert case.gold.rehabilitation.exercises == []  # the list was lost in the source text
        input_text = case.input.model_dump_json()
        assert case.gold.final_diagnosis not in input_text
    assert load_case(SEEDS_DIR / "seed-003.yaml").license == "CC BY-NC-SA 4.0"


def test_save_then_load_round_trip(tmp_path: Path):
    case = load_case(SEEDS_DIR / "seed-000.yaml")
    path = save_case(case, tmp_path)
    assert path.name == "seed-000.yaml"
    assert load_case(path) == case


BAD_FILES = {
    "invalid_yaml.yaml": ("id: [unclosed\n", "invalid YAML at line"),
    "wrong_type.yaml": (GOOD.replace("id: good-1", "id: good-2\nlicense: [1, 2]"), "license"),
    "missing_field.yaml": ("id: m-1\n", "input: required field is missing"),
    "unknown_field.yaml": (GOOD.replace("id: good-1", "id: u-1\ncolour: red"), "colour: unknown field"),
    "empty.yaml": ("", "file is empty"),
    "a_list.yaml": ("- 1\n- 2\n", "expected a mapping"),
    "bad_id.yaml": (GOOD.replace("good-1", "../escape"), "id: String should match pattern"),
    "bad_age.yaml": (GOOD.replace("input:", "input:\n  age: -3"), "input.age"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_give_one_line_naming_file_and_field(tmp_path: Path, name: str):
    text, expected = BAD_FILES[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CaseFileError) as info:
        load_case(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_non_utf8_file(tmp_path: Path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(GOOD.replace("Knee", "Kn\xe9e").encode("latin-1"))
    with pytest.raises(CaseFileError, match="not UTF-8"):
        load_case(path)


def test_yaml_is_loaded_safely(tmp_path: Path):
    path = tmp_path / "evil.yaml"
    path.write_text("!!python/object/apply:os.system ['echo pwned']\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match="invalid YAML"):
        load_case(path)


def test_too_large_file_is_refused_before_parsing(tmp_path: Path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: " + b"x" * 3_000_000)
    with pytest.raises(CaseFileError, match="over the"):
        load_case(path)


def test_deeply_nested_yaml_is_an_error_not_a_crash(tmp_path: Path):
    path = tmp_path / "deep.yaml"
    path.write_text("[" * 50_000 + "]" * 50_000, encoding="utf-8")
    with pytest.raises(CaseFileError):
        load_case(path)


def test_load_cases_reports_every_bad_file_and_keeps_good_ones(tmp_path: Path):
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad1.yaml").write_text("", encoding="utf-8")
    (tmp_path / "bad2.yaml").write_text("id: x\n", encoding="utf-8")
    (tmp_path / "dup.yaml").write_text(GOOD, encoding="utf-8")
    result = load_cases([tmp_path])
    assert [c.id for c in result.cases] == ["good-1"]
    messages = sorted(str(e) for e in result.errors)
    assert len(messages) == 3
    assert any("duplicate case id 'good-1'" in m for m in messages)


def test_directory_without_cases(tmp_path: Path):
    result = load_cases([tmp_path])
    assert "holds no case files" in str(result.errors[0])


def test_reference_store_lookup():
    store = ReferenceStore.load(SEEDS_DIR)
    assert len(store) == 2 and "seed-000" in store
    assert store.get("seed-003").input.age == 57
    with pytest.raises(CaseFileError, match="no reference cases"):
        ReferenceStore.load(SEEDS_DIR / "missing", strict=False)
