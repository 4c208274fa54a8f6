"""The runner's progress bar: done/total, failures and tokens on stderr (terminals only)."""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    """A rich progress bar on stderr: done/total, failures, tokens. Silent when not a terminal."""

    def __init__(self, *, enabled: bool, total: int):
        self.failed = 0
        self.tokens = 0
        self._bar: Any = None
        if not (enabled and sys.stderr.isatty()):
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        from drafting.cli._common import err_console

        self._bar = Progress(
            TextColumn("drafting"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("failed {task.fields[failed]}"),
            TextColumn("tokens {task.fields[tokens]:,}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task("run", total=total, failed=0, tokens=0)

    def update(self, row: dict[str, Any]) -> None:
        if row.get("status") == "failed":
            self.failed += 1
        self.tokens += int((row.get("tokens") or {}).get("total", 0))
        if self._bar is not None:
            self._bar.update(self._task, advance=1, failed=self.failed, tokens=self.tokens)

    def skip(self, n: int) -> None:
        if self._bar is not None and n:
            self._bar.update(self._task, advance=n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
