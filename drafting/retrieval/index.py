"""The retrieval index (BM25 and an embedding matrix) and its on-disk cache.

A cache entry lives in ``<cache_dir>/<key>/`` where the key is the sha256 of every indexed case's
id and text, the indexed fields, the tokenisation and the embedding model: any change to a case
gives a new key, so a stale index is never loaded. Entries are written to a temporary name and
renamed into place, so a crash or a concurrent process never leaves a half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from drafting.retrieval.text import tokenize, tokenizer_tag

log = logging.getLogger(__name__)

#: Bump when the on-disk layout changes.
CACHE_FORMAT = 1

EmbedFn = Callable[[Sequence[str]], np.ndarray]


def default_cache_dir() -> Path:
    """``$DRAFTING_CACHE_DIR/retrieval``, else ``~/.cache/drafting/retrieval``."""
    base = os.environ.get("DRAFTING_CACHE_DIR")
    root = Path(base) if base else Path.home() / ".cache" / "drafting"
    return root / "retrieval"


def corpus_key(
    ids: Sequence[str], texts: Sequence[str], *, fields: Sequence[str], model_name: str
) -> str:
    """The cache key of a corpus: sha256 over ids, texts, fields, tokenisation and model."""
    h = hashlib.sha256()
    head = {
        "format": CACHE_FORMAT,
        "fields": list(fields),
        "tokenizer": tokenizer_tag(),
        "model": model_name,
        "n": len(ids),
    }
    h.update(json.dumps(head, sort_keys=True).encode())
    for case_id, text in zip(ids, texts, strict=True):
        # Length-prefixed so that no two different corpora hash the same byte stream.
        for part in (case_id, text):
            raw = part.encode("utf-8")
            h.update(len(raw).to_bytes(8, "little"))
            h.update(raw)
    return h.hexdigest()


@dataclass
class CorpusIndex:
    """A built or loaded index over a corpus, aligned with ``ids``.

    Attributes:
        ids: Case ids, in index order.
        bm25: The ``bm25s.BM25`` index.
        embeddings: Unit-length float32 rows, one per case, or None when dense is not used.
        key: The cache key.
        directory: The cache entry, or None when caching is off.
        from_cache: True when nothing had to be built (everything came from disk).
        seconds: Time spent building or loading.
    """

    ids: list[str]
    bm25: Any
    embeddings: np.ndarray | None
    key: str
    directory: Path | None = None
    from_cache: bool = False
    seconds: float = 0.0
    built: list[str] = field(default_factory=list)


def _build_bm25(texts: Sequence[str]) -> Any:
    import bm25s

    bm25 = bm25s.BM25()
    corpus_tokens = tokenize(texts)
    # bm25s needs at least one token per corpus to build a vocabulary.
    if not any(corpus_tokens):
        corpus_tokens = [["<empty>"] for _ in corpus_tokens]
    bm25.index(corpus_tokens, show_progress=False)
    return bm25


def _load_bm25(directory: Path) -> Any:
    import bm25s

    return bm25s.BM25.load(str(directory), mmap=False, show_progress=False)


def _save_bm25_entry(bm25: Any, entry: Path, meta: dict[str, Any]) -> None:
    """Write the BM25 part of a cache entry atomically (temp dir, then rename)."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
    try:
        bm25.save(str(tmp / "bm25"), show_progress=False)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        try:
            os.replace(tmp, entry)
        except OSError:  # another process wrote the same entry first: theirs is as good
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _save_embeddings(vectors: np.ndarray, entry: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".embeddings.", suffix=".npy", dir=entry)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, vectors, allow_pickle=False)
        os.replace(tmp, entry / "embeddings.npy")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_or_build(
    ids: Sequence[str],
    texts: Sequence[str],
    *,
    fields: Sequence[str],
    model_name: str,
    embed_fn: EmbedFn | None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
) -> CorpusIndex:
    """Load the corpus index from the cache, building (and caching) whatever is missing.

    Args:
        ids: Case ids, in store order.
        texts: The indexed text of each case, aligned with ``ids``.
        fields: The indexed fields (part of the key).
        model_name: The embedding model's name (part of the key).
        embed_fn: Embeds texts to unit vectors; None when dense retrieval is not used.
        cache_dir: The cache root; None for the default (see `default_cache_dir`).
        use_cache: False to build in memory without reading or writing the cache.

    Returns:
        The index; ``from_cache`` tells whether anything was built.
    """
    start = time.perf_counter()
    key = corpus_key(ids, texts, fields=fields, model_name=model_name)
    entry = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / key[:32]
    built: list[str] = []
    bm25 = None
    embeddings = None
    if use_cache and (entry / "meta.json").is_file():
        try:
            meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
            if meta.get("key") == key and meta.get("n") == len(ids):
                bm25 = _load_bm25(entry / "bm25")
            if bm25 is not None and embed_fn is not None and (entry / "embeddings.npy").is_file():
                embeddings = np.load(entry / "embeddings.npy", allow_pickle=False)
                if embeddings.shape[0] != len(ids):
                    embeddings = None
        except (OSError, ValueError, KeyError) as exc:  # a damaged entry is rebuilt, not fatal
            log.warning("retrieval cache entry %s unreadable (%s); rebuilding", entry, exc)
            bm25 = embeddings = None
    if bm25 is None:
        bm25 = _build_bm25(texts)
        built.append("bm25")
        if use_cache:
            if entry.exists():  # damaged or partial: replace it whole
                shutil.rmtree(entry, ignore_errors=True)
            meta = {"key": key, "n": len(ids), "fields": list(fields), "model": model_name,
                    "tokenizer": tokenizer_tag(), "format": CACHE_FORMAT}
            _save_bm25_entry(bm25, entry, meta)
    if embed_fn is not None and embeddings is None:
        embeddings = np.ascontiguousarray(embed_fn(list(texts)), dtype=np.float32)
        built.append("embeddings")
        if use_cache and entry.is_dir():
            _save_embeddings(embeddings, entry)
    seconds = time.perf_counter() - start
    where = entry if use_cache else "(no cache)"
    if built:
        log.info("retrieval index built (%s) for %d cases in %.2fs, cache %s",
                 "+".join(built), len(ids), seconds, where)
    else:
        log.info("retrieval index loaded from cache %s (%d cases) in %.2fs", entry, len(ids),
                 seconds)
    return CorpusIndex(
        ids=list(ids), bm25=bm25, embeddings=embeddings, key=key,
        directory=entry if use_cache else None, from_cache=not built, seconds=seconds,
        built=built,
    )
