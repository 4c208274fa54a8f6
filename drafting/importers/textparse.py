"""Text helpers shared by the importers: empty markers, list splitting, age/sex and modality cues."""

from __future__ import annotations

import re
from typing import Any

_BULLET = re.compile(r"^\s*(?:[-–—•»*·]+|\d+[.)])\s*")
_AGE = re.compile(r"\b(\d{1,3})\s*-?\s*(?:years?|yrs?|yo|y/o|y\.\s?o\.?)(?![a-z])", re.I)
_AGE_INFANT = re.compile(r"\b\d{1,2}\s*-?\s*(?:months?|mo|weeks?|wk|days?)\s*-?\s*old\b", re.I)
_FEMALE = re.compile(r"\b(?:female|woman|girl|lady|f|[wbha]f)\b", re.I)
_MALE = re.compile(r"\b(?:male|man|boy|gentleman|m|[wbha]m)\b", re.I)
_FEMALE_PRONOUN = re.compile(r"\b(?:she|her)\b", re.I)
_MALE_PRONOUN = re.compile(r"\b(?:he|his|him)\b", re.I)
_MODALITY_WORDS = {
    "CT": re.compile(r"\bCT\b|computed tomograph", re.I),
    "MRI": re.compile(r"\bMRI?\b|magnetic resonance|\bT1\b|\bT2\b|FLAIR", re.I),
    "X-ray": re.compile(r"radiograph|x-ray|\bfilm\b", re.I),
    "ultrasound": re.compile(r"ultrasound|sonograph|\bUS\b|doppler", re.I),
    "nuclear medicine": re.compile(r"\bPET\b|scintigra|bone scan|SPECT", re.I),
    "angiography": re.compile(r"angiogra", re.I),
}
_EMPTY_MARKERS = {"", "n/a", "na", "none", "null", "-", "nan"}


def clean_text(value: Any) -> str:
    """A cell or field as stripped text; empty markers ("n/a", "none", "-", null) become ""."""
    if value is None:
        return ""
    text = str(value).strip()
    return "" if text.lower() in _EMPTY_MARKERS else text


def split_list(text: str) -> list[str]:
    """Split a newline- and bullet-separated list (differentials, impression items) into items.

    A line marked ``»`` that heads a group of ``•`` items is a group heading, not a diagnosis.
    """
    lines = [ln.rstrip() for ln in text.replace("\r", "\n").split("\n")]
    lines = [ln for ln in lines if ln.strip()]
    names: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if stripped.startswith("»") and nxt.startswith("•"):
            continue
        name = _BULLET.sub("", stripped).strip().rstrip(".").strip()
        if name:
            names.append(name)
    return names


def parse_age_sex(history: str) -> tuple[int | None, str]:
    """Age in years and sex as stated in a free-text history ("47 yo man", "18 y/o male")."""
    age: int | None = None
    if m := _AGE.search(history):
        age = int(m.group(1))
        if age > 130:
            age = None
    elif _AGE_INFANT.search(history):
        age = 0
    head = history[:120]
    sex = _first_sex(head, _FEMALE, _MALE) or _first_sex(head, _FEMALE_PRONOUN, _MALE_PRONOUN)
    return age, sex or "unknown"


def _first_sex(text: str, female_rx: re.Pattern[str], male_rx: re.Pattern[str]) -> str:
    female, male = female_rx.search(text), male_rx.search(text)
    if female and (not male or female.start() < male.start()):
        return "female"
    if male:
        return "male"
    return ""


def guess_modalities(findings: str, *, has_ct: bool, has_mri: bool) -> str:
    """Modalities named in the findings text, else those of the listed image files."""
    found = [name for name, rx in _MODALITY_WORDS.items() if rx.search(findings)]
    if not found:
        found = [m for m, present in (("CT", has_ct), ("MRI", has_mri)) if present]
    return ", ".join(found)

