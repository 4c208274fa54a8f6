import json
from pathlib import Path

from drafting.cli import run
from tests.support import SEEDS_DIR, medpix_file, requires_medpix


def test_validate_bundled_cases(capsys):
    assert run(["cases", "validate", str(SEEDS_DIR.parent)]) == 0
    assert "2 valid cases, 0 invalid" in capsys.readouterr().out


def test_validate_reports_each_bad_file_on_one_line(tmp_path: Path, capsys):
    (tmp_path / "a.yaml").write_text("", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("id: b\ninput: {clinical_history: x, extra: 1}\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_bytes(b"\xff\xfe")
    assert run(["cases", "validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("invalid:")]
    assert {ln.split(":")[1].strip().rsplit("/", 1)[-1] for ln in lines} == {"a.yaml", "b.yaml", "c.yaml"}
    assert any("a.yaml: file is empty" in ln for ln in lines)
    assert any("b.yaml: input.extra: unknown field" in ln for ln in lines)
    assert any("c.yaml: not UTF-8" in ln for ln in lines)
    assert "Traceback" not in err


def test_validate_missing_path_and_empty_directory(tmp_path: Path, capsys):
    assert run(["cases", "validate", str(tmp_path / "nope"), str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "no such file or directory" in err and "holds no case files" in err


def test_show_by_file_and_by_id(capsys):
    assert run(["cases", "show", str(SEEDS_DIR / "seed-000.yaml")]) == 0
    out = capsys.readouterr().out
    assert "seed-000" in out and "dermatomyositis" in out.lower()
    assert run(["cases", "show", "seed-003", "--corpus", str(SEEDS_DIR)]) == 0
    assert "CC BY-NC-SA 4.0" in capsys.readouterr().out


def test_show_unknown_id_is_one_line_error(capsys):
    assert run(["cases", "show", "nope", "--corpus", str(SEEDS_DIR)]) == 1
    assert "no case with id 'nope'" in capsys.readouterr().err


def test_schema_prints_json_schema(capsys):
    assert run(["cases", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Case"


@requires_medpix
def test_import_medpix_dev_then_validate(tmp_path: Path, capsys):
    out = tmp_path / "mp-dev"
    assert run(["cases", "import", "medpix", str(medpix_file("dev")), "--out", str(out)]) == 0
    assert len(list(out.glob("*.yaml"))) == 67
    assert run(["cases", "validate", str(out)]) == 0
    assert "67 valid cases" in capsys.readouterr().out


def test_unknown_importer(tmp_path: Path, capsys):
    assert run(["cases", "import", "nope", str(tmp_path), "--out", str(tmp_path)]) == 1
    assert "unknown importer 'nope'" in capsys.readouterr().err


def test_validate_lists_every_problem_of_a_file(tmp_path: Path, capsys):
    (tmp_path / "many.yaml").write_text(
        "id: many\ntitle: t\nsource: s\nsurprise: 1\n"
        "input: {age: -4, sex: robot, clinical_history: x, imaging: [{modality: CT}]}\n",
        encoding="utf-8",
    )
    assert run(["cases", "validate", str(tmp_path)]) == 1
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("invalid:")]
    fields = " ".join(lines)
    for field in ("surprise", "input.age", "input.sex", "input.imaging.0.description"):
        assert f"many.yaml: {field}:" in fields, (field, lines)
    assert len(lines) == 4


def test_import_tabular_and_reports_from_the_command_line(tmp_path: Path, capsys):
    data = Path(__file__).parent / "data" / "import"
    assert run([
        "cases", "import", "tabular", str(data / "tabular" / "reports.csv"),
        "--mapping", str(data / "tabular" / "mapping.yaml"), "--out", str(tmp_path / "csv"),
    ]) == 0
    assert "wrote 3 case files" in capsys.readouterr().out
    assert run(["cases", "import", "reports", str(data / "reports"), "--out", str(tmp_path / "txt")]) == 0
    captured = capsys.readouterr()
    assert "wrote 2 case files" in captured.out
    assert "warning:" in captured.err and "COMPARISON" in captured.err
    assert run(["cases", "validate", str(tmp_path / "csv"), str(tmp_path / "txt")]) == 0
    csv = str(data / "tabular" / "reports.csv")
    assert run(["cases", "import", "tabular", csv, "--out", str(tmp_path)]) == 1
    assert "needs a mapping file" in capsys.readouterr().err
