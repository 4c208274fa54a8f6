"""Numbers for display, shared by the HTML report and the command line."""

from __future__ import annotations

from typing import Any


def fmt(value: Any, digits: int = 3) -> str:
    """A number for display: fixed digits, thousands separators; a dash for None."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def signed(value: float | None) -> str:
    """A difference for display: sign and three decimals; a dash for None."""
    return "–" if value is None else f"{value:+.3f}"
