"""Bad case files and bad suites at the run level: one line naming the file and field, no
traceback, and the good cases of the run go on.

Single-file loading is covered in tests/test_cases.py; here every bad file sits in a suite's case
directory beside good ones and goes through `drafting eval run`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from drafting.cli import run as cli
from drafting.evaluation.rundir import RESULTS, read_results
from tests.evaluation.harness_support import make_cases, write_suite
from tests.support import SEEDS_DIR

GOOD = yaml.safe_load((sorted(SEEDS_DIR.glob("*.yaml"))[0]).read_text(encoding="utf-8"))


def _case(**changes: object) -> str:
    data = json.loads(json.dumps(GOOD))
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split(".")
        for p in parents:
            node = node[p]
        if value is _DROP:
            del node[last]
        else:
            node[last] = value
    return yaml.safe_dump(data, sort_keys=False)


_DROP = object()

#: file name -> (content, text the failed row's message must contain besides the file name)
BAD_CASE_FILES: dict[str, tuple[bytes | str, str]] = {
    "invalid-yaml.yaml": ("id: x\ninput: [unclosed\n", "invalid YAML"),
    "wrong-type-age.yaml": (_case(id="wrong-age", **{"input.age": "old"}), "input.age"),
    "wrong-type-imaging.yaml": (_case(id="wrong-img", **{"input.imaging": "CT head"}), "input.imaging"),
    "unknown-field.yaml": (_case(id="unknown-field", colour="blue"), "colour"),
    "missing-input.yaml": (_case(id="no-input", input=_DROP), "input"),
    "missing-id.yaml": (_case(id=_DROP), "id"),
    "empty.yaml": ("", "empty"),
    "whitespace.yaml": ("   \n\n", "empty"),
    "non-utf8.yaml": (b"id: caf\xe9\n", "UTF-8"),
    "nul-bytes.yaml": (b"\x00\x01\x02binary", ""),
    "top-level-list.yaml": ("- id: a\n- id: b\n", "mapping"),
    "deeply-nested.yaml": ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
    "dotdot-id.yaml": (_case(id="../escape"), "id"),
    "slash-id.yaml": (_case(id="sub/dir"), "id"),
    "python-object.yaml": ("!!python/object/apply:os.system ['echo pwned']\n", "invalid YAML"),
    "duplicate-id.yaml": (_case(id="case-00"), "duplicate case id"),
    "multi-document.yaml": (_case(id="multi") + "---\nid: second\n", "invalid YAML"),
    # issue 17: values that used to be accepted
    "age-true.yaml": (_case(id="age-true", **{"input.age": True}), "input.age"),
    "duplicate-key.yaml": (_case(id="dup-key") + "input: {clinical_history: second}\n",
                           "duplicate key 'input'"),
    "binary-text.yaml": ("id: bin\ninput:\n  clinical_history: !!binary aGVsbG8=\n",
                         "!!binary"),
    "alias-bomb.yaml": ("id: bomb\n" + "".join(
        f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}" if i else '"x"'] * 9) + "]\n"
        for i in range(9)), "alias"),
}


@pytest.fixture
def fake_drafter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRAFTING_EVAL_DRAFT_FN", "tests.evaluation.harness_support:slow_draft")


def _assert_one_line_no_traceback(err: str) -> str:
    assert "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_bad_case_files_fail_alone_and_good_cases_are_scored(
    tmp_path: Path, fake_drafter: None, capsys: pytest.CaptureFixture
) -> None:
    cases_dir = tmp_path / "cases"
    make_cases(cases_dir, n=4)
    for name, (content, _) in BAD_CASE_FILES.items():
        path = cases_dir / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    big = cases_dir / "fifty-megabytes.yaml"
    with big.open("wb") as handle:  # sparse: the size is what the loader checks first
        handle.write(b"id: big\n# ")
        handle.truncate(50 * 2**20)
    suite = write_suite(tmp_path / "suite.yaml", cases_dir,
                        metrics=["structure.sections_present", "structure.disclaimer"])

    # The run goes on; the failed rows break the suite's gate (no failures allowed): exit 1.
    code = cli(["eval", "run", str(suite), "--out", str(tmp_path / "runs"), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err and "gate: failed cases" in err
    run_dir = Path(out.strip().splitlines()[-1])
    rows = read_results(run_dir / RESULTS)
    ok = {r.case_id for r in rows if r.status == "ok"}
    assert ok == {f"case-{i:02d}" for i in range(4)}
    failed = [r for r in rows if r.status == "failed"]
    messages = [r.error.message for r in failed if r.error is not None]
    assert all(r.error is not None and r.error.stage == "load" and r.error.type == "CaseFileError"
               for r in failed)
    assert all("\n" not in m and "Traceback" not in m for m in messages)
    for name, (_, expected) in {**BAD_CASE_FILES, "fifty-megabytes.yaml": (b"", "limit")}.items():
        hits = [m for m in messages if name in m]
        assert len(hits) == 1, (name, messages)
        assert expected in hits[0], (name, hits[0])
    # Every bad file is one failed row; no good case lost, none invented.
    assert len(failed) == len(BAD_CASE_FILES) + 1
    assert len(rows) == len({r.case_id for r in rows}) == 4 + len(failed)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["cases"] == {"total": len(rows), "ok": 4, "failed": len(failed)}


def _suite(tmp_path: Path, **fields: object) -> dict:
    make_cases(tmp_path / "cases", n=2)
    data: dict = {"name": "bad", "cases": {"dir": str(tmp_path / "cases")},
                  "fixtures": {"mode": "replay", "dir": str(tmp_path / "fixtures")}}
    for key, value in fields.items():
        if value is _DROP:
            data.pop(key)
        else:
            data[key] = value
    return data


#: id -> (suite content builder, text the message must contain besides the suite file name)
BAD_SUITES = {
    "invalid-yaml": (lambda t: "name: x\ncases: {dir: [\n", "invalid YAML"),
    "empty": (lambda t: "", "empty"),
    "non-utf8": (lambda t: b"name: caf\xe9\n", "UTF-8"),
    "not-a-mapping": (lambda t: "- a\n- b\n", "mapping"),
    "unknown-field": (lambda t: _suite(t, colour="blue"), "colour"),
    "missing-cases": (lambda t: _suite(t, cases=_DROP), "cases"),
    "wrong-type-k": (lambda t: _suite(t, drafter={"k": "three"}), "drafter.k"),
    "bad-name": (lambda t: _suite(t, name="../../etc"), "name"),
    "missing-prompt-version": (lambda t: _suite(t, drafter={"prompts": {"findings": "v999"}}),
                               "drafter.prompts.findings"),
    "unknown-metric": (lambda t: _suite(t, metrics=["no.such_metric"]), "no.such_metric"),
    "unknown-fixture-mode": (lambda t: _suite(t, fixtures={"mode": "sometimes"}), "fixtures.mode"),
    "missing-case-dir": (lambda t: _suite(t, cases={"dir": str(t / "nowhere")}), "nowhere"),
    "unknown-importer": (lambda t: _suite(t, cases={"importer": "nope", "path": str(t)}), "nope"),
    "thresholds-wrong-type": (lambda t: _suite(t, thresholds={"x": "high"}), "thresholds"),
    "python-object": (lambda t: "!!python/object/apply:os.system ['echo pwned']\n", "invalid YAML"),
    # issue 17
    "unknown-backend": (lambda t: _suite(t, drafter={"backend": "nope"}), "drafter.backend"),
    "unknown-retrieval-mode": (lambda t: _suite(t, drafter={"retrieval_mode": "fuzzy"}),
                               "drafter.retrieval_mode"),
    "missing-corpus": (lambda t: _suite(t, drafter={"corpus": {"dir": str(t / "no-corpus")}}),
                       "drafter.corpus.dir"),
    "unknown-corpus-importer": (lambda t: _suite(t, drafter={"corpus": {
        "importer": "nope", "path": str(t)}}), "drafter.corpus.importer"),
    "corpus-importer-without-mapping": (lambda t: _suite(t, drafter={"corpus": {
        "importer": "tabular", "path": str(t)}}), "drafter.corpus.mapping"),
    "unknown-judge-backend": (lambda t: _suite(t, judge={"backend": "nope"}), "judge.backend"),
    "k-true": (lambda t: _suite(t, drafter={"k": True}), "drafter.k"),
    "limit-true": (lambda t: _suite(t, cases={"dir": str(t / "cases"), "limit": True}), "cases.limit"),
    "ids-empty": (lambda t: _suite(t, cases={"dir": str(t / "cases"), "ids": []}), "cases.ids"),
    "threshold-true": (lambda t: _suite(t, thresholds={"x": True}), "thresholds"),
    "duplicate-key": (lambda t: yaml.safe_dump(_suite(t), sort_keys=False) + "name: second\n",
                      "duplicate key 'name'"),
    "binary-name": (lambda t: "name: !!binary aGVsbG8=\n", "binary"),
    "alias-bomb-in-metric-params": (lambda t: yaml.safe_dump(_suite(t), sort_keys=False) + "".join(
        f"x{i}: &l{i} [" + ",".join([f"*l{i - 1}" if i else '"x"'] * 9) + "]\n" for i in range(9)
    ) + "metrics:\n- diagnosis.final_match: {use_embeddings: *l8}\n", "alias"),
}


@pytest.mark.parametrize("kind", sorted(BAD_SUITES))
def test_bad_suite_gives_one_line_naming_file_and_field(
    kind: str, tmp_path: Path, fake_drafter: None, capsys: pytest.CaptureFixture
) -> None:
    build, expected = BAD_SUITES[kind]
    content = build(tmp_path)
    path = tmp_path / f"{kind}.yaml"
    if isinstance(content, dict):
        content = yaml.safe_dump(content, sort_keys=False)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

    code = cli(["eval", "run", str(path), "--out", str(tmp_path / "runs"), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    line = _assert_one_line_no_traceback(err)
    assert line.startswith("error:") and str(path) in line, line
    assert expected in line, line
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("kind", ["directory", "fifo", "dev-zero"])
def test_a_suite_path_that_is_not_a_regular_file_is_one_line(
    kind: str, tmp_path: Path, fake_drafter: None, capsys: pytest.CaptureFixture
) -> None:
    """A directory gave a traceback; a FIFO hung forever; /dev/zero ran out of memory."""
    import os

    path = {"directory": tmp_path, "dev-zero": Path("/dev/zero")}.get(kind, tmp_path / "fifo")
    if kind == "fifo":
        os.mkfifo(path)
    code = cli(["eval", "run", str(path), "--out", str(tmp_path / "runs"), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    line = _assert_one_line_no_traceback(err)
    assert "not a regular file" in line and str(path) in line, line


def test_a_fifo_or_device_among_case_files_fails_alone(
    tmp_path: Path, fake_drafter: None, capsys: pytest.CaptureFixture
) -> None:
    import os

    cases_dir = tmp_path / "cases"
    make_cases(cases_dir, n=2)
    os.mkfifo(cases_dir / "pipe.yaml")
    os.symlink("/dev/zero", cases_dir / "zero.yaml")
    suite = write_suite(tmp_path / "suite.yaml", cases_dir, metrics=["structure.disclaimer"])
    code = cli(["eval", "run", str(suite), "--out", str(tmp_path / "runs"), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err and "gate: failed cases" in err
    rows = read_results(Path(out.strip().splitlines()[-1]) / RESULTS)
    failed = {r.error.message for r in rows if r.status == "failed" and r.error is not None}
    assert len(failed) == 2 and all("not a regular file" in m for m in failed), failed
    assert sum(r.status == "ok" for r in rows) == 2


@pytest.mark.parametrize("kind", ["a-file", "under-a-file", "unwritable"])
def test_out_that_cannot_hold_a_run_is_one_line(
    kind: str, tmp_path: Path, fake_drafter: None, capsys: pytest.CaptureFixture
) -> None:
    import os

    make_cases(tmp_path / "cases", n=1)
    suite = write_suite(tmp_path / "suite.yaml", tmp_path / "cases", metrics=["structure.disclaimer"])
    blocker = tmp_path / "blocker"
    blocker.write_text("x", encoding="utf-8")
    out_dir = {"a-file": blocker, "under-a-file": blocker / "runs",
               "unwritable": tmp_path / "ro" / "runs"}[kind]
    if kind == "unwritable":
        (tmp_path / "ro").mkdir()
        os.chmod(tmp_path / "ro", 0o500)
        if os.access(tmp_path / "ro", os.W_OK):  # root ignores permissions
            os.chmod(tmp_path / "ro", 0o700)
            out_dir = Path("/proc/drafting-cannot-create/runs")
    try:
        code = cli(["eval", "run", str(suite), "--out", str(out_dir), "--quiet"])
    finally:
        os.chmod(tmp_path / "ro", 0o700) if (tmp_path / "ro").exists() else None
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    line = _assert_one_line_no_traceback(err)
    assert "--out" in line and str(out_dir) in line, line


def test_a_full_disk_is_one_line_and_resume_recovers(
    tmp_path: Path, fake_drafter: None, capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ENOSPC while appending a row: one clear line, no traceback."""
    import errno

    from drafting.evaluation import rundir

    make_cases(tmp_path / "cases", n=3)
    suite = write_suite(tmp_path / "suite.yaml", tmp_path / "cases", metrics=["structure.disclaimer"])
    real_write = rundir.ResultsWriter.write
    calls = {"n": 0}

    def full_after_one(self, row):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, row)

    monkeypatch.setattr(rundir.ResultsWriter, "write", full_after_one)
    code = cli(["eval", "run", str(suite), "--out", str(tmp_path / "runs"), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    line = _assert_one_line_no_traceback(err)
    assert "No space left on device" in line or "disk is full" in line, line
    monkeypatch.setattr(rundir.ResultsWriter, "write", real_write)
    run_dir = next((tmp_path / "runs").iterdir())
    code = cli(["eval", "run", str(suite), "--resume", str(run_dir), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = read_results(run_dir / RESULTS)
    assert sorted(r.case_id for r in rows) == ["case-00", "case-01", "case-02"]
