"""Shared bits of the command-line layer: consoles and small argument helpers."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from drafting.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from rich.table import Table

#: Results go to stdout; progress, warnings and errors to stderr.
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


#: C0 controls but tab and newline, DEL and C1 controls: ESC sequences could move the cursor,
#: rewrite the screen or set the terminal title (OSC), and CR could overwrite a shown line.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape(text: object) -> str:
    """Make user-controlled text (file names, case text) safe to print.

    Rich markup is escaped, and terminal control characters are shown as ``\\x1b``-style
    escapes instead of being passed to the terminal.
    """
    from rich.markup import escape as _escape

    return _escape(_CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", str(text)))


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


#: ``--format`` of the commands that print a table, or JSON for scripts.
TableOrJson = Annotated[str, typer.Option("--format", help="stdout format: table or json.")]


def check_table_or_json(output_format: str) -> None:
    """Refuse a ``--format`` other than table or json (with the message users see).

    Raises:
        ConfigError: Any other value.
    """
    if output_format not in ("table", "json"):
        raise ConfigError(f"unknown --format '{output_format}' (use table or json)")
