"""`drafting eval score`: score one draft made anywhere against a gold case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from drafting.cli._common import console, err_console, escape


def score(
    draft: Annotated[Path, typer.Argument(help="The draft: our Draft JSON or a Markdown report.")],
    gold: Annotated[Path, typer.Option("--gold", help="The gold case file (YAML).")],
    metrics: Annotated[
        str | None,
        typer.Option(
            "--metrics",
            help="Comma-separated metric names (default: every non-judge metric available).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> int:
    """Score DRAFT against the gold report of the case in --gold."""
    from drafting.evaluation.scoring import score_file

    names = [m.strip() for m in metrics.split(",") if m.strip()] if metrics else None
    warnings: list[str] = []
    scored_draft, results = score_file(draft, gold, names, warnings=warnings)
    for warning in warnings:
        err_console.print(f"[yellow]warning:[/yellow] {escape(draft)}: {escape(warning)}")
    if as_json:
        payload = {
            "case_id": scored_draft.case_id,
            "results": [r.model_dump(mode="json") for r in results],
        }
        print(json.dumps(payload, indent=2))
        return 0
    from rich.table import Table

    table = Table(title=f"{escape(scored_draft.case_id)} vs {escape(gold.name)}")
    for col in ("metric", "value", "status", "reason"):
        table.add_column(col, justify="right" if col == "value" else "left")
    for r in results:
        value = "" if r.value is None else (f"{r.value:.3f}" if r.bounded else f"{r.value:g}")
        table.add_row(escape(r.name), value, r.status, escape(r.reason))
    console.print(table)
    return 0


def register(app: typer.Typer) -> None:
    """Attach `score` to the `drafting eval` group."""
    from drafting.cli.evaluate import eval_app

    eval_app.command("score")(score)
