"""Field-by-field validity of one FITT-VP exercise item (type, frequency, intensity, time,
volume, progression), each field scored 1, 0.5 (usable but vague) or 0 with a reason.

The vocabulary follows ACSM's FITT-VP exercise prescription: modalities (aerobic, resistance,
flexibility, neuromotor/balance, functional), frequency in sessions per week, intensity on a
recognised scale (light/moderate/vigorous, %HRmax, %HRR, RPE/Borg, %1RM or nRM, METs, talk test,
pain-guided), time as a duration, volume as an amount, progression as a change with an amount or
a trigger. Numbers with units are read by `pint` (the unit registry knows "Mg/s" is mass per
time, which no exercise field can be), so unit nonsense scores 0 with the unit's dimension named.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from drafting.evaluation.metrics._defects import template_defect, words
from drafting.evaluation.metrics._units import (
    COUNT_NOUNS,
    SETS_REPS,
    TIME,
    quantities,
    registry,
    unit_nonsense,
)


@dataclass(frozen=True)
class FieldVerdict:
    """One field's score (1 valid, 0.5 vague, 0 invalid) and why."""

    score: float
    reason: str


OK = 1.0
VAGUE = 0.5
BAD = 0.0

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
    "forty": 40, "forty-five": 45, "sixty": 60, "once": 1, "twice": 2, "thrice": 3,
    "a": 1, "an": 1, "single": 1, "half": 0.5,
}


# --- type ---------------------------------------------------------------------------------------

#: Exercise modalities by ACSM family; matched on whole words so "dysfunctional" is no
#: "functional".
MODALITIES = {
    "aerobic": """aerobic aerobics cardio cardiovascular endurance walking walk walks
        nordic cycling cycle bike bicycle ergometer ergometry treadmill elliptical rowing
        swimming swim aquatic aqua water hydrotherapy pool jogging running run stair stairs
        stepper dancing dance hiking interval hiit""",
    "resistance": """resistance strength strengthening weight weights weighted dumbbell
        dumbbells barbell kettlebell band bands theraband elastic isometric isometrics
        isotonic isokinetic eccentric concentric press curl curls squat squats lunge lunges
        bridge bridges bridging raise raises extension extensions flexion row rows plank
        planks push-up push-ups pushups pull-ups calisthenics bodyweight quadriceps quads
        hamstring hamstrings gluteal glute core abdominal""",
    "flexibility": """flexibility stretching stretch stretches range-of-motion rom mobility
        mobilisation mobilization yoga pilates""",
    "neuromotor": """balance proprioceptive proprioception neuromotor neuromuscular
        coordination agility gait tai chi qigong vestibular stability stabilisation
        stabilization postural posture""",
    "functional": """functional sit-to-stand transfers transfer step-ups step-up
        task-specific activities daily-living adl ambulation""",
    "respiratory": """breathing respiratory inspiratory expiratory diaphragmatic
        spirometry""",
}
_MODALITY_WORDS = {w: family for family, ws in MODALITIES.items() for w in ws.split()}
_MODALITY_PHRASES = {
    "range of motion": "flexibility", "activities of daily living": "functional",
    "sit to stand": "functional", "tai chi": "neuromotor", "step ups": "functional",
    "water-based": "aerobic", "pelvic floor": "resistance", "motor control": "neuromotor",
}


def check_type(text: str) -> FieldVerdict:
    """The exercise type names a modality."""
    low = " ".join(words(text.replace("-", " - ")))
    for phrase, family in _MODALITY_PHRASES.items():
        if phrase in low:
            return FieldVerdict(OK, f"{family} ({phrase})")
    tokens = re.findall(r"[a-z]+(?:-[a-z]+)*", text.lower())
    for tok in tokens:
        found = _MODALITY_WORDS.get(tok) or _MODALITY_WORDS.get(tok.rstrip("s"))
        if found:
            family = found
            return FieldVerdict(OK, f"{family} ({tok})")
    return FieldVerdict(BAD, "names no exercise modality (aerobic, resistance, flexibility, "
                             "balance, functional...)")


# --- frequency ----------------------------------------------------------------------------------

_PERIOD = {"day": 7.0, "daily": 7.0, "d": 7.0, "week": 1.0, "weekly": 1.0, "wk": 1.0, "w": 1.0,
           "month": 12 / 52, "monthly": 12 / 52}
_FIXED_FREQUENCIES: list[tuple[str, float]] = [
    (r"\bevery other day\b|\balternate days\b|\bevery second day\b", 3.5),
    (r"\b(?:bid|b\.i\.d)\b", 14.0), (r"\b(?:tid|t\.i\.d)\b", 21.0), (r"\b(?:qid|q\.i\.d)\b", 28.0),
    (r"\b(?:qd|od)\b", 7.0),
    (r"\bmost days\b", 5.0), (r"\bweekdays\b", 5.0),
    (r"\b(?:daily|every day|each day|a day|per day)\b", 7.0),
    (r"\b(?:weekly|every week|each week|a week|per week)\b", 1.0),
]
_COUNT = r"(\d+(?:\.\d+)?|one|two|three|four|five|six|seven|once|twice|thrice|a|an)"
_PER_PERIOD = re.compile(
    _COUNT + r"(?:\s*(?:-|–|to)\s*(\d+|two|three|four|five|six|seven))?\s*"
    r"(?:x|×|times?|sessions?|days?|bouts?)?\s*(?:(?:per|a|an|/|each|every|in\s+a)\s*|\b)"
    r"(day|daily|week|weekly|wk|w|d|month|monthly)\b",
    re.I,
)


def sessions_per_week(text: str) -> float | None:
    """Sessions per week stated by a frequency ("3 sessions per week" -> 3, "twice daily" -> 14)."""
    low = text.lower()
    best: float | None = None
    for m in _PER_PERIOD.finditer(low):
        count = _as_number(m.group(1))
        high = _as_number(m.group(2)) if m.group(2) else count
        if count is None or high is None:
            continue
        value = (count + high) / 2 * _PERIOD[m.group(3).lower()]
        # "3 times per day, 5 days a week": the finer unit's count times the days.
        best = value if best is None else _combine(best, value, m.group(3).lower())
    if best is not None:
        return best
    for rx, value in _FIXED_FREQUENCIES:
        if re.search(rx, low):
            return value
    return None


def _combine(previous: float, value: float, period: str) -> float:
    if period in {"week", "weekly", "wk", "w"} and previous >= 7:
        return previous / 7 * value
    return previous


def _as_number(token: str | None) -> float | None:
    if token is None:
        return None
    try:
        return float(token)
    except ValueError:
        v = _NUMBER_WORDS.get(token.lower())
        return float(v) if v is not None else None


#: Range-of-motion work may be done up to six times a day; less than weekly is no prescription.
FREQUENCY_RANGE = (1.0, 42.0)


#: A multiple of an amount the text does not state ("1.5x the recommended daily exercise",
#: "2 times the usual volume"): nothing a clinician can give.
_UNSTATED_MULTIPLE = re.compile(
    r"\d+(?:\.\d+)?\s*(?:x|×|times)\s+(?:the|your|a|an|normal|usual|recommended)\b", re.I
)


def check_frequency(text: str) -> FieldVerdict:
    """The frequency parses to sessions per week within `FREQUENCY_RANGE`."""
    if _UNSTATED_MULTIPLE.search(text):
        return FieldVerdict(BAD, "a multiple of an unstated amount, not sessions per day or week")
    return _check_measured(
        text, sessions_per_week, FREQUENCY_RANGE,
        unparsed="not a number of sessions per day or week",
        implausible="{:g} sessions per week is implausible", plausible="{:g} sessions per week",
    )


def _check_measured(
    text: str,
    measure: Callable[[str], float | None],
    bounds: tuple[float, float],
    *,
    unparsed: str,
    implausible: str,
    plausible: str,
) -> FieldVerdict:
    """The verdict on a field that must parse to a number within ``bounds``: ``measure`` reads
    the number, and the messages are formatted with it (``{:g}``)."""
    value = measure(text)
    if value is None:
        return FieldVerdict(BAD, unparsed)
    low, high = bounds
    if not low <= value <= high:
        return FieldVerdict(BAD, implausible.format(value))
    return FieldVerdict(OK, plausible.format(value))


# --- intensity ----------------------------------------------------------------------------------

_INTENSITY_WORDS = re.compile(
    r"\b(?:very\s+light|light|moderate(?:ly)?|vigorous|low|high|mild|gentle|easy|hard|"
    r"somewhat\s+hard|submaximal|sub-maximal|maximal|comfortable|brisk|conversational)\b",
    re.I,
)
_RPE = re.compile(r"\b(?:rpe|borg|perceived exertion|cr-?10)\b\D{0,20}?(\d+(?:\.\d+)?)"
                  r"(?:\s*(?:-|–|to)\s*(\d+(?:\.\d+)?))?", re.I)
_PCT_REF = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:(?:-|–|to)\s*(\d+(?:\.\d+)?)\s*)?%\s*(?:of\s+)?(?:the\s+)?"
    r"(hr\s*max|hrmax|mhr|max(?:imum|imal)?\s+heart\s+rate|hrr|heart\s+rate\s+reserve|"
    r"vo2\s*(?:max|peak|r)?|v̇o2|1\s*-?\s*rm|one[-\s]repetition\s+maximum|mvc|"
    r"max(?:imal|imum)?\s+voluntary|body\s*weight|predicted|max(?:imum|imal)?)",
    re.I,
)
_OTHER_SCALES = re.compile(
    r"\b(?:talk test|\d+\s*-?\s*rm\b|rm\b|mets?\b|heart rate|hr\b|bpm\b|watts?\b|pain[- ]free|"
    r"pain\s*(?:<|≤|below|under|of|at most)?\s*\d+\s*/\s*10|\d+\s*/\s*10|"
    r"without pain|no pain|pain threshold|tolerance|"
    r"resistance band|band|body\s*weight|bodyweight|assisted|unloaded|"
    r"(?:yellow|red|green|blue|black)\s+(?:theraband|band)|speed|pace|km/h|mph)\b",
    re.I,
)


def check_intensity(text: str) -> FieldVerdict:
    """The intensity sits on a recognised scale, with plausible numbers."""
    if m := _RPE.search(text):
        lo, hi = _number_or_range(m)
        if not (0 <= lo <= hi <= 20):
            return FieldVerdict(BAD, f"RPE {m.group(0).strip()} is outside the Borg scales")
        return FieldVerdict(OK, "RPE/Borg scale")
    if m := _PCT_REF.search(text):
        lo, hi = _number_or_range(m)
        if not (10 <= lo <= hi <= 100):
            return FieldVerdict(BAD, f"{m.group(0).strip()} is not a plausible share")
        return FieldVerdict(OK, f"percentage of {m.group(3).strip()}")
    if m := _INTENSITY_WORDS.search(text):
        return FieldVerdict(OK, f"{m.group(0).lower()} (descriptive scale)")
    if m := _OTHER_SCALES.search(text):
        return FieldVerdict(OK, m.group(0).lower())
    if any(q.dimension for q in quantities(text)):  # check_field ruled out unit nonsense
        return FieldVerdict(OK, "an absolute load, speed, power or heart rate")
    if "%" in text:
        return FieldVerdict(VAGUE, "a percentage without its reference (HRmax, HRR, 1RM...)")
    if re.search(r"\bas tolerated\b|\btolerable\b", text, re.I):
        return FieldVerdict(VAGUE, "'as tolerated' names no scale")
    return FieldVerdict(BAD, "on no recognised scale (light/moderate/vigorous, %HRmax, %HRR, "
                             "RPE, %1RM, talk test...)")


def _number_or_range(m: re.Match[str]) -> tuple[float, float]:
    """A matched number (group 1) or range (groups 1 and 2) as (low, high)."""
    low = float(m.group(1))
    return low, float(m.group(2)) if m.group(2) else low


# --- time ---------------------------------------------------------------------------------------

#: Per bout or session: a 5-second hold up to a three-hour session.
TIME_RANGE_MIN = (5 / 60, 180.0)


def duration_minutes(text: str) -> float | None:
    """The largest duration stated in ``text``, in minutes (None when none parses)."""
    best: float | None = None
    for q in quantities(text):
        if q.dimension != TIME:
            continue
        minutes = registry().Quantity(q.high, q.unit).to("minute").magnitude
        if q.unit.lower() in {"day", "days", "d", "week", "weeks", "wk", "month", "months"}:
            continue  # "for 6 weeks" is a programme length, not a session's time
        best = minutes if best is None else max(best, minutes)
    return best


def check_time(text: str) -> FieldVerdict:
    """The time parses to a duration within `TIME_RANGE_MIN`."""
    return _check_measured(
        text, duration_minutes, TIME_RANGE_MIN, unparsed="not a duration",
        implausible="{:g} minutes per session is implausible", plausible="{:g} minutes",
    )


# --- volume -------------------------------------------------------------------------------------


def check_volume(text: str) -> FieldVerdict:
    """The volume states an amount: sets and repetitions, minutes, steps, distance, energy."""
    if _UNSTATED_MULTIPLE.search(text):
        return FieldVerdict(BAD, "a multiple of an unstated amount")
    qs = quantities(text)
    if not qs and not re.search(r"\b(?:one|two|three|four|five|six|eight|ten|twelve|fifteen|"
                                r"twenty|thirty)\b", text, re.I):
        return FieldVerdict(BAD, "states no amount")
    counted = any(
        q.unit.lower() in COUNT_NOUNS or q.unit.lower().rstrip("s") in COUNT_NOUNS
        or (q.dimension not in (None, "") and q.unit) for q in qs
    )
    if counted or SETS_REPS.search(text) or re.search(
        r"\b(?:sets?|reps?|repetitions?|minutes?|steps?|laps?|met-?min(?:utes)?|sessions?|"
        r"bouts?|holds?|breaths?)\b", text, re.I):
        return FieldVerdict(OK, "an amount")
    return FieldVerdict(BAD, "a number without what it counts")


# --- progression --------------------------------------------------------------------------------

_PROGRESS_VERB = re.compile(
    r"\b(?:increas\w*|progress\w*|add\w*|advanc\w*|rais\w*|build\w*\s+up|double\w*|extend\w*|"
    r"lengthen\w*|reduc\w*|decreas\w*|titrat\w*|upgrad\w*|step\w*\s+up|move\s+(?:on\s+)?to|"
    r"introduc\w*|graduat\w*|escalat\w*|intensif\w*)\b",
    re.I,
)
_PARAMETER = re.compile(
    r"\b(?:duration|time|minutes?|intensity|load|weight|resistance|reps?|repetitions?|sets?|"
    r"distance|speed|pace|frequency|sessions?|range|rom|difficulty|level|volume|steps?|"
    r"hold|holds|incline|grade)\b",
    re.I,
)
_TRIGGER = re.compile(
    r"\b(?:when|once|after|if|as soon as|until|every|each|weekly|per week|by week|"
    r"tolerat\w*|pain[- ]free|without (?:pain|symptoms)|able to|achiev\w*|completes?|"
    r"rpe|borg)\b",
    re.I,
)


def check_progression(text: str) -> FieldVerdict:
    """The progression says what changes, by how much or when."""
    verb = _PROGRESS_VERB.search(text)
    if not verb:
        return FieldVerdict(BAD, "says no change (increase, add, progress...)")
    amount = bool(quantities(text)) or bool(re.search(r"%|\bone\b|\btwo\b|\bfive\b", text, re.I))
    parameter = bool(_PARAMETER.search(text))
    trigger = bool(_TRIGGER.search(text))
    if amount or (parameter and trigger):
        return FieldVerdict(OK, "what changes and by how much or when")
    if parameter or trigger:
        return FieldVerdict(VAGUE, "a change without an amount or a trigger")
    return FieldVerdict(VAGUE, f"'{verb.group(0)}' without what, how much or when")


CHECKS = {
    "type": check_type,
    "frequency": check_frequency,
    "intensity": check_intensity,
    "time": check_time,
    "volume": check_volume,
    "progression": check_progression,
}


def check_field(field: str, text: str) -> FieldVerdict:
    """Score one FITT-VP field: empty, template text, impossible units (all but the type), then
    the field's own check (``CHECKS``, which expects text that passed those)."""
    text = text.strip()
    if not text:
        return FieldVerdict(BAD, "empty")
    if bad := template_defect(text):
        return FieldVerdict(BAD, f"template text ({bad})")
    if field != "type" and (bad := unit_nonsense(text, field)):  # a type names no quantity
        return FieldVerdict(BAD, bad)
    return CHECKS[field](text)
