"""`drafting cases index CORPUS --backend ...`, `drafting eval retrieval --backend lancedb` and
`drafting draft --retrieval-backend lancedb`: the engine embedded, MiniLM embeddings."""

import json
from pathlib import Path

import pytest

from drafting import embeddings
from drafting.cases import save_case
from drafting.cli import run
from tests.retrieval_support import tiny_cases

pytest.importorskip("lancedb")
pytestmark = pytest.mark.skipif(not embeddings.available(), reason="needs the embeddings extra")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    directory = tmp_path / "corpus"
    for case in tiny_cases():
        save_case(case, directory)
    return directory


def test_index_builds_then_updates_only_what_changed(corpus, tmp_path, capsys):
    db = str(tmp_path / "db")
    assert run(["cases", "index", str(corpus), "--backend", "lancedb", "--uri", db, "-q"]) == 0
    assert "6 rows; 6 added, 0 updated, 0 deleted" in capsys.readouterr().out
    assert run(["cases", "index", str(corpus), "--uri", db, "-q"]) == 0
    assert "6 rows; 0 added, 0 updated, 0 deleted" in capsys.readouterr().out
    (corpus / "abdo-stone-1.yaml").unlink()
    assert run(["cases", "index", str(corpus), "--uri", db, "-q", "--table", "reference_cases"]) == 0
    assert "5 rows; 0 added, 0 updated, 1 deleted" in capsys.readouterr().out


def test_index_shows_a_progress_bar_on_stderr(corpus, tmp_path, capsys):
    assert run(["cases", "index", str(corpus), "--uri", str(tmp_path / "db")]) == 0
    captured = capsys.readouterr()
    assert "6 added" in captured.out


def test_index_with_the_builtin_backend_fills_the_cache(corpus, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DRAFTING_CACHE_DIR", str(tmp_path / "cache"))
    assert run(["cases", "index", str(corpus), "--backend", "builtin", "-q"]) == 0
    assert "builtin index of 6 cases built" in capsys.readouterr().out
    assert run(["cases", "index", str(corpus), "--backend", "builtin", "-q"]) == 0
    assert "already up to date" in capsys.readouterr().out


def test_index_bad_backend_is_one_line(corpus, capsys):
    assert run(["cases", "index", str(corpus), "--backend", "elastic"]) == 1
    err = capsys.readouterr().err
    assert "unknown index backend 'elastic'" in err and "Traceback" not in err


def test_eval_retrieval_on_the_engine(corpus, tmp_path, capsys):
    argv = ["eval", "retrieval", "--corpus", str(corpus), "--backend", "lancedb",
            "--uri", str(tmp_path / "db"), "--mode", "hybrid", "-k", "1,3", "--json"]
    assert run(argv) == 0
    got = json.loads(capsys.readouterr().out)
    # Leave-one-out: each ACL tear and meningioma finds its twin first.
    assert got["hybrid"]["queries"] == 4
    assert got["hybrid"]["hit_at"]["hit@1"] == 1.0


def test_draft_through_the_engine_replays_the_recorded_seed_draft(tmp_path, capsys):
    from tests.support import REPO

    argv = ["draft", str(REPO / "reference_cases/seeds/seed-000.yaml"), "--retrieval-backend",
            "lancedb", "--retrieval-uri", str(tmp_path / "db"), "--retrieval-table", "seeds",
            "--fixtures", "replay", "--fixtures-dir", str(REPO / "eval/fixtures"), "--format", "json"]
    assert run(argv) == 0
    draft = json.loads(capsys.readouterr().out)
    assert [r["case_id"] for r in draft["provenance"]["references"]] == ["seed-003"]
    assert (tmp_path / "db" / "seeds.lance").is_dir()
    assert run([*argv[:3], "elastic", *argv[4:]]) == 1
    assert "unknown retrieval backend 'elastic'" in capsys.readouterr().err
