"""Paths and markers shared by tests (not fixtures: import what you need)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
MEDPIX = SHARED / "datasets" / "medpix-2.0"
SEEDS_DIR = REPO / "reference_cases" / "seeds"

requires_medpix = pytest.mark.skipif(
    not (MEDPIX / "cases_dev.jsonl").is_file(),
    reason=f"MedPix 2.0 data not found at {MEDPIX} (the ../shared directory beside the project)",
)


def medpix_file(split: str) -> Path:
    """The MedPix JSONL file of a split ('train' or 'dev')."""
    return MEDPIX / f"cases_{split}.jsonl"
