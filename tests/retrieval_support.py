"""A tiny handmade reference corpus and a deterministic stand-in embedder for retrieval tests.

The case texts are invented for tests. The stand-in embedder (hashed bag of words, unit length)
lets dense and hybrid retrieval run without the MiniLM weights.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from drafting.schema import Case, CaseInput, Diagnosis, ImagingStudy, Report

_ROWS = [
    # id, age, sex, modality, region, history, imaging, diagnosis, topic
    ("knee-acl-1", 25, "female", "MRI", "left knee",
     "Twisting injury to the knee while playing football; knee gave way.",
     "Complete tear of the anterior cruciate ligament with bone bruise of the lateral femoral "
     "condyle.", "Anterior cruciate ligament tear", "ACL tear"),
    ("knee-acl-2", 31, "male", "MRI", "right knee",
     "Skier fell and the knee gave way with immediate swelling.",
     "Anterior cruciate ligament rupture, joint effusion, bone bruise.",
     "ACL rupture", "Anterior cruciate ligament tear"),
    ("brain-men-1", 61, "female", "MRI", "brain",
     "Months of headaches and word-finding difficulty.",
     "Extra-axial dural-based enhancing mass with a dural tail over the left convexity.",
     "Meningioma", "Meningioma"),
    ("brain-men-2", 55, "female", "CT", "head",
     "First seizure at work.",
     "Calcified dural-based extra-axial mass along the falx.",
     "Meningioma", "Meningioma"),
    ("chest-pe-1", 45, "male", "CT", "chest",
     "Sudden breathlessness and pleuritic pain after a long-haul flight.",
     "Filling defects in the right and left pulmonary arteries; right heart strain.",
     "Pulmonary embolism", "Pulmonary embolism"),
    ("abdo-stone-1", None, "male", "CT", "abdomen",
     "Colicky right flank pain radiating to the groin; haematuria.",
     "Obstructing calculus in the right proximal ureter with hydronephrosis.",
     "Ureteric calculus", "Nephrolithiasis"),
]


def tiny_cases() -> list[Case]:
    """Six small reference cases: two ACL tears, two meningiomas, a PE and a ureteric stone."""
    cases = []
    for cid, age, sex, modality, region, history, imaging, dx, topic in _ROWS:
        cases.append(Case(
            id=cid, title=dx, topic=topic,
            input=CaseInput(age=age, sex=sex, clinical_history=history,
                            imaging=[ImagingStudy(modality=modality, region=region,
                                                  description=imaging)]),
            gold=Report(final_diagnosis=dx, diagnosis=Diagnosis(primary=dx)),
        ))
    return cases


class HashEmbedder:
    """Unit-length hashed bag-of-words vectors; counts calls and texts embedded."""

    dim = 256

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]{3,}", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms
