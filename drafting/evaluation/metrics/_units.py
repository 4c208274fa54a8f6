"""Numbers with units in exercise prescriptions, read with `pint`.

A number and what follows it ("20 min", "3.4Mg/s", "3 x 10", "3x/week") become a `Quantity`
whose unit's dimension comes from pint's registry (plus bpm and MET). `unit_nonsense` says why a
unit cannot belong to a FITT-VP field: "3.4Mg/s" measures mass per time, which no exercise volume
does; "6g" is no plausible load. Count nouns ("sets", "reps", "sessions") are not units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from drafting.evaluation.metrics._defects import word_set

_NUM = r"\d+(?:[.,]\d+)?"
#: A number, an optional range end, and what is glued or spaced after it ("3.4Mg/s", "20-30 min").
_QUANTITY = re.compile(
    rf"(?<![\w.])({_NUM})(?:\s*(?:-|–|—|to)\s*({_NUM}))?(\s*)([A-Za-zµ°%][A-Za-z0-9µ°%/·^*.-]*)?"
)
#: Sets by repetitions ("3x10", "3 × 12", "4x6g": then "g" is the unit glued to the reps).
SETS_REPS = re.compile(rf"(?<![\w.])({_NUM})\s*[x×*]\s*({_NUM})([A-Za-z]+)?", re.I)

#: Words that follow a number as a count of something, not a physical unit.
COUNT_NOUNS = word_set(
    """
    set sets rep reps repetition repetitions session sessions time times day days x bout
    bouts round rounds step steps lap laps circuit circuits exercise exercises stretch
    stretches hold holds breath breaths cycle cycles stair stairs flight flights block
    blocks trial trials squat squats lunge lunges raise raises bridge bridges contraction
    contractions attempt attempts week weeks month months rm
    """
)
#: Short words pint would read as units but that are English words after a number.
_NOT_UNITS = word_set(
    """
    a an at in of on or to by as is it be per and for the with from into than then each
    every more less up
    """
)
TIME = "[time]"
#: Units whose dimensions each field may carry ("" is a dimensionless count or percentage):
#: a frequency is a rate, a time a duration; intensity may be a load, a speed, a power or a heart
#: rate; volume a duration, a distance, energy or a load; progression any of those changes.
_ALLOWED_UNITS: dict[str, tuple[str, ...]] = {
    "frequency": ("minute", "1/week"),
    "time": ("minute",),
    "intensity": ("kg", "km/h", "watt", "bpm", "MET"),
    "volume": ("minute", "km", "kcal", "kg", "MET*minute"),
    "progression": ("minute", "km", "kg", "km/h", "watt", "bpm", "1/week"),
}


@cache
def _allowed_dimensions(field: str) -> frozenset[str]:
    return frozenset({""} | {str(registry().parse_units(u).dimensionality)
                             for u in _ALLOWED_UNITS[field]})


@lru_cache(maxsize=1)
def registry() -> Any:
    """The pint unit registry plus bpm and MET (built once per process: about a second)."""
    import pint

    ureg: Any = pint.UnitRegistry(cache_folder=None)
    # Exercise units pint does not define.
    ureg.define("beats_per_minute = 1 / minute = bpm")
    ureg.define("MET = [metabolic_equivalent] = METs = met")
    return ureg


#: Unit abbreviations an exercise text may put after a number with a space ("20 min", "5 kg").
#: Other short words pint happens to know ("are", "at", "in", "a") are English words there.
_SPACED_ABBREVIATIONS = word_set(
    """
    s sec secs min mins h hr hrs ms kg g mg lb lbs km m mi ft yd w kcal cal mph bpm met mets
    ml l cc mm cm dl mmhg kpa v mv
    """
)


def _is_spaced_unit(token: str) -> bool:
    low = token.lower()
    return low in _SPACED_ABBREVIATIONS or len(low) >= 4 or not low.isalpha()


_PLAIN_UNITS = {"min": "minute", "mins": "minute", "sec": "second", "secs": "second",
                "hr": "hour", "hrs": "hour"}


@lru_cache(maxsize=2048)
def unit_dimension(unit: str) -> str | None:
    """The pint dimensionality of a unit string ("[mass] / [time]" for "Mg/s"), "" for a
    dimensionless one, None when the string is not a unit pint knows."""
    token = unit.strip().rstrip(".").replace("·", "*")
    low = token.lower()
    if not token or low in COUNT_NOUNS or low in _NOT_UNITS:
        return None
    if token in {"%", "percent"}:
        return ""
    # Abbreviations pint finds ambiguous ("mins" is also milli-inches) or does not know.
    token = _PLAIN_UNITS.get(low, token)
    if re.match(r"^(?:x|×|times?|sessions?)?/", low):  # "3x/week", "3/day": a rate
        token = "1/" + low.split("/", 1)[1]
    try:  # the dimensionality too: "d/m/year/decade" parses, then its dimension raises
        q = registry().parse_units(token)
        return str(q.dimensionality) if not q.dimensionless else ""
    except Exception:  # noqa: BLE001 - pint raises several error kinds for non-units
        return None


@dataclass(frozen=True)
class Quantity:
    """A number (or range) and the unit or count noun that follows it."""

    low: float
    high: float
    unit: str
    glued: bool
    dimension: str | None


def quantities(text: str) -> list[Quantity]:
    """Every number in ``text`` with what follows it (sets x reps are read as two counts)."""
    out: list[Quantity] = []
    consumed: list[tuple[int, int]] = []
    for m in SETS_REPS.finditer(text):
        sets, reps = float(m.group(1).replace(",", ".")), float(m.group(2).replace(",", "."))
        unit = m.group(3) or ""
        if unit.lower() in {"week", "weekly", "day", "daily", "wk", "d"}:
            continue  # "3x/week" style is handled as frequency text
        out.append(Quantity(sets, sets, "sets", False, ""))
        dim = unit_dimension(unit) if unit else ""
        out.append(Quantity(reps, reps, unit or "reps", bool(unit), dim))
        consumed.append(m.span())
    for m in _QUANTITY.finditer(text):
        if any(a <= m.start() < b for a, b in consumed):
            continue
        low = float(m.group(1).replace(",", "."))
        high = float(m.group(2).replace(",", ".")) if m.group(2) else low
        unit = (m.group(4) or "").rstrip(".,;:)")
        glued = bool(unit) and not m.group(3)
        if unit and not glued and not _is_spaced_unit(unit):
            dim = None  # "3 sets of 10 are done": an English word, not the unit "are"
        else:
            dim = unit_dimension(unit) if unit else ""
        out.append(Quantity(low, high, unit, glued, dim))
    return out


def unit_nonsense(text: str, field: str) -> str:
    """Why a number's unit cannot belong to this field ("'3.4Mg/s' is mass / time"), or ""."""
    allowed = _allowed_dimensions(field)
    for q in quantities(text):
        if q.dimension is None:
            if q.glued and q.unit.lower() not in COUNT_NOUNS:
                return f"'{_fmt(q)}{q.unit}' has no known unit"
            continue
        if q.dimension not in allowed:
            what = _DIMENSION_NAMES.get(q.dimension, q.dimension.replace("[", "").replace("]", ""))
            return f"'{_fmt(q)}{q.unit}' measures {what}: no exercise {field} does"
        if q.dimension == "[mass]" and field in {"intensity", "volume", "progression"}:
            kg = (q.high * registry()(q.unit).to("kg").magnitude)
            if not 0.1 <= kg <= 300:
                return f"'{_fmt(q)}{q.unit}' is not a plausible exercise load"
    return ""


_DIMENSION_NAMES = {
    "[mass] / [time]": "mass per time", "[length] ** 3": "a fluid volume", "[mass]": "mass",
    "[length]": "length", "[time]": "time", "[length] ** 2": "area", "[temperature]": "temperature",
    "[current]": "electric current", "[substance]": "amount of substance",
}


def _fmt(q: Quantity) -> str:
    def one(v: float) -> str:
        return f"{v:g}"

    return one(q.low) if q.low == q.high else f"{one(q.low)}-{one(q.high)} "
