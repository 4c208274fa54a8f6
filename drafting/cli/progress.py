"""The run progress bar: done/total, failures and tokens on stderr (terminals only).

It moves as each stage of a case ends (a third of a case per stage), with the tokens the stage
spent, so a slow live run shows progress before a whole case is done.
"""

from __future__ import annotations

import sys
from typing import Any

from drafting.cli._common import err_console
from drafting.evaluation.records import CaseRow
from drafting.prompts import STAGES


class ProgressBar:
    """A rich progress bar on stderr for `drafting eval run` (a `RunObserver`)."""

    def __init__(self) -> None:
        self.failed = 0
        self.tokens = 0
        self.done = 0.0
        # Per case in flight: the share of a case already advanced and the tokens already shown.
        self._advanced: dict[str, float] = {}
        self._streamed: dict[str, int] = {}
        self._bar: Any = None
        self._task: Any = None

    def start(self, total: int) -> None:
        """Show the bar, when stderr is a terminal."""
        if not sys.stderr.isatty():
            return
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bar = Progress(
            TextColumn("drafting"),
            BarColumn(),
            TextColumn("{task.completed:.1f}/{task.total:.0f} cases"),
            TextColumn("failed {task.fields[failed]}"),
            TextColumn("tokens {task.fields[tokens]:,}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task("run", total=total, failed=0, tokens=0)

    def stage_done(self, case_id: str, stage: str, event: str, tokens: int) -> None:
        """Advance by one stage of a case, adding the tokens it spent."""
        step = 1 / len(STAGES) if event == "done" else 0.0
        step = min(step, 1.0 - self._advanced.get(case_id, 0.0))
        self._advanced[case_id] = self._advanced.get(case_id, 0.0) + step
        self._streamed[case_id] = self._streamed.get(case_id, 0) + tokens
        self.tokens += tokens
        self._advance(step)

    def case_done(self, row: CaseRow) -> None:
        """Advance to the end of a case (what its stages did not already advance)."""
        if row.status == "failed":
            self.failed += 1
        self.tokens += row.tokens.total - self._streamed.pop(row.case_id, 0)
        self._advance(1.0 - self._advanced.pop(row.case_id, 0.0))

    def _advance(self, step: float) -> None:
        self.done += step
        if self._bar is not None:
            self._bar.update(self._task, advance=step, failed=self.failed, tokens=self.tokens)

    def skipped(self, n: int) -> None:
        """Advance over cases a resumed run had already done."""
        if n:
            self._advance(float(n))

    def close(self) -> None:
        """Stop the bar."""
        if self._bar is not None:
            self._bar.stop()
