"""Scoring drafts with many metrics, failure capture, and `drafting eval score`."""

from __future__ import annotations

import json

from drafting.cli import run
from drafting.evaluation.metrics import Metric, build_metrics
from drafting.evaluation.scoring import ascore_draft, score_draft, score_drafts
from drafting.render import render_json, render_markdown
from tests.evaluation.metrics.factories import draft_of, knee_case
from tests.support import SEEDS_DIR


class Boom(Metric):
    name = "test.boom"

    def score(self, draft, gold):
        raise ZeroDivisionError("bad metric")


def test_a_raising_metric_is_failed_and_the_others_still_score():
    case = knee_case()
    metrics = [Boom(), *build_metrics(["structure.disclaimer", "findings.support"])]
    rows = score_drafts([(draft_of(case.gold), case)] * 2, metrics)
    assert len(rows) == 2
    for boom, disclaimer, support in rows:
        assert (boom.status, boom.value) == ("failed", None)
        assert boom.reason == "ZeroDivisionError: bad metric"
        assert disclaimer.value == 1.0 and support.status == "scored"


async def test_async_scoring_matches_sync():
    case = knee_case()
    metrics = [Boom(), *build_metrics(["structure.sections_present", "findings.support"])]
    sync = score_draft(draft_of(case.gold), case, metrics)
    got = await ascore_draft(draft_of(case.gold), case, metrics)
    assert [r.model_dump() for r in got] == [r.model_dump() for r in sync]


def _write_gold_draft(tmp_path, fmt: str):
    case = knee_case()
    draft = draft_of(case.gold)
    from drafting.cases import save_case

    gold = save_case(case, tmp_path)
    path = tmp_path / f"draft.{fmt}"
    path.write_text(render_markdown(draft) if fmt == "md" else render_json(draft))
    return path, gold


def test_eval_score_reads_markdown_and_prints_json(tmp_path, capsys):
    draft, gold = _write_gold_draft(tmp_path, "md")
    metrics = "structure.sections_present,structure.disclaimer,findings.support,cost.tokens"
    assert run(["eval", "score", str(draft), "--gold", str(gold), "--metrics", metrics, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["case_id"] == "knee-1"
    values = {r["name"]: (r["value"], r["status"]) for r in out["results"]}
    assert values == {
        "structure.sections_present": (1.0, "scored"),
        "structure.disclaimer": (1.0, "scored"),
        "findings.support": (1.0, "scored"),
        "cost.tokens": (None, "not_applicable"),
    }


def test_eval_score_table_for_draft_json(tmp_path, capsys):
    draft, _ = _write_gold_draft(tmp_path, "json")
    gold = SEEDS_DIR / "seed-003.yaml"
    assert run(["eval", "score", str(draft), "--gold", str(gold), "--metrics", "findings.rouge_l"]) == 0
    out = capsys.readouterr().out
    assert "findings.rouge_l" in out and "scored" in out


def test_eval_score_errors_are_one_line(tmp_path, capsys):
    draft, gold = _write_gold_draft(tmp_path, "md")
    assert run(["eval", "score", str(draft), "--gold", str(gold), "--metrics", "nope"]) == 1
    assert "unknown metric 'nope'" in capsys.readouterr().err
    bad = tmp_path / "bad.md"
    bad.write_text("no headings here\n")
    assert run(["eval", "score", str(bad), "--gold", str(gold)]) == 1
    err = capsys.readouterr().err
    assert "bad.md" in err and "no report sections" in err and "Traceback" not in err
