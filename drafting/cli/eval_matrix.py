"""`drafting eval matrix` and the matrix form of `eval run`: metrics by variant."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from drafting.cli._common import TableOrJson, check_table_or_json, console, err_console, escape, print_table

if TYPE_CHECKING:  # pragma: no cover
    from drafting.evaluation.matrix import Matrix, Variant
    from drafting.evaluation.suite import Suite


def matrix_table(m: Matrix) -> Any:
    """Metrics by variant as a rich table: mean, interval and n per cell, the best marked ★."""
    from rich.box import SIMPLE_HEAD
    from rich.table import Table

    from drafting.evaluation.formatting import fmt

    table = Table(title=f"{len(m.labels)} variants (★ best per metric)", title_justify="left",
                  box=SIMPLE_HEAD, pad_edge=False)
    table.add_column("metric", no_wrap=True)
    for label, (total, failed) in zip(m.labels, m.cases, strict=True):
        table.add_column(f"{escape(label)}\n{total} cases, {failed} failed", justify="right",
                         no_wrap=True)
    for row in m.rows:
        cells = []
        for c in row.cells:
            ci = f" [{fmt(c.ci_low)}–{fmt(c.ci_high)}]" if c.ci_low is not None else ""
            text = f"{fmt(c.mean)}{ci}"
            cells.append(f"[bold green]★ {text}[/]" if c.best else text)
        name = row.name + ("" if row.higher_is_better else " (lower better)")
        table.add_row(escape(name), *cells)
    return table


def _print_matrix(m: Matrix, output_format: str) -> None:
    for warning in m.warnings:
        err_console.print(f"[bold red]WARNING:[/] {escape(warning)}")
    if output_format == "json":
        import json

        print(json.dumps(m.to_dict(), indent=2, ensure_ascii=False))
    else:
        print_table(matrix_table(m))


def matrix(
    runs: Annotated[list[Path], typer.Argument(help="Run directories, one per variant.")],
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the matrix as an HTML page.")
    ] = None,
    output_format: TableOrJson = "table",
) -> int:
    """One table of metrics by variant, with intervals and the best variant per metric marked."""
    from drafting.evaluation.matrix import build_matrix, render_matrix_html

    check_table_or_json(output_format)
    m = build_matrix(runs)
    _print_matrix(m, output_format)
    if html is not None:
        html.write_text(render_matrix_html(m), encoding="utf-8")
        err_console.print(f"wrote {escape(html)}")
    return 0


def run_variants(
    suite: Path | Suite, variants: list[Variant], *, report_only: bool, quiet: bool, **options: Any
) -> int:
    """Run every variant, print the matrix, then the run directories (one per line).

    Returns:
        1 when a variant breaks the suite's thresholds or gate (unless ``report_only``), else 0.
    """
    from drafting.cli.progress import ProgressBar
    from drafting.evaluation.gate import check_run
    from drafting.evaluation.matrix import build_matrix, run_matrix

    runs = []
    failed = False
    for i, variant in enumerate(variants, start=1):
        err_console.print(f"variant {i}/{len(variants)}: {escape(variant.label)}")
        (run,) = run_matrix(suite, [variant], observer=None if quiet else ProgressBar(), **options)
        runs.append(run)
        verdict = check_run(run)
        for failure in verdict.failures:
            err_console.print(f"[red]gate ({escape(variant.label)}):[/red] "
                              f"{escape(failure.metric)}: {escape(failure.message)}")
        failed = failed or not verdict.passed
    _print_matrix(build_matrix(runs), "table")
    console.print(f"compare two: drafting eval compare {runs[0].dir} {runs[1].dir} --html cmp.html")
    for run in runs:
        print(run.dir)
    return 1 if failed and not report_only else 0
