"""Shared bits of the command-line layer: consoles and small argument helpers."""

from __future__ import annotations

from rich.console import Console

#: Results go to stdout; progress, warnings and errors to stderr.
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def escape(text: object) -> str:
    """Escape rich markup in user-controlled text (file names, case text)."""
    from rich.markup import escape as _escape

    return _escape(str(text))
