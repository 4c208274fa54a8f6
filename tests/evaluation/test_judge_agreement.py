"""The run summary reports the LLM judge's agreement with the diagnosis matcher (issue 16), from
judge replies served over HTTP by the loopback fake OpenAI server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drafting.evaluation.records import JudgeAgreement
from drafting.evaluation.rundir import SUMMARY
from drafting.evaluation.runner import run_suite
from drafting.schema import Case, Draft
from tests.evaluation.harness_support import FAKE_METRICS, make_cases, make_draft, write_suite
from tests.llm.fake_server import FakeOpenAIServer, Reply, chat_completion

JUDGE = "judge.diagnosis_equivalence"


async def gold_draft(case: Case) -> Draft:
    return make_draft(case)  # the gold's own diagnosis: the matcher says "same" on every case


def reply(verdict: str) -> Reply:
    return Reply(200, chat_completion(json.dumps({"verdict": verdict, "reason": "Checked."})))


@pytest.fixture
def judged_suite(tmp_path: Path) -> tuple[Path, FakeOpenAIServer]:
    make_cases(tmp_path / "cases", n=4)
    with FakeOpenAIServer() as server:
        judge = {"backend": "openai", "base_url": server.base_url, "model": "fake-judge"}
        path = write_suite(tmp_path / "suite.yaml", tmp_path / "cases", judge=judge, metrics=[JUDGE])
        yield path, server


def test_summary_reports_judge_agreement_with_the_matcher(judged_suite, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    suite, server = judged_suite
    # one case per reply, in case order (concurrency 1): two agree, one disagrees, one unparsable
    server.script(reply("same"), reply("different"), reply("same"), Reply(200, chat_completion("no verdict")))
    run = run_suite(suite, draft_fn=gold_draft, fixtures="live", concurrency=1, out=tmp_path / "runs")

    judged = [r for row in run.results for r in row.metrics if r.name == JUDGE]
    assert [r.status for r in judged].count("unscored") == 1 and len(judged) == 4
    saved = json.loads((run.dir / SUMMARY).read_text())["judge_agreement"]
    assert saved["n"] == 3 and saved["agree"] == 2 and saved["unscored"] == 1
    assert saved["confusion"] == {"same/same": 2, "different/same": 1}
    assert saved["rate"] == pytest.approx(2 / 3) and saved["hit_agreement"] == pytest.approx(2 / 3)
    line = JudgeAgreement(**saved).line()
    assert line.startswith("agree on 2/3 diagnoses (67%") and line.endswith("1 unscored")
    html = (run.dir / "report.html").read_text()
    assert "LLM judge vs diagnosis matcher: agree on 2/3 diagnoses" in html
    assert "judge/matcher: different/same 1, same/same 2" in html


def test_cli_summary_prints_the_agreement(judged_suite, tmp_path, monkeypatch, capsys):
    from drafting.cli.eval_run import _print_outcome

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    suite, server = judged_suite
    server.script(*(reply("same") for _ in range(4)))
    run = run_suite(suite, draft_fn=gold_draft, fixtures="live", concurrency=1, out=tmp_path / "runs")
    _print_outcome(run)
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert "judge_agreement: LLM judge vs diagnosis matcher: agree on 4/4 diagnoses (100%" in err


def test_no_judge_no_agreement(tmp_path):
    make_cases(tmp_path / "cases", n=2)
    suite = write_suite(tmp_path / "suite.yaml", tmp_path / "cases")
    run = run_suite(suite, draft_fn=gold_draft, metrics=FAKE_METRICS, out=tmp_path / "runs")
    assert json.loads((run.dir / SUMMARY).read_text())["judge_agreement"] is None
    assert "LLM judge vs diagnosis matcher" not in (run.dir / "report.html").read_text()
