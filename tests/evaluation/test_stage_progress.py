"""Stage-level progress and the tokens of failed cases, through a real chain on the fake server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drafting.cli.progress import ProgressBar
from drafting.evaluation import run_suite
from drafting.evaluation.records import CaseRow, TokenCounts
from tests.evaluation.harness_support import make_cases, write_suite
from tests.llm.fake_server import FakeOpenAIServer, Reply, chat_completion

FINDINGS = '{"findings": ["Sheet-like calcifications over the pelvis."]}'


def _reply(content: str) -> Reply:
    return Reply(200, chat_completion(content, prompt_tokens=100, completion_tokens=20))


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


class Recorder:
    """A run observer that keeps every event."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def start(self, total: int) -> None:
        self.events.append(("start", total))

    def stage_done(self, case_id: str, stage: str, event: str, tokens: int) -> None:
        self.events.append(("stage", case_id, stage, event, tokens))

    def case_done(self, row: CaseRow) -> None:
        self.events.append(("case", row.case_id, row.status))

    def skipped(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_failed_case_counts_its_attempts_tokens_and_stages_are_reported(
    server: FakeOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    make_cases(tmp_path / "cases", n=1)
    suite = write_suite(
        tmp_path / "s.yaml", tmp_path / "cases", metrics=["cost.tokens"],
        drafter={"backend": "openai", "model": "fake-model", "base_url": server.base_url, "k": 0},
        fixtures={"mode": "live"},
    )
    # Findings parse; diagnosis never does (three attempts), so the case fails in diagnosis.
    server.script(_reply(FINDINGS), _reply("OK"), _reply("OK again"), _reply("OK once more"))
    observer = Recorder()
    run = run_suite(suite, out=tmp_path / "runs", observer=observer)
    (row,) = run.results
    assert row.status == "failed" and row.error is not None and row.error.stage == "diagnosis"
    assert row.tokens.total == 4 * 120  # one findings call and the three diagnosis attempts
    assert observer.events[1:] == [
        ("stage", "case-00", "findings", "done", 120),
        ("stage", "case-00", "diagnosis", "failed", 360),
        ("case", "case-00", "failed"),
    ]
    assert run.summary is not None and run.summary.tokens.total == 480


def test_progress_bar_moves_per_stage_and_counts_tokens_once() -> None:
    bar = ProgressBar()
    bar.start(2)  # not a terminal under pytest: no bar drawn, the counts still kept
    bar.stage_done("a", "findings", "done", 100)
    assert bar.done == pytest.approx(1 / 3) and bar.tokens == 100
    bar.stage_done("a", "diagnosis", "done", 50)
    bar.stage_done("b", "findings", "failed", 70)
    assert bar.done == pytest.approx(2 / 3) and bar.tokens == 220
    bar.case_done(CaseRow(case_id="b", status="failed", tokens=TokenCounts(total=70)))
    bar.stage_done("a", "rehabilitation", "done", 30)
    bar.case_done(CaseRow(case_id="a", status="ok", tokens=TokenCounts(total=180)))
    assert bar.done == pytest.approx(2.0) and bar.tokens == 250 and bar.failed == 1
    bar.close()
