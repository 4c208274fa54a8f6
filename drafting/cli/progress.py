"""The run progress bar: done/total, failures and tokens on stderr (terminals only)."""

from __future__ import annotations

import sys
from typing import Any

from drafting.cli._common import err_console
from drafting.evaluation.records import CaseRow


class ProgressBar:
    """A rich progress bar on stderr for `drafting eval run` (a `RunObserver`)."""

    def __init__(self) -> None:
        self.failed = 0
        self.tokens = 0
        self._bar: Any = None
        self._task: Any = None

    def start(self, total: int) -> None:
        """Show the bar, when stderr is a terminal."""
        if not sys.stderr.isatty():
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

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

    def case_done(self, row: CaseRow) -> None:
        """Advance by one case."""
        if row.status == "failed":
            self.failed += 1
        self.tokens += row.tokens.total
        if self._bar is not None:
            self._bar.update(self._task, advance=1, failed=self.failed, tokens=self.tokens)

    def skipped(self, n: int) -> None:
        """Advance over cases a resumed run had already done."""
        if self._bar is not None and n:
            self._bar.update(self._task, advance=n)

    def close(self) -> None:
        """Stop the bar."""
        if self._bar is not None:
            self._bar.stop()
