"""A suite's ``drafter.retrieval`` block: validated with the field named, wired to the backend."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from drafting.errors import ConfigError
from drafting.evaluation.setup import default_draft_fn
from drafting.evaluation.suite import load_suite
from tests.support import REPO

BASE = {"name": "t", "cases": {"dir": "reference_cases/seeds"},
        "drafter": {"k": 1, "corpus": {"dir": "reference_cases/seeds"}}}


def _write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "suite.yaml"
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    return p


def test_the_engine_suite_loads_and_an_unset_block_keeps_the_old_hash(tmp_path):
    engine = load_suite(REPO / "eval/suites/seeds-engine.yaml")
    assert engine.drafter.retrieval.backend == "lancedb"
    assert engine.cases.ids == ["seed-000"]
    plain = load_suite(_write(tmp_path, BASE))
    assert "retrieval" not in plain.resolved()["drafter"]
    with_block = load_suite(_write(tmp_path, {**BASE, "drafter": {
        **BASE["drafter"], "retrieval": {"backend": "builtin"}}}))
    assert with_block.config_hash() != plain.config_hash()


@pytest.mark.parametrize("block, field", [
    ({"backend": "elastic"}, "drafter.retrieval.backend"),
    ({"backend": "lancedb", "tabel": "x"}, "drafter.retrieval.tabel"),
    ({"backend": "lancedb", "table": "../escape"}, "drafter.retrieval.table"),
])
def test_a_bad_retrieval_block_names_the_field(tmp_path, block, field):
    path = _write(tmp_path, {**BASE, "drafter": {**BASE["drafter"], "retrieval": block}})
    with pytest.raises(ConfigError) as err:
        load_suite(path)
    assert err.value.field == field and str(path) in str(err.value)


def test_the_suite_drafts_through_the_engine(tmp_path, monkeypatch):
    pytest.importorskip("lancedb")
    from drafting import embeddings
    from drafting.retrieval import lancedb_backend

    if not embeddings.available():
        pytest.skip("needs the embeddings extra")
    opened = []
    real_open = lancedb_backend.LanceRetriever.open

    def spy(*args, **kwargs):
        opened.append(kwargs)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(lancedb_backend.LanceRetriever, "open", spy)
    data = {**BASE, "drafter": {**BASE["drafter"], "retrieval": {
        "backend": "lancedb", "uri": str(tmp_path / "db"), "table": "seeds"}}}
    default_draft_fn(load_suite(_write(tmp_path, data)), None)
    assert opened and opened[0]["uri"] == str(tmp_path / "db") and opened[0]["table"] == "seeds"
    assert (tmp_path / "db" / "seeds.lance").is_dir()
