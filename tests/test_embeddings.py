"""The on-disk embedding cache: hits skip the model and return the same vectors; a broken cache is
skipped, never fatal."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from drafting import embeddings

pytestmark = pytest.mark.skipif(not embeddings.available(), reason="needs the embeddings extra (MiniLM)")

TEXTS = ["Calcified mass in the thigh soft tissue.", "No acute fracture of the knee."]


@pytest.fixture
def encode_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Records the texts of every forward pass of the real model."""
    model = embeddings.sentence_model()
    real = model.encode
    calls: list[list[str]] = []

    def counting(texts: list[str], **kwargs: Any) -> Any:
        calls.append(list(texts))
        return real(texts, **kwargs)

    monkeypatch.setattr(model, "encode", counting)
    return calls


def test_second_embedding_of_the_same_texts_reads_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encode_calls: list[list[str]]
) -> None:
    monkeypatch.setenv("DRAFTING_CACHE_DIR", str(tmp_path))
    first = embeddings.embed(TEXTS)
    second = embeddings.embed([TEXTS[1], TEXTS[0], TEXTS[1]])
    assert encode_calls == [TEXTS]  # the second call ran no forward pass
    assert np.array_equal(second, first[[1, 0, 1]])
    assert second.dtype == np.float32 and np.allclose(np.linalg.norm(second, axis=1), 1.0, atol=1e-5)
    assert (tmp_path / "embeddings").is_dir()


def test_only_the_missing_texts_are_embedded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encode_calls: list[list[str]]
) -> None:
    monkeypatch.setenv("DRAFTING_CACHE_DIR", str(tmp_path))
    embeddings.embed(TEXTS[:1])
    both = embeddings.embed(TEXTS)
    assert encode_calls == [TEXTS[:1], TEXTS[1:]]
    assert np.allclose(both, embeddings.embed(TEXTS, cache=False), atol=1e-5)


def test_cache_false_neither_reads_nor_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encode_calls: list[list[str]]
) -> None:
    monkeypatch.setenv("DRAFTING_CACHE_DIR", str(tmp_path))
    embeddings.embed(TEXTS, cache=False)
    embeddings.embed(TEXTS, cache=False)
    assert len(encode_calls) == 2
    assert not (tmp_path / "embeddings").exists()


def test_a_cache_that_cannot_be_opened_is_skipped_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "embeddings").write_text("a file where the cache directory should be")
    monkeypatch.setenv("DRAFTING_CACHE_DIR", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="drafting.embeddings"):
        vectors = embeddings.embed(TEXTS)
    assert vectors.shape == (2, embeddings.DIMENSIONS)
    assert "embedding cache disabled" in caplog.text
    assert TEXTS[0] not in caplog.text  # no case text in logs
