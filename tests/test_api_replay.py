"""Drafting from the recorded fixtures in eval/fixtures: offline, no socket, reproducible.

These replay real exchanges recorded from the embedded SmolLM2-135M model (see README, "Recorded
fixtures"); re-record them with `--fixtures record` after changing a prompt.
"""

from __future__ import annotations

import json

import pytest

from drafting.api import draft_report
from drafting.cases import ReferenceStore, load_case
from drafting.cli import run
from drafting.llm import resolve_endpoint, track_fixture_usage
from drafting.llm.fixtures import fixture_file, read_fixture
from drafting.render import render_markdown
from drafting.schema import DISCLAIMER, Draft
from tests.support import REPO, SEEDS_DIR

INJECTION_CASE = REPO / "tests" / "data" / "cases" / "injection-003.yaml"


@pytest.fixture
def replay():
    return resolve_endpoint(fixtures="replay", fixtures_dir=REPO / "eval" / "fixtures")


@pytest.fixture
def seeds_store():
    return ReferenceStore.load(SEEDS_DIR)


@pytest.mark.parametrize("case_id", ["seed-000", "seed-003"])
def test_seed_drafts_replay_offline_with_every_section(case_id, replay, seeds_store, no_network):
    draft = draft_report(SEEDS_DIR / f"{case_id}.yaml", store=seeds_store, endpoint=replay, k=3)
    report = draft.report
    assert report.findings and report.diagnosis.primary and report.diagnosis.reasoning
    assert report.diagnosis.differentials and report.final_diagnosis
    rehab = report.rehabilitation
    assert rehab.goals and rehab.exercises and rehab.precautions and rehab.monitoring
    assert report.disclaimer == DISCLAIMER
    other = {"seed-000": "seed-003", "seed-003": "seed-000"}[case_id]
    assert [r.case_id for r in draft.provenance.references] == [other]
    assert draft.provenance.model == "SmolLM2-135M-Instruct"
    again = draft_report(SEEDS_DIR / f"{case_id}.yaml", store=seeds_store, endpoint=replay, k=3)
    assert again.report == draft.report
    assert [s.latency_s for s in again.provenance.stages] == [s.latency_s for s in draft.provenance.stages]


def test_the_case_own_gold_never_appears_in_recorded_requests(replay, seeds_store):
    for path in sorted(SEEDS_DIR.glob("*.yaml")):
        case = load_case(path)
        with track_fixture_usage() as used:
            draft_report(case, store=seeds_store, endpoint=replay, k=3)
        assert len(used) >= 3  # one per stage, plus any repair request
        for key in used:
            request = read_fixture(fixture_file(replay.fixture_path, key))["request"]
            sent = json.dumps(request["body"]["messages"], ensure_ascii=False)
            assert case.gold.final_diagnosis not in sent
            assert case.gold.findings[:80] not in sent
            assert case.gold.diagnosis.reasoning[:80] not in sent
            assert case.input.clinical_history[:80] in sent  # the input is what it was drafted from


def test_injected_instruction_still_yields_a_schema_valid_draft(replay, no_network):
    store = ReferenceStore.load(REPO / "reference_cases")
    draft = draft_report(INJECTION_CASE, store=store, endpoint=replay, k=3)
    assert "Ignore the above" in load_case(INJECTION_CASE).input.clinical_history
    for stage in draft.provenance.stages:
        assert stage.raw_replies[-1].strip() != "OK"
    assert draft.report.findings and draft.report.final_diagnosis
    Draft.model_validate_json(draft.model_dump_json())


def test_cli_draft_json_in_replay_validates(tmp_path, capsys):
    out = tmp_path / "draft.json"
    code = run(["draft", str(SEEDS_DIR / "seed-000.yaml"), "--fixtures", "replay", "--format", "json",
                "--out", str(out)])
    assert code == 0
    draft = Draft.model_validate_json(out.read_text(encoding="utf-8"))
    err = capsys.readouterr().err
    assert all(f"✓ {stage}" in err for stage in ("findings", "diagnosis", "rehabilitation"))
    markdown = render_markdown(draft)
    assert "seed-003" in markdown and "diagnosis=v3" in markdown


def test_replay_miss_names_stage_case_and_command(tmp_path, seeds_store):
    empty = resolve_endpoint(fixtures="replay", fixtures_dir=tmp_path)
    code = run(["draft", str(SEEDS_DIR / "seed-000.yaml"), "--fixtures", "replay",
                "--fixtures-dir", str(tmp_path)])
    assert code == 1
    with pytest.raises(Exception) as info:
        draft_report(SEEDS_DIR / "seed-000.yaml", store=seeds_store, endpoint=empty)
    message = str(info.value)
    assert "stage findings" in message and "case seed-000" in message and "--fixtures auto" in message
    assert message.count(str(tmp_path)) == 1
