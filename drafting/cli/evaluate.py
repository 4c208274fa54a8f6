"""`drafting eval ...`: evaluation commands (suites, scoring, comparison, CI gate)."""

from __future__ import annotations

import typer

eval_app = typer.Typer(help="Evaluate drafts: run suites, score, compare, gate.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Attach the `eval` group to the main app."""
    app.add_typer(eval_app, name="eval")
