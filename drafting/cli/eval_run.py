"""`drafting eval run|compare|check|baseline`: run suites, compare runs, gate CI on results."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from drafting.cli._common import TableOrJson, check_table_or_json, console, err_console, escape, print_table

if TYPE_CHECKING:  # pragma: no cover
    from drafting.evaluation.compare import Comparison
    from drafting.evaluation.gate import GateResult
    from drafting.evaluation.records import RunSummary
    from drafting.evaluation.rundir import Run

#: Failed cases listed after a run, one line each with the reason.
MAX_FAILURE_LINES = 20


def run(
    suite: Annotated[
        Path | None,
        typer.Argument(help="The suite file (eval/suites/*.yaml); not needed with --resume."),
    ] = None,
    fixtures: Annotated[
        str | None, typer.Option("--fixtures", help="Fixture mode: live, record, replay or auto.")
    ] = None,
    cases: Annotated[
        Path | None, typer.Option("--cases", help="Cases (directory or file) replacing the suite's.")
    ] = None,
    prompt: Annotated[
        list[str] | None,
        typer.Option(
            "--prompt",
            help="Prompt version override: stage=version; stage=v1,v2,v3 runs one variant each.",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Drafter model override; a,b runs one variant each."),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Cases drafted at once.")] = 4,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            help="Finish this interrupted run directory (its config.json gives the suite).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Directory to create the run directory in (default eval/runs)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    report_only: Annotated[
        bool,
        typer.Option(
            "--report-only",
            help="Exit 0 even when the run breaks the suite's thresholds or gate.",
        ),
    ] = False,
) -> int:
    """Draft and score every case of SUITE; print the summary, then the run directory.

    Several versions of a stage (--prompt diagnosis=v1,v2) or several models (--model a,b) run
    every combination as its own run, then print the matrix of metrics by variant and the run
    directories, one per line.

    Exits 1 when the run breaks the suite's own thresholds or gate (failed cases beyond the
    allowed rate, no scored case), unless --report-only.
    """
    from drafting.cli.progress import ProgressBar
    from drafting.errors import ConfigError
    from drafting.evaluation.matrix import expand_variants
    from drafting.evaluation.runner import RunInterrupted, run_suite
    from drafting.evaluation.suite import Suite

    variants = expand_variants(prompt or [], [model] if model else [])
    target: Path | Suite
    if suite is not None:
        target = suite
    elif resume is not None and len(variants) == 1:
        from drafting.evaluation.resume import recorded_suite

        target = recorded_suite(resume, fixtures=fixtures, cases=cases,
                                prompts=variants[0].prompts or None, model=variants[0].model)
    elif resume is None:
        # A usage error (exit 2), like any other missing argument.
        raise typer.BadParameter("give a SUITE file, or --resume RUN_DIR", param_hint="SUITE")
    else:
        raise ConfigError("--resume finishes one run; it cannot be combined with a matrix")
    if len(variants) > 1:
        from drafting.cli.eval_matrix import run_variants

        return run_variants(
            target, variants, report_only=report_only, quiet=quiet, fixtures=fixtures,
            cases=cases, concurrency=concurrency, resume=resume, out=out,
        )
    try:
        result = run_suite(
            target,
            fixtures=fixtures,
            cases=cases,
            prompts=variants[0].prompts,
            model=variants[0].model,
            concurrency=concurrency,
            resume=resume,
            out=out,
            observer=None if quiet else ProgressBar(),
        )
    except RunInterrupted as exc:
        err_console.print(f"interrupted: the partial run is in {escape(exc.run_dir)}")
        err_console.print(f"resume it with: drafting eval run --resume {escape(exc.run_dir)}")
        raise typer.Exit(130) from None
    except KeyboardInterrupt:
        err_console.print("interrupted before the run directory was created; nothing to resume")
        raise typer.Exit(130) from None
    _print_outcome(result)
    return _gate_exit(result, report_only)


def retry(
    run_dir: Annotated[Path, typer.Argument(help="The run directory whose failed cases to retry.")],
    concurrency: Annotated[int, typer.Option("--concurrency", help="Cases drafted at once.")] = 4,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    report_only: Annotated[
        bool, typer.Option("--report-only", help="Exit 0 even when the run breaks its gate.")
    ] = False,
) -> int:
    """Draft and score again only the failed cases of a run, into the same run directory."""
    from drafting.cli.progress import ProgressBar
    from drafting.evaluation.resume import retry_failed

    result, retried = retry_failed(
        run_dir, concurrency=concurrency, observer=None if quiet else ProgressBar()
    )
    if not retried:
        err_console.print("no failed case to retry")
    else:
        still = {row.case_id for row in result.results if row.status == "failed"}
        err_console.print(f"retried {len(retried)} case(s): {len(set(retried) - still)} now ok, "
                          f"{len(set(retried) & still)} failed again")
    _print_outcome(result)
    return _gate_exit(result, report_only)


def runs(
    folder: Annotated[
        Path | None, typer.Argument(help="The runs folder (default: eval/runs here).")
    ] = None,
    suite: Annotated[str | None, typer.Option("--suite", help="Only runs of this suite.")] = None,
    output_format: TableOrJson = "table",
) -> int:
    """List past runs, newest first: suite, date, variant, cases, failures, headline metrics."""
    from drafting.evaluation.history import list_runs

    check_table_or_json(output_format)
    listing = list_runs(folder if folder is not None else Path("eval") / "runs", suite=suite)
    if output_format == "json":
        import json

        print(json.dumps([item.to_dict() for item in listing], indent=2, ensure_ascii=False))
        return 0
    if not listing:
        err_console.print("no runs")
        return 0
    print_table(runs_table(listing))
    return 0


def runs_table(listing: list[Any]) -> Any:
    """Past runs as a rich table (one row each; headline metrics as columns)."""
    from rich.box import SIMPLE_HEAD
    from rich.table import Table

    from drafting.evaluation.formatting import fmt

    names = list(dict.fromkeys(n for item in listing for n in item.headline))
    table = Table(box=SIMPLE_HEAD, pad_edge=False)
    for col in ("run", "suite", "date", "variant"):
        table.add_column(col, no_wrap=True)
    for col in ("cases", "failed", *names):
        table.add_column(col, justify="right", no_wrap=True)
    for item in listing:
        if item.problem:
            table.add_row(escape(item.run_id), "", "", f"[red]{escape(item.problem)}[/]")
            continue
        failed = str(item.failed) + ("" if item.finished else " (unfinished)")
        table.add_row(
            escape(item.run_id), escape(item.suite), item.created_at.replace("T", " ")[:16],
            escape(item.variant), str(item.cases), failed,
            *(fmt(item.headline.get(n)) for n in names),
        )
    return table


def _print_outcome(result: Run) -> None:
    if result.summary is not None:
        print_table(summary_table(result.summary))
        for note in result.summary.notes:
            err_console.print(f"{escape(note.kind)}: {escape(note.message)}")
        failed = [row for row in result.results if row.status == "failed"]
        for row in failed[:MAX_FAILURE_LINES]:
            err = row.error
            where = f" in {err.stage}" if err and err.stage else ""
            why = f"{err.type}: {err.message}" if err else "unknown error"
            err_console.print(f"[red]failed[/red] {escape(row.case_id)}{where}: {escape(why)}")
        if len(failed) > MAX_FAILURE_LINES:
            err_console.print(f"... and {len(failed) - MAX_FAILURE_LINES} more")
        if result.summary.cases.failed:
            err_console.print(
                f"{result.summary.cases.failed} case(s) failed; see results.jsonl or report.html"
            )
        flagged = result.summary.flagged
        if flagged:
            names = ", ".join(f"{cid} ({', '.join(f)})" for cid, f in flagged.items())
            err_console.print(f"{len(flagged)} case(s) flagged for review: {escape(names)}")


def _gate_exit(result: Run, report_only: bool) -> int:
    from drafting.evaluation.gate import check_run

    verdict = check_run(result)
    for failure in verdict.failures:
        err_console.print(f"[red]gate:[/red] {escape(failure.metric)}: {escape(failure.message)}")
    # Last line of stdout: the run directory, so scripts can chain it.
    print(result.dir)
    return 0 if verdict.passed or report_only else 1


def summary_table(summary: RunSummary) -> Any:
    """The run summary as a rich table."""
    from rich.box import SIMPLE_HEAD
    from rich.table import Table

    from drafting.evaluation.formatting import fmt

    table = Table(
        title=f"{escape(summary.suite)}: {summary.cases.total} cases, "
        f"{summary.cases.failed} failed",
        title_justify="left",
        box=SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("metric", overflow="fold", ratio=1)
    for col in ("mean", "95% interval", "n", "n/a", "unsc.", "fail"):
        table.add_column(col, justify="right", no_wrap=True)
    for names in summary.sections.values():
        for name in names:
            m = summary.metrics[name]
            ci = f"{fmt(m.ci_low)}–{fmt(m.ci_high)}" if m.ci_low is not None else "–"
            table.add_row(
                escape(name), fmt(m.mean), ci, str(m.n),
                str(m.not_applicable), str(m.unscored), str(m.failed),
            )
    return table


def comparison_table(comp: Comparison) -> Any:
    """A comparison of two runs as a rich table."""
    from rich.box import SIMPLE_HEAD
    from rich.table import Table

    from drafting.evaluation.formatting import fmt, signed

    table = Table(title=f"B {escape(comp.run_b)} vs A {escape(comp.run_a)}", title_justify="left",
                  box=SIMPLE_HEAD, pad_edge=False)
    table.add_column("metric", overflow="fold", ratio=1)
    for col in ("n", "mean A", "mean B", "B - A", "95% interval", "W/T/L", "verdict"):
        table.add_column(col, justify="left" if col == "verdict" else "right", no_wrap=True)
    style = {"better": "green", "worse": "red"}
    for m in comp.metrics:
        ci = f"{fmt(m.ci_low)}–{fmt(m.ci_high)}" if m.ci_low is not None else "–"
        verdict = m.verdict
        table.add_row(
            escape(m.name), str(m.n_paired), fmt(m.mean_a), fmt(m.mean_b),
            signed(m.mean_diff), ci, f"{m.wins}/{m.ties}/{m.losses}",
            f"[{style[verdict]}]{verdict}[/]" if verdict in style else verdict,
        )
    return table


def compare(
    run_a: Annotated[Path, typer.Argument(help="The reference run directory (A).")],
    run_b: Annotated[Path, typer.Argument(help="The new run directory (B).")],
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the comparison as an HTML page.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the comparison as JSON.")
    ] = None,
    output_format: TableOrJson = "table",
) -> int:
    """Compare run B with run A case by case (paired bootstrap on B - A): what changed in the
    config, per-metric differences, warnings when the comparison cannot be trusted."""
    from drafting.evaluation.compare import compare_runs, render_comparison_html
    from drafting.evaluation.rundir import write_json

    check_table_or_json(output_format)
    comp = compare_runs(run_a, run_b)
    for warning in comp.warnings:
        err_console.print(f"[bold red]WARNING:[/] {escape(warning)}")
    if output_format == "json":
        import json

        print(json.dumps(comp.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_changes(comp)
        print_table(comparison_table(comp))
        for m in comp.metrics:
            if m.changed:
                top = ", ".join(f"{escape(c.case_id)} ({c.diff:+.3f})" for c in m.changed[:3])
                console.print(f"  {escape(m.name)}: most changed {top}")
    if html is not None:
        html.write_text(render_comparison_html(comp), encoding="utf-8")
        err_console.print(f"wrote {escape(html)}")
    if json_out is not None:
        write_json(json_out, comp.to_dict())
        err_console.print(f"wrote {escape(json_out)}")
    return 0


def _print_changes(comp: Comparison) -> None:
    if not comp.config:
        console.print("What changed: unknown (a run has no config.json)")
        return
    changed = comp.changed_config
    if not changed:
        console.print("What changed: nothing in the config (same prompts, model, k, retrieval mode, "
                      "cases)")
        return
    console.print("What changed (A -> B):")
    for item in changed:
        console.print(f"  {escape(item.label)}: {escape(item.a)} -> {escape(item.b)}")


def check(
    run_dir: Annotated[Path, typer.Argument(help="The run directory to gate.")],
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", help="Baseline file (e.g. eval/baselines/<suite>.json)."),
    ] = None,
    min_effect: Annotated[
        float | None,
        typer.Option(
            "--min-effect",
            help="Smallest drop from the baseline that fails a [0, 1] metric "
            "(default: the suite's gate.min_effect, 0.02).",
        ),
    ] = None,
) -> int:
    """Exit 1 when cases failed beyond the suite's allowed rate, none was scored, a metric breaks
    its threshold, or a metric is significantly and materially worse than the baseline."""
    from drafting.evaluation.gate import check_run

    result = check_run(run_dir, baseline=baseline, min_effect=min_effect)
    for c in result.checks:
        mark = "[green]pass[/]" if c.passed else "[red]FAIL[/]"
        console.print(f"{mark} {c.kind} {escape(c.metric)}: {escape(c.message)}")
    if result.passed:
        console.print(f"passed: {escape(result.run)}")
        return 0
    _print_failures(result)
    return 1


def _print_failures(result: GateResult) -> None:
    names = ", ".join(c.metric for c in result.failures)
    err_console.print(f"[red]failed:[/red] {escape(names)}")


def baseline(
    run_dir: Annotated[Path, typer.Argument(help="The run directory to record as the baseline.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the baseline JSON.")],
) -> int:
    """Write a baseline file (per-metric means, intervals and per-case values) from a run."""
    from drafting.evaluation.gate import write_baseline

    path = write_baseline(run_dir, out)
    print(path)
    return 0


def register(app: typer.Typer) -> None:
    """Add run, compare, check and baseline to the `eval` group."""
    from drafting.cli.evaluate import eval_app

    eval_app.command("run")(run)
    eval_app.command("retry")(retry)
    eval_app.command("runs")(runs)
    eval_app.command("compare")(compare)
    eval_app.command("check")(check)
    eval_app.command("baseline")(baseline)
    from drafting.cli.eval_matrix import matrix

    eval_app.command("matrix")(matrix)
