"""Comparing two constructed runs: paired differences, wins/ties/losses, direction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drafting.cli import run as cli
from drafting.evaluation import compare_runs
from drafting.evaluation.compare import difference_plot, render_comparison_html
from drafting.evaluation.compare_context import diff_spans
from drafting.evaluation.records import PromptRecord
from tests.evaluation.run_builders import META, build_run


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    ids = [f"c{i:02d}" for i in range(10)]
    a = build_run(tmp_path / "a", {
        "quality": {c: 0.5 for c in ids},
        "cost": {c: 100.0 for c in ids},
    })
    # B: quality up on 6 cases, equal on 3, down on 1; cost lower (better) on every case.
    q = {c: 0.5 for c in ids}
    for c in ids[:6]:
        q[c] = 0.8
    q[ids[9]] = 0.4
    b = build_run(tmp_path / "b", {"quality": q, "cost": {c: 80.0 for c in ids}})
    return a, b


def test_wins_ties_losses_and_interval(runs: tuple[Path, Path]) -> None:
    comp = compare_runs(*runs)
    q = comp.metric("quality")
    assert (q.wins, q.ties, q.losses) == (6, 3, 1)
    assert q.n_paired == 10 and q.mean_diff == pytest.approx((6 * 0.3 - 0.1) / 10)
    assert q.ci_low <= q.mean_diff <= q.ci_high
    assert q.verdict == "better"
    assert q.changed[0].diff == pytest.approx(0.3) and len(q.changed) == 5
    cost = comp.metric("cost")
    # Lower is better: a drop of 20 on every case is 10 wins and a "better" verdict.
    assert (cost.wins, cost.ties, cost.losses) == (10, 0, 0)
    assert cost.mean_diff == pytest.approx(-20.0) and cost.verdict == "better"


def test_reversed_comparison_is_worse(runs: tuple[Path, Path]) -> None:
    comp = compare_runs(runs[1], runs[0])
    assert comp.metric("quality").verdict == "worse"
    assert (comp.metric("quality").wins, comp.metric("quality").losses) == (1, 6)


def test_identical_runs_tie(runs: tuple[Path, Path]) -> None:
    q = compare_runs(runs[0], runs[0]).metric("quality")
    assert (q.wins, q.ties, q.losses) == (0, 10, 0) and q.verdict == "same" and not q.changed


def test_unpaired_cases_are_reported(tmp_path: Path) -> None:
    a = build_run(tmp_path / "a", {"quality": {"x": 0.1, "y": 0.2}})
    b = build_run(tmp_path / "b", {"quality": {"y": 0.4, "z": 0.9}})
    comp = compare_runs(a, b)
    assert comp.cases_only_a == ["x"] and comp.cases_only_b == ["z"]
    q = comp.metric("quality")
    assert q.n_paired == 1 and q.only_a == 1 and q.only_b == 1


def test_cli_compare_prints_and_writes_html(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = tmp_path / "cmp.html"
    assert cli(["eval", "compare", str(runs[0]), str(runs[1]), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert "quality" in out and "6/3/1" in out and "better" in out
    page = html.read_text()
    assert "<script" not in page and "paired-bootstrap" in page and "quality" in page


def test_comparison_html_escapes(tmp_path: Path) -> None:
    a = build_run(tmp_path / "a", {"quality": {"<script>x</script>": 0.1}})
    b = build_run(tmp_path / "b", {"quality": {"<script>x</script>": 0.9}})
    page = render_comparison_html(compare_runs(a, b))
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


# --- what changed, warnings, drafts side by side, plot ---------------------------------------------

def _prompt(version: str, sha: str, description: str = "") -> PromptRecord:
    return PromptRecord(version=version, sha256=sha, description=description)


@pytest.fixture
def prompt_runs(tmp_path: Path) -> tuple[Path, Path]:
    ids = [f"c{i:02d}" for i in range(12)]
    common = {"findings": _prompt("v1", "f" * 64, "baseline findings")}
    a = build_run(
        tmp_path / "a", {"quality": {c: 0.5 for c in ids}},
        drafts={c: "Mass in the left lobe with oedema." for c in ids},
        prompts={**common, "diagnosis": _prompt("v1", "a" * 64, "first wording")},
        drafter={"k": 3, "retrieval_mode": "hybrid"},
        endpoint={"backend": "local", "model": "small-a"}, cases_dir=str(tmp_path),
    )
    q = {c: 0.5 for c in ids}
    q["c03"] = 0.9
    q["c07"] = 0.2
    b = build_run(
        tmp_path / "b", {"quality": q},
        drafts={c: "Mass in the left lobe with oedema." for c in ids}
        | {"c03": "Ring-enhancing mass in the left lobe with oedema."},
        prompts={**common, "diagnosis": _prompt("v2", "b" * 64, "asks for ranked differentials")},
        drafter={"k": 5, "retrieval_mode": "hybrid"},
        endpoint={"backend": "local", "model": "small-b"}, cases_dir=str(tmp_path),
    )
    return a, b


def test_comparison_states_what_changed_in_the_config(prompt_runs: tuple[Path, Path]) -> None:
    comp = compare_runs(*prompt_runs)
    changed = {item.label: (item.a, item.b) for item in comp.changed_config}
    assert set(changed) == {"prompt diagnosis", "model", "k (references)"}
    a, b = changed["prompt diagnosis"]
    assert a == "v1 sha256 aaaaaaaaaaaa: first wording"
    assert b == "v2 sha256 bbbbbbbbbbbb: asks for ranked differentials"
    assert changed["k (references)"] == ("3", "5")
    # Unchanged settings are listed too, not flagged.
    same = {item.label for item in comp.config if not item.differs}
    assert {"prompt findings", "retrieval mode", "backend"} <= same


def test_drafts_of_changed_cases_are_side_by_side_with_marked_spans(
    prompt_runs: tuple[Path, Path],
) -> None:
    comp = compare_runs(*prompt_runs)
    assert [d.case_id for d in comp.drafts] == ["c03", "c07"]  # |0.4| before |0.3|
    c03 = comp.drafts[0]
    assert c03.values == {"quality": (0.5, 0.9)}
    assert [s.text for s in c03.b if s.changed] == ["Ring-enhancing mass"]
    assert [s.text for s in c03.a if s.changed] == ["Mass"]
    assert "".join(s.text for s in c03.b).startswith("## Findings")
    # c07's text did not change although its score did: nothing is marked.
    assert not any(s.changed for s in comp.drafts[1].a + comp.drafts[1].b)


def test_diff_spans_merge_runs_and_measure_similarity() -> None:
    a, b, similarity = diff_spans("one two three four", "one 2 3 four")
    assert [(s.text, s.changed) for s in a] == [("one ", False), ("two three", True), (" four", False)]
    assert [(s.text, s.changed) for s in b] == [("one ", False), ("2 3", True), (" four", False)]
    assert 0 < similarity < 1


def test_warns_when_a_side_has_no_scored_case(tmp_path: Path) -> None:
    a = build_run(tmp_path / "a", {"quality": {f"c{i}": 0.5 for i in range(12)}})
    b = build_run(tmp_path / "b", {"quality": {}}, failed=tuple(f"c{i}" for i in range(12)))
    comp = compare_runs(a, b)
    assert any(w.startswith("B (b) has no scored case (12 of 12 failed)") for w in comp.warnings)
    assert comp.metric("quality").n_paired == 0


def test_warns_when_the_pairing_is_small(tmp_path: Path) -> None:
    a = build_run(tmp_path / "a", {"quality": {"x": 0.1, "y": 0.2, "z": 0.3}})
    b = build_run(tmp_path / "b", {"quality": {"x": 0.4, "y": 0.2, "z": 0.3}})
    assert any("only 3 paired case(s)" in w for w in compare_runs(a, b).warnings)
    big_a = build_run(tmp_path / "ba", {"quality": {f"c{i}": 0.5 for i in range(10)}})
    assert not compare_runs(big_a, big_a).warnings


def test_cli_compare_prints_changes_and_warnings(
    prompt_runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = build_run(tmp_path / "small", {"quality": {"c03": 0.9}})
    assert cli(["eval", "compare", str(prompt_runs[0]), str(small)]) == 0
    captured = capsys.readouterr()
    assert "WARNING" in captured.err and "only 1 paired case" in captured.err
    assert cli(["eval", "compare", *map(str, prompt_runs)]) == 0
    out = capsys.readouterr().out
    assert "What changed (A -> B):" in out
    assert "prompt diagnosis: v1 sha256 aaaaaaaaaaaa: first wording -> v2" in out
    assert "k (references): 3 -> 5" in out


def test_cli_compare_json_format(
    prompt_runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["eval", "compare", *map(str, prompt_runs), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["metrics"][0]["name"] == "quality" and data["metrics"][0]["wins"] == 1
    assert {c["label"] for c in data["config"] if c["differs"]} >= {"prompt diagnosis", "model"}
    assert cli(["eval", "compare", *map(str, prompt_runs), "--format", "xml"]) == 1


def test_compare_table_is_not_wrapped_off_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long = "a_rather_long_metric_name_that_would_be_folded_at_eighty_columns"
    META[long] = META["quality"]
    try:
        a = build_run(tmp_path / "a", {long: {"x": 0.1, "y": 0.2}})
        b = build_run(tmp_path / "b", {long: {"x": 0.3, "y": 0.2}})
        assert cli(["eval", "compare", str(a), str(b)]) == 0
    finally:
        del META[long]
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if long in line)
    assert "1/1/0" in row  # the whole row on one line, the name uncut


def test_compare_page_shows_changes_plot_and_drafts(prompt_runs: tuple[Path, Path]) -> None:
    page = render_comparison_html(compare_runs(*prompt_runs))
    assert "B differs from A in: <strong>prompt diagnosis, model, k (references)</strong>" in page
    assert "asks for ranked differentials" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page and "<circle" in page
    assert "<ins>Ring-enhancing mass</ins>" in page and "<del>Mass</del>" in page
    assert "<script" not in page


def test_compare_page_warns_loudly(tmp_path: Path) -> None:
    a = build_run(tmp_path / "a", {"quality": {"x": 0.5}})
    b = build_run(tmp_path / "b", {"quality": {}}, failed=("x",))
    page = render_comparison_html(compare_runs(a, b))
    assert 'class="warn"' in page and "has no scored case" in page


def test_difference_plot_rows_are_symmetric_around_zero(runs: tuple[Path, Path]) -> None:
    plot = difference_plot(compare_runs(*runs).metrics)
    for row in plot["rows"]:
        assert row["zero"] == pytest.approx((row["x0"] + row["x1"]) / 2)
        assert all(row["x0"] <= p["x"] <= row["x1"] for p in row["points"])
    quality = next(r for r in plot["rows"] if r["name"] == "quality")
    assert quality["mean"] > quality["zero"] and quality["colour"] == "#1a7f37"


def test_runs_written_before_descriptions_get_the_installed_prompts_description(
    tmp_path: Path,
) -> None:
    from drafting.prompts import load_prompt

    spec = load_prompt("diagnosis", "v1")
    old = PromptRecord(version="v1", sha256=spec.sha256)  # no description recorded
    edited = PromptRecord(version="v1", sha256="0" * 64)  # the file changed since: not claimed
    a = build_run(tmp_path / "a", {"quality": {"x": 0.5}}, prompts={"diagnosis": old})
    b = build_run(tmp_path / "b", {"quality": {"x": 0.5}}, prompts={"diagnosis": edited},
                  cases_dir=str(tmp_path / "a"))
    item = next(i for i in compare_runs(a, b).config if i.label == "prompt diagnosis")
    assert item.a == f"v1 sha256 {spec.sha256[:12]}: {spec.description}"
    assert item.b == "v1 sha256 000000000000"
