"""`drafting fixtures stats` and `drafting fixtures prune`, on fixtures recorded from a fake server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drafting.cli import run
from drafting.llm import openai_client, resolve_endpoint, track_fixture_usage
from tests.llm.fake_server import FakeOpenAIServer


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Path, list[set[str]]]:
    """Three fixtures recorded from a loopback server; returns the root and keys per question."""
    root = tmp_path / "fixtures"
    keys = []
    with FakeOpenAIServer() as server:
        endpoint = resolve_endpoint(
            backend="openai", base_url=server.base_url, model="fake-model", api_key="sk-x",
            fixtures="record", fixtures_dir=root,
        )  # fmt: skip
        client = openai_client(endpoint)
        for question in ("a", "b", "c"):
            with track_fixture_usage() as used:
                client.chat.completions.create(
                    model="fake-model", messages=[{"role": "user", "content": question}]
                )
            keys.append(used)
    return root, keys


def _run_dir(tmp_path: Path, name: str, keys: list[set[str]]) -> Path:
    run_dir = tmp_path / "runs" / name
    run_dir.mkdir(parents=True)
    rows = [{"case_id": f"c{i}", "fixture_keys": sorted(k)} for i, k in enumerate(keys)]
    (run_dir / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run_dir


def test_stats(recorded, capsys: pytest.CaptureFixture[str]):
    root, _ = recorded
    assert run(["fixtures", "stats", str(root)]) == 0
    out = capsys.readouterr().out
    assert "fixtures: 3" in out and "model fake-model: 3" in out
    assert "oldest: 20" in out and "newest: 20" in out


def test_stats_lists_unreadable_files(recorded, capsys: pytest.CaptureFixture[str]):
    root, _ = recorded
    victim = next(root.rglob("*.json"))
    victim.write_text('{"truncat')
    assert run(["fixtures", "stats", str(root)]) == 1
    captured = capsys.readouterr()
    assert "fixtures: 3" in captured.out and "model fake-model: 2" in captured.out
    assert victim.name in captured.err


def test_prune_keeps_what_listed_runs_used(recorded, tmp_path: Path, capsys):
    root, keys = recorded
    run_a = _run_dir(tmp_path, "a", [keys[0]])
    run_b = _run_dir(tmp_path, "b", [keys[2]])
    args = ["fixtures", "prune", str(root), "--keep-used", str(run_a), "--keep-used", str(run_b)]
    assert run([*args, "--dry-run"]) == 0
    assert "would delete 1 fixtures, kept 2" in capsys.readouterr().out
    assert len(list(root.rglob("*.json"))) == 3
    assert run(args) == 0
    assert "deleted 1 fixtures, kept 2" in capsys.readouterr().out
    assert {p.stem for p in root.rglob("*.json")} == keys[0] | keys[2]


def test_prune_refuses_runs_that_used_nothing(recorded, tmp_path: Path, capsys):
    root, _ = recorded
    empty = _run_dir(tmp_path, "live", [set()])
    assert run(["fixtures", "prune", str(root), "--keep-used", str(empty)]) == 1
    assert "refusing to delete all 3" in capsys.readouterr().err
    assert len(list(root.rglob("*.json"))) == 3


def test_prune_names_a_bad_run_directory(recorded, tmp_path: Path, capsys):
    root, _ = recorded
    assert run(["fixtures", "prune", str(root), "--keep-used", str(tmp_path / "nope")]) == 1
    assert "results.jsonl" in capsys.readouterr().err
