"""Shared bits of the command-line layer: consoles and small argument helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:  # pragma: no cover
    from rich.table import Table

#: Results go to stdout; progress, warnings and errors to stderr.
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def escape(text: object) -> str:
    """Escape rich markup in user-controlled text (file names, case text)."""
    from rich.markup import escape as _escape

    return _escape(str(text))


def print_table(table: Table, *, to: Console | None = None) -> None:
    """Print a rich table; off a terminal (a CI log, a pipe) at its natural width, so columns
    neither wrap at 80 characters nor cut names mid-word."""
    from rich.measure import Measurement

    out = to or console
    if out.is_terminal:
        out.print(table)
        return
    natural = Measurement.get(out, out.options.update(width=10_000), table).maximum
    width = out.width
    out.width = max(width, natural)  # print(width=...) is capped at the console's width
    try:
        out.print(table, crop=False)
    finally:
        out.width = width
