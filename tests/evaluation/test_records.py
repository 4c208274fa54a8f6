"""Typed, versioned run records: what is written, what older and newer files do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drafting.cli import run as cli
from drafting.errors import InputError, RecordFormatError
from drafting.evaluation import load_run, write_baseline
from drafting.evaluation.gate import load_baseline
from drafting.evaluation.records import FORMAT_VERSION, CaseRow, RunNote, RunSummary
from drafting.evaluation.rundir import RESULTS, read_results
from tests.evaluation.run_builders import build_run

IDS = [f"c{i}" for i in range(4)]


def _run(tmp_path: Path) -> Path:
    return build_run(tmp_path / "run", {"quality": {c: 0.5 for c in IDS},
                                        "cost": {c: 10.0 for c in IDS}})


def _strip_format(path: Path) -> None:
    """Make a file look like one written before format versions existed."""
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        for row in rows:
            row.pop("format")
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        data = json.loads(path.read_text())
        data.pop("format")
        path.write_text(json.dumps(data))


def test_every_file_carries_the_format_version(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    for name in ("config.json", "summary.json"):
        assert json.loads((run_dir / name).read_text())["format"] == FORMAT_VERSION
    first = json.loads((run_dir / RESULTS).read_text().splitlines()[0])
    assert first["format"] == FORMAT_VERSION
    baseline = write_baseline(run_dir, tmp_path / "b.json")
    assert json.loads(baseline.read_text())["format"] == FORMAT_VERSION


def test_load_run_gives_typed_records(tmp_path: Path) -> None:
    run = load_run(_run(tmp_path))
    assert isinstance(run.summary, RunSummary) and all(isinstance(r, CaseRow) for r in run.results)
    assert run.summary.metrics["quality"].mean == pytest.approx(0.5)
    assert run.results[0].scored_value("quality") == pytest.approx(0.5)
    assert run.config is not None and run.config.suite.name == "built"


def test_unversioned_run_directory_loads_as_version_1(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    for name in ("config.json", "summary.json", RESULTS):
        _strip_format(run_dir / name)
    run = load_run(run_dir)
    assert run.summary is not None and run.summary.cases.total == 4
    assert len(run.results) == 4
    assert cli(["eval", "check", str(run_dir)]) == 0


@pytest.mark.parametrize("name", ["config.json", "summary.json"])
def test_newer_file_is_a_one_line_error_naming_file_and_version(tmp_path: Path, name: str) -> None:
    run_dir = _run(tmp_path)
    data = json.loads((run_dir / name).read_text())
    data["format"] = FORMAT_VERSION + 1
    (run_dir / name).write_text(json.dumps(data))
    with pytest.raises(RecordFormatError) as err:
        load_run(run_dir)
    message = str(err.value)
    assert "\n" not in message and name in message
    assert f"format {FORMAT_VERSION + 1}" in message and "upgrade drafting" in message
    assert isinstance(err.value, InputError)


def test_older_or_unknown_row_version_says_what_to_do(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    lines = (run_dir / RESULTS).read_text().splitlines()
    row = json.loads(lines[1])
    row["format"] = 0
    lines[1] = json.dumps(row)
    (run_dir / RESULTS).write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordFormatError, match=r"results.jsonl:2: results format 0 .* re-run"):
        read_results(run_dir / RESULTS)


def test_baseline_versions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = _run(tmp_path)
    path = write_baseline(run_dir, tmp_path / "b.json")
    _strip_format(path)
    assert load_baseline(path).metrics["quality"].n == 4  # unversioned: version 1
    data = json.loads(path.read_text())
    data["format"] = 99
    path.write_text(json.dumps(data))
    assert cli(["eval", "check", str(run_dir), "--baseline", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "baseline format 99" in err and "b.json" in err


def test_summary_has_room_for_run_level_notes() -> None:
    summary = RunSummary(notes=[RunNote(kind="contamination", message="MPX2046 ~ MPX2531",
                                        details={"similarity": 0.97})])
    again = RunSummary.model_validate_json(summary.model_dump_json())
    assert again.notes[0].details == {"similarity": 0.97}


def test_the_draft_is_serialised_once_as_the_model(tmp_path: Path) -> None:
    from drafting.evaluation.records import CaseRow as Row
    from tests.evaluation.harness_support import make_cases, make_draft

    (case,) = make_cases(tmp_path / "cases", n=1)
    row = Row(case_id=case.id, status="ok", draft=make_draft(case))
    back = Row.model_validate_json(row.model_dump_json())
    assert back.draft == row.draft


def test_finish_run_writes_notes_to_summary_and_report(tmp_path: Path) -> None:
    from drafting.evaluation.runner import finish_run

    run_dir = _run(tmp_path)
    note = RunNote(kind="contamination", message="MPX2046 is MPX2531 under another id")
    run = finish_run(run_dir, cases={}, notes=[note])
    assert json.loads((run_dir / "summary.json").read_text())["notes"][0]["kind"] == "contamination"
    assert run.summary is not None and run.summary.notes == [note]
    assert "MPX2046 is MPX2531 under another id" in (run_dir / "report.html").read_text()
