"""Shared bits of the command-line layer: consoles and small argument helpers."""

from __future__ import annotations

import re

from rich.console import Console

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
