"""Diagnosis equivalence, usable on the drafting path and by the evaluation harness.

    from drafting.diagnoses import match_diagnosis
    v = match_diagnosis("RCC", "Renal cell carcinoma")   # verdict="same", rule="terminology"

See `drafting.diagnoses.matcher` for the rules and ``data/NOTICE.md`` for the terminology's source.
"""

from drafting.diagnoses.matcher import DiagnosisVerdict, Verdict, match_diagnosis

__all__ = ["DiagnosisVerdict", "Verdict", "match_diagnosis"]
