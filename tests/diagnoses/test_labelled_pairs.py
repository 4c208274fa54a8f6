"""The labelled diagnosis pairs (tests/data/diagnosis_pairs.csv): well formed, and the matcher's
figures on the held-out part (never used for tuning) against the issue's targets."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from benchmarks.diagnosis_matcher import (
    PAIRS,
    PRECISION_TARGET,
    RECALL_TARGET,
    load_pairs,
    score,
    scored_matcher,
)
from tests.support import MEDPIX, requires_medpix

VERDICTS = {"same", "partial", "different"}


def rows() -> list[dict[str, str]]:
    with PAIRS.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_pairs_are_well_formed_and_held_out_by_category():
    data = rows()
    assert len(data) >= 200
    assert all(r["expected"] in VERDICTS and r["reason"].strip() and r["candidate"].strip() for r in data)
    assert len({r["id"] for r in data}) == len(data)
    assert len({(r["case_id"], r["candidate"]) for r in data}) == len(data)
    by_cat = Counter(r["category"] for r in data)
    held = Counter(r["category"] for r in data if r["split"] == "heldout")
    for cat, n in by_cat.items():
        assert abs(held[cat] - 0.4 * n) <= 1, cat  # ~40% of each category held out
    assert set(r["split"] for r in data) == {"tune", "heldout"}


@requires_medpix
def test_pairs_use_only_train_and_dev_cases():
    pairs = load_pairs(medpix=MEDPIX)  # raises KeyError for a case outside train/dev
    assert len(pairs) == len(rows())


def _heldout():
    pairs = [p for p in load_pairs(medpix=MEDPIX) if p.split == "heldout"]
    return score(pairs, scored_matcher([(p.candidate, p.gold) for p in pairs]))["ALL"]


@requires_medpix
def test_heldout_precision_meets_the_target():
    s = _heldout()
    assert s.precision is not None and s.precision >= PRECISION_TARGET, s


@requires_medpix
def test_heldout_recall_has_not_regressed():
    # measured 0.676 on the 369 held-out pairs of the three batches by `python -m
    # benchmarks.diagnosis_matcher` (0.697 first batch, 0.765 second, 0.512 third: the third
    # labeller's synonyms and eponyms are mostly in no packaged terminology); a floor, not the
    # target (see the next test)
    assert (_heldout().recall or 0) >= 0.66


@requires_medpix
@pytest.mark.xfail(
    strict=True,
    reason="held-out recall of 'same' is 0.676, below the 0.75 target: many synonyms, eponyms and "
    "reworded descriptions in the set are in no packaged terminology (see "
    "benchmarks/diagnosis_matcher.py)",
)
def test_heldout_recall_meets_the_target():
    assert (_heldout().recall or 0) >= RECALL_TARGET
