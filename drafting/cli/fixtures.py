"""`drafting fixtures ...`: inspect and prune recorded model traffic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from drafting.cli._common import console, err_console, escape

fixtures_app = typer.Typer(
    help="Recorded model traffic (eval/fixtures): statistics and pruning.", no_args_is_help=True
)


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


@fixtures_app.command("stats")
def stats(
    directory: Annotated[Path, typer.Argument(help="A fixtures root or one label directory.")],
) -> int:
    """Count, models, total size and oldest/newest recording of the fixtures under DIRECTORY."""
    from drafting.llm.fixture_admin import fixture_stats

    result = fixture_stats(directory)
    console.print(f"fixtures: {result.count} in {escape(directory)} ({_size(result.total_bytes)})")
    for model, count in sorted(result.models.items()):
        console.print(f"  model {escape(model)}: {count}")
    if result.count:
        console.print(f"oldest: {result.oldest or '?'}")
        console.print(f"newest: {result.newest or '?'}")
    for path in result.unreadable:
        err_console.print(f"[yellow]unreadable:[/yellow] {escape(path)}")
    return 1 if result.unreadable else 0


@fixtures_app.command("prune")
def prune(
    directory: Annotated[Path, typer.Argument(help="A fixtures root or one label directory.")],
    keep_used: Annotated[
        list[Path],
        typer.Option("--keep-used", help="Evaluation run directory whose fixtures to keep."),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be deleted; delete nothing.")
    ] = False,
) -> int:
    """Delete fixtures under DIRECTORY that none of the --keep-used runs used."""
    from drafting.llm.fixture_admin import prune_fixtures

    result = prune_fixtures(directory, list(keep_used), dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for path in result.removed:
        console.print(f"{verb} {escape(path)}")
    console.print(f"{verb} {len(result.removed)} fixtures, kept {result.kept}")
    return 0


def register(app: typer.Typer) -> None:
    """Attach the `fixtures` group to the main app."""
    app.add_typer(fixtures_app, name="fixtures")
