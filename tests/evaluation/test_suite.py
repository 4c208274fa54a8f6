"""Suite files: validation errors name the file and field; paths resolve; overrides apply."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from drafting.errors import ConfigError
from drafting.evaluation.suite import (
    apply_overrides,
    load_case_source,
    load_suite,
    repo_root_for,
)
from tests.support import REPO, requires_medpix


def _write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "suite.yaml"
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    return p


BASE = {"name": "t", "cases": {"dir": "reference_cases/seeds"}}


def test_shipped_suites_load() -> None:
    seeds = load_suite(REPO / "eval/suites/seeds.yaml")
    assert seeds.name == "seeds"
    assert Path(seeds.cases.dir) == REPO / "reference_cases/seeds"
    assert seeds.drafter.k == 1
    assert Path(seeds.drafter.corpus.dir) == REPO / "reference_cases/seeds"
    assert seeds.fixtures.mode == "replay"
    assert Path(seeds.fixtures.dir) == REPO / "eval/fixtures"
    medpix = load_suite(REPO / "eval/suites/medpix-dev.yaml")
    assert medpix.cases.importer == "medpix"
    assert medpix.cases.path.endswith("medpix-2.0/cases_dev.jsonl")
    assert medpix.drafter.corpus.path.endswith("cases_train.jsonl")
    assert medpix.drafter.k == 3


def test_unknown_field_names_file_and_field(tmp_path: Path) -> None:
    p = _write(tmp_path, {**BASE, "drafter": {"k": 1, "temperature": 0.2}})
    with pytest.raises(ConfigError) as err:
        load_suite(p)
    msg = str(err.value)
    assert str(p) in msg and "drafter.temperature" in msg and "unknown field" in msg


def test_missing_name_and_bad_cases(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="name: required field is missing"):
        load_suite(_write(tmp_path, {"cases": {"dir": "x"}}))
    with pytest.raises(ConfigError, match="cases"):
        load_suite(_write(tmp_path, {"name": "t", "cases": {"importer": "medpix"}}))


def test_bad_fixture_mode(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fixtures.mode"):
        load_suite(_write(tmp_path, {**BASE, "fixtures": {"mode": "sometimes"}}))


def test_missing_prompt_version_is_named(tmp_path: Path) -> None:
    pytest.importorskip("drafting.prompts")
    p = _write(tmp_path, {**BASE, "drafter": {"prompts": {"findings": "v999"}}})
    with pytest.raises(ConfigError) as err:
        load_suite(p)
    assert "drafter.prompts.findings" in str(err.value) and "v999" in str(err.value)


def test_not_a_mapping_and_invalid_yaml(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_suite(p)
    p.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_suite(p)


def test_paths_fall_back_to_repo_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "eval" / "suites").mkdir(parents=True)
    (tmp_path / "mycases").mkdir()
    suite = tmp_path / "eval" / "suites" / "s.yaml"
    suite.write_text(yaml.safe_dump({"name": "s", "cases": {"dir": "mycases"}}), encoding="utf-8")
    assert repo_root_for(suite) == tmp_path.resolve()
    monkeypatch.chdir(tmp_path / "eval")  # "mycases" does not exist here: repo root is used
    assert Path(load_suite(suite).cases.dir) == (tmp_path / "mycases").resolve()
    (tmp_path / "eval" / "mycases").mkdir()  # now it exists under the working directory
    assert Path(load_suite(suite).cases.dir) == (tmp_path / "eval" / "mycases").resolve()


def test_overrides(tmp_path: Path) -> None:
    s = load_suite(REPO / "eval/suites/seeds.yaml")
    o = apply_overrides(s, fixtures="auto", model="m2", cases=tmp_path)
    assert o.fixtures.mode == "auto" and o.drafter.model == "m2"
    assert o.cases.dir == str(tmp_path.resolve())
    assert o.config_hash() != s.config_hash()
    assert apply_overrides(s).config_hash() == s.config_hash()
    with pytest.raises(ConfigError, match="fixture mode"):
        apply_overrides(s, fixtures="nope")


def test_case_source_ids_and_limit() -> None:
    s = load_suite(REPO / "eval/suites/seeds.yaml")
    cases, errors = load_case_source(s.cases)
    assert [c.id for c in cases] == ["seed-000", "seed-003"] and not errors
    s.cases.ids = ["seed-003"]
    assert [c.id for c in load_case_source(s.cases)[0]] == ["seed-003"]
    s.cases.ids = None
    s.cases.limit = 1
    assert len(load_case_source(s.cases)[0]) == 1


def test_a_bad_file_outside_the_chosen_ids_does_not_fail_the_suite(tmp_path: Path) -> None:
    import shutil

    cases_dir = tmp_path / "cases"
    shutil.copytree(REPO / "reference_cases" / "seeds", cases_dir)
    (cases_dir / "broken.yaml").write_text("id: broken\ninput: [not, a, mapping]\n", "utf-8")
    s = load_suite(_write(tmp_path, {**BASE, "cases": {"dir": str(cases_dir)}}))
    assert len(load_case_source(s.cases)[1]) == 1  # the whole folder: the bad file is reported
    s.cases.ids = ["seed-003"]
    cases, errors = load_case_source(s.cases)
    assert [c.id for c in cases] == ["seed-003"] and errors == []
    s.cases.ids = ["seed-003", "broken"]  # a wanted case did not load: its error stays
    cases, errors = load_case_source(s.cases)
    assert [c.id for c in cases] == ["seed-003"] and len(errors) == 1


@requires_medpix
def test_medpix_dev_cases_load() -> None:
    s = load_suite(REPO / "eval/suites/medpix-dev.yaml")
    cases, _ = load_case_source(s.cases)
    assert len(cases) > 50


def test_a_corpus_read_by_a_mapped_importer_passes_the_suite_check():
    from drafting.evaluation.setup import check_suite, load_suite_corpus

    suite = load_suite(REPO / "eval/suites/imported-examples.yaml")
    check_suite(suite)  # the mapping reaches the importer (it was refused as missing)
    assert [c.id for c in load_suite_corpus(suite)] == ["rad-0001", "rad-0002", "rad-0003"]
