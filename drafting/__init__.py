"""Draft structured clinical imaging reports with an LLM, grounded in similar reference cases.

The public API is imported lazily so that ``import drafting`` stays fast; see `__all__`.
"""

from __future__ import annotations

import os

# Privacy defaults, set before any heavy library is imported: ragas sends usage telemetry unless
# told not to, and the embedding model must load from the installed package, not a hub.
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

__version__ = "0.1.0"

# No key in a log line: HTTP libraries log full URLs, which may carry one (``?api-key=``).
from drafting.lazy import lazy_attributes  # noqa: E402 - after the privacy defaults
from drafting.redact import install_log_redaction  # noqa: E402 - after the privacy defaults

install_log_redaction()

_LAZY = {
    "Case": "drafting.schema",
    "Draft": "drafting.schema",
    "Report": "drafting.schema",
    "ReferenceStore": "drafting.cases",
    "load_case": "drafting.cases",
    "draft_report": "drafting.api",
    "adraft_report": "drafting.api",
    "draft_baseline": "drafting.api",
    "adraft_baseline": "drafting.api",
    "Endpoint": "drafting.llm.config",
    "run_suite": "drafting.evaluation",
    "load_run": "drafting.evaluation",
    "compare_runs": "drafting.evaluation",
}

__all__ = [*_LAZY, "__version__"]

__getattr__ = lazy_attributes(__name__, _LAZY, globals())
