"""Matrix runs: variants from --prompt/--model, metrics by variant with the best marked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drafting.cli import run as cli
from drafting.errors import ConfigError
from drafting.evaluation import load_run
from drafting.evaluation.matrix import build_matrix, expand_variants, render_matrix_html
from drafting.evaluation.records import PromptRecord
from tests.evaluation.harness_support import make_cases, write_suite
from tests.evaluation.run_builders import build_run


def test_expand_variants_makes_every_combination() -> None:
    variants = expand_variants(["diagnosis=v1,v2,v3", "findings=v1"], ["a,b"])
    assert len(variants) == 6
    assert [v.label for v in variants[:3]] == [
        "diagnosis=v1 findings=v1 model=a",
        "diagnosis=v1 findings=v1 model=b",
        "diagnosis=v2 findings=v1 model=a",
    ]
    assert expand_variants([], [])[0].label == "suite config"
    (single,) = expand_variants(["diagnosis=v2"], [])
    assert single.prompts == {"diagnosis": "v2"} and single.model is None


@pytest.mark.parametrize("items", [["diagnosis"], ["diagnosis="], ["diagnosis=v1", "diagnosis=v2"],
                                   ["diagnosis=v1,v1"]])
def test_expand_variants_rejects_bad_items(items: list[str]) -> None:
    with pytest.raises(ConfigError):
        expand_variants(items)


def _variant(tmp_path: Path, name: str, version: str, quality: dict[str, float],
             cost: float) -> Path:
    return build_run(
        tmp_path / name, {"quality": quality, "cost": dict.fromkeys(quality, cost)},
        prompts={"diagnosis": PromptRecord(version=version, sha256=version * 32),
                 "findings": PromptRecord(version="v1", sha256="f" * 64)},
        cases_dir=str(tmp_path),
    )


def test_matrix_marks_the_best_variant_per_metric(tmp_path: Path) -> None:
    ids = [f"c{i}" for i in range(4)]
    runs = [
        _variant(tmp_path, "r1", "v1", dict.fromkeys(ids, 0.5), 100.0),
        _variant(tmp_path, "r2", "v2", dict.fromkeys(ids, 0.7), 120.0),
        _variant(tmp_path, "r3", "v3", dict.fromkeys(ids, 0.6), 90.0),
    ]
    m = build_matrix(runs)
    # Only the setting that differs names the variants.
    assert m.labels == ["diagnosis=v1", "diagnosis=v2", "diagnosis=v3"]
    rows = {row.name: row for row in m.rows}
    assert [c.best for c in rows["quality"].cells] == [False, True, False]
    assert [c.best for c in rows["cost"].cells] == [False, False, True]  # lower is better
    assert rows["quality"].cells[1].mean == pytest.approx(0.7) and rows["quality"].cells[1].n == 4
    assert m.warnings == ["at most 4 scored case(s) per variant: means and intervals this small a "
                          "sample are unreliable (want at least 10)"]


def test_matrix_marks_no_best_when_all_equal_and_warns_on_other_case_sets(tmp_path: Path) -> None:
    a = _variant(tmp_path, "r1", "v1", {"c0": 0.5, "c1": 0.5}, 100.0)
    b = _variant(tmp_path, "r2", "v2", {"c0": 0.5, "c2": 0.5}, 100.0)
    m = build_matrix([a, b])
    assert not any(c.best for row in m.rows for c in row.cells)
    assert any("different case sets" in w for w in m.warnings)


def test_cli_matrix_table_json_and_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = ["c0", "c1"]
    runs = [_variant(tmp_path, "r1", "v1", dict.fromkeys(ids, 0.5), 100.0),
            _variant(tmp_path, "r2", "v2", dict.fromkeys(ids, 0.7), 120.0)]
    html = tmp_path / "m.html"
    assert cli(["eval", "matrix", *map(str, runs), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.lstrip().startswith("quality"))
    assert "0.500" in row and "★ 0.700" in row
    page = html.read_text()
    assert "<script" not in page and 'class="num best"' in page and "diagnosis=v2" in page
    assert cli(["eval", "matrix", *map(str, runs), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["labels"] == ["diagnosis=v1", "diagnosis=v2"]


def test_cli_run_with_several_versions_runs_every_variant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cases_dir = tmp_path / "cases"
    make_cases(cases_dir, n=3)
    monkeypatch.setenv("DRAFTING_EVAL_DRAFT_FN", "tests.evaluation.harness_support:slow_draft")
    suite = write_suite(tmp_path / "s.yaml", cases_dir,
                        metrics=["structure.sections_present", "cost.tokens"])
    assert cli(["eval", "run", str(suite), "--out", str(tmp_path / "runs"), "--quiet",
                "--prompt", "diagnosis=v1,v2"]) == 0
    out, err = capsys.readouterr()
    assert "variant 1/2: diagnosis=v1" in err and "variant 2/2: diagnosis=v2" in err
    dirs = [Path(line) for line in out.strip().splitlines()[-2:]]
    versions = [load_run(d).config.prompts["diagnosis"].version for d in dirs]
    assert versions == ["v1", "v2"]
    assert "diagnosis=v1" in out and "structure.sections_present" in out


def test_cli_run_refuses_resume_with_a_matrix(tmp_path: Path) -> None:
    cases_dir = tmp_path / "cases"
    make_cases(cases_dir, n=1)
    suite = write_suite(tmp_path / "s.yaml", cases_dir)
    assert cli(["eval", "run", str(suite), "--prompt", "diagnosis=v1,v2",
                "--resume", str(tmp_path)]) == 1


def test_matrix_page_escapes_labels(tmp_path: Path) -> None:
    a = build_run(tmp_path / "<b>x", {"quality": {"c0": 0.1}})  # labelled by its run id
    page = render_matrix_html(build_matrix([a]))
    assert "<b>x" not in page and "&lt;b&gt;x" in page
