import json
from pathlib import Path

import pytest

from drafting.cases import save_case
from drafting.cli import run
from tests.retrieval_support import tiny_cases


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    directory = tmp_path / "corpus"
    for case in tiny_cases():
        save_case(case, directory)
    return directory


def test_retrieve_prints_table_mode_and_cache_state(corpus, tmp_path, capsys):
    argv = ["retrieve", str(corpus / "knee-acl-1.yaml"), "--corpus", str(corpus), "-k", "2",
            "--mode", "bm25", "--cache-dir", str(tmp_path / "cache")]
    assert run(argv) == 0
    out = capsys.readouterr().out
    assert "knee-acl-2" in out and "bm25 #1" in out
    rows = [ln for ln in out.splitlines() if ln.startswith("│")]
    assert len(rows) == 2 and not any("knee-acl-1 " in r for r in rows)  # never itself
    assert "mode: bm25" in out and "index built" in out
    assert run(argv) == 0
    assert "index loaded from cache" in capsys.readouterr().out


def test_retrieve_bad_input_is_one_line(corpus, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\n", encoding="utf-8")
    assert run(["retrieve", str(bad), "--corpus", str(corpus), "--mode", "bm25",
                "--cache-dir", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "Traceback" not in err
    assert run(["retrieve", str(corpus / "knee-acl-1.yaml"), "--corpus", str(corpus),
                "--mode", "fuzzy", "--cache-dir", str(tmp_path / "c")]) == 1
    assert "unknown retrieval mode" in capsys.readouterr().err


def test_eval_retrieval_json_and_table(corpus, tmp_path, capsys):
    cache = str(tmp_path / "cache")
    assert run(["eval", "retrieval", "--corpus", str(corpus), "--mode", "bm25", "-k", "1,3",
                "--json", "--cache-dir", cache]) == 0
    data = json.loads(capsys.readouterr().out)
    bm25 = data["bm25"]
    assert bm25["hit_at"] == {"hit@1": 1.0, "hit@3": 1.0}
    assert bm25["mrr"] == 1.0 and bm25["ndcg"] == {"ndcg@3": 1.0}
    assert bm25["queries"] == 4 and bm25["no_label_in_corpus"] == 2
    assert run(["eval", "retrieval", "--corpus", str(corpus), "--queries",
                str(corpus / "brain-men-1.yaml"), "--mode", "bm25", "--cache-dir", cache]) == 0
    out = capsys.readouterr().out
    assert "hit@5" in out and "MRR" in out and "1 queries" in out
    assert run(["eval", "retrieval", "--corpus", str(corpus), "-k", "0"]) == 1
    assert "-k must be" in capsys.readouterr().err
