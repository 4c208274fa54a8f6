from pathlib import Path

import pytest

from drafting.errors import ConfigError
from drafting.prompts import (
    DEFAULT_VERSIONS,
    STAGES,
    available_versions,
    load_prompt,
    load_prompt_file,
    load_prompt_set,
    parse_prompt_overrides,
)
from drafting.schema import STAGE_OUTPUTS

VALID = """\
stage: findings
version: v9
description: test prompt
output_schema: FindingsOutput
input_variables: [case, references]
messages:
  - role: system
    content: "Answer in JSON like {{\\"findings\\": []}}."
  - role: user
    content: "{references} then {case}"
"""


def _write(tmp_path: Path, text: str, stage: str = "findings", version: str = "v9") -> Path:
    path = tmp_path / stage / f"{version}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_prompts_load_for_every_stage():
    prompts = load_prompt_set()
    assert list(prompts) == list(STAGES)
    for stage, spec in prompts.items():
        assert spec.version == DEFAULT_VERSIONS[stage] and spec.stage == stage
        assert spec.output_schema in STAGE_OUTPUTS
        assert len(spec.sha256) == 64
        assert "v1" in available_versions(stage)


def test_valid_prompt_renders_literal_braces(tmp_path: Path):
    spec = load_prompt_file(_write(tmp_path, VALID))
    messages = spec.render(case="C", references="R")
    assert messages[0] == ("system", 'Answer in JSON like {"findings": []}.')
    assert messages[1] == ("user", "R then C")


def test_hash_changes_with_content(tmp_path: Path):
    a = load_prompt_file(_write(tmp_path, VALID))
    b = load_prompt_file(_write(tmp_path / "x", VALID.replace("test prompt", "changed")))
    assert a.sha256 != b.sha256


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (VALID.replace("[case, references]", "[references]"), "used but not declared: case"),
        (VALID.replace("[case, references]", "[case, references, extra]"), "declared but not used: extra"),
        (VALID.replace("FindingsOutput", "NoSuchSchema"), "unknown output schema"),
        (VALID.replace("description: test prompt\n", ""), "description: required field is missing"),
        (VALID + "colour: red\n", "colour: unknown field"),
        (VALID.replace("{references} then", "{0} then {references}"), "is not a variable name"),
        (VALID.replace("version: v9", "version: v8"), "file should be findings/v8.yaml"),
        # issue 17: values that used to be accepted
        (VALID + "parameters: {seed: 10000000000000000000000000000000000000000}\n",
         "parameters.seed"),
        (VALID + "parameters: {max_tokens: true}\n", "parameters.max_tokens"),
        (VALID + "parameters: {temperature: true}\n", "parameters.temperature"),
        (VALID + "stage: findings\n", "duplicate key 'stage'"),
        (VALID.replace("test prompt", "!!binary aGVsbG8="), "'!!binary' is not allowed"),
    ],
)
def test_invalid_prompt_files(tmp_path: Path, text: str, expected: str):
    with pytest.raises(ConfigError) as info:
        load_prompt_file(_write(tmp_path, text))
    assert expected in str(info.value)
    assert "v9.yaml" in str(info.value)


def test_missing_version_lists_available():
    with pytest.raises(ConfigError, match=r"no prompt version 'v999'.*available: v1"):
        load_prompt("diagnosis", "v999")


def test_unknown_stage_and_bad_override():
    with pytest.raises(ConfigError, match="unknown stage"):
        load_prompt_set({"impression": "v1"})
    with pytest.raises(ConfigError, match="expected stage=version"):
        parse_prompt_overrides(["diagnosis"])
    assert parse_prompt_overrides(["diagnosis=v2"]) == {"diagnosis": "v2"}


def test_missing_variable_at_render_time():
    spec = load_prompt("findings")
    with pytest.raises(ConfigError, match="missing prompt variables: references"):
        spec.render(case="x")


def test_user_prompt_dirs_layer_over_the_bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A user directory adds versions and overrides bundled ones; the rest stay bundled."""
    from drafting.prompts import prompt_dirs
    from drafting.resources import bundled_path

    monkeypatch.chdir(tmp_path)  # no ./prompts here
    mine = tmp_path / "mine"
    _write(mine, VALID)  # findings/v9: a new version
    override = VALID.replace("version: v9", "version: v1").replace("test prompt", "my v1")
    _write(mine, override, version="v1")  # findings/v1: overrides the bundled one
    assert prompt_dirs(mine) == (mine.resolve(), bundled_path("prompts").resolve())
    assert load_prompt("findings", "v9", prompts_dir=mine).description == "test prompt"
    assert load_prompt("findings", "v1", prompts_dir=mine).description == "my v1"
    assert load_prompt("findings", "v1").description != "my v1"  # bundled without the layer
    assert load_prompt("diagnosis", "v2", prompts_dir=mine).version == "v2"  # falls through
    assert available_versions("findings", prompts_dir=mine) == ["v1", "v2", "v9"]
    prompts = load_prompt_set({"findings": "v9"}, prompts_dir=mine)
    # unnamed stages take DEFAULT_VERSIONS (diagnosis v3), from the bundled layer
    assert prompts["findings"].version == "v9" and prompts["diagnosis"].version == "v3"


def test_prompt_dirs_from_the_environment_and_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from drafting.prompts import prompt_dirs

    a, b, local = tmp_path / "a", tmp_path / "b", tmp_path / "work" / "prompts"
    _write(a, VALID)
    _write(b, VALID.replace("version: v9", "version: v8"), version="v8")
    local.mkdir(parents=True)
    monkeypatch.chdir(local.parent)
    monkeypatch.setenv("DRAFTING_PROMPTS_DIR", f"{a}{':'}{b}")
    dirs = prompt_dirs(tmp_path / "cli")
    assert dirs[:4] == tuple(p.resolve() for p in (tmp_path / "cli", a, b, local))
    assert load_prompt("findings", "v8").version == "v8"
    with pytest.raises(ConfigError, match=r"available: v1, v2, v8, v9; searched: "):
        load_prompt("findings", "v7")
