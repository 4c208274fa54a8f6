"""`drafting eval run|compare|check|baseline`: run suites, compare runs, gate CI on results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from drafting.cli._common import console, err_console, escape


def run(
    suite: Annotated[Path, typer.Argument(help="The suite file (eval/suites/*.yaml).")],
    fixtures: Annotated[
        str | None, typer.Option("--fixtures", help="Fixture mode: live, record, replay or auto.")
    ] = None,
    cases: Annotated[
        Path | None, typer.Option("--cases", help="Cases (directory or file) replacing the suite's.")
    ] = None,
    prompt: Annotated[
        list[str] | None, typer.Option("--prompt", help="Prompt version override: stage=version.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Drafter model override.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Cases drafted at once.")] = 4,
    resume: Annotated[
        Path | None, typer.Option("--resume", help="Finish this interrupted run directory.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Directory to create the run directory in (default eval/runs)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> int:
    """Draft and score every case of SUITE; print the summary, then the run directory."""
    from drafting.evaluation.runner import RunInterrupted, run_suite
    from drafting.prompts import parse_prompt_overrides

    try:
        result = run_suite(
            suite,
            fixtures=fixtures,
            cases=cases,
            prompts=parse_prompt_overrides(prompt or []),
            model=model,
            concurrency=concurrency,
            resume=resume,
            out=out,
            progress=not quiet,
        )
    except RunInterrupted as exc:
        err_console.print(f"interrupted: the partial run is in {escape(exc.run_dir)}")
        err_console.print(f"resume it with: {escape(_resume_command(exc.run_dir))}")
        raise typer.Exit(130) from None
    except KeyboardInterrupt:
        err_console.print("interrupted before the run directory was created; nothing to resume")
        raise typer.Exit(130) from None
    console.print(summary_table(result.summary))
    failed = (result.summary.get("cases") or {}).get("failed", 0)
    if failed:
        err_console.print(f"{failed} case(s) failed; see results.jsonl or report.html")
    # Last line of stdout: the run directory, so scripts can chain it.
    print(result.dir)
    return 0


def _resume_command(run_dir: Path) -> str:
    """This command line again, with ``--resume RUN_DIR`` (and without a previous --resume)."""
    import shlex
    import sys

    args = sys.argv[1:]
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--resume":
            skip = True
            continue
        if arg.startswith("--resume="):
            continue
        kept.append(arg)
    return shlex.join(["drafting", *kept, "--resume", str(run_dir)])


def summary_table(summary: dict[str, Any]) -> Any:
    """The run summary as a rich table."""
    from rich.box import SIMPLE_HEAD
    from rich.table import Table

    from drafting.evaluation.report_html import fmt

    cases = summary.get("cases") or {}
    table = Table(
        title=f"{escape(summary.get('suite', ''))}: {cases.get('total', 0)} cases, "
        f"{cases.get('failed', 0)} failed",
        title_justify="left",
        box=SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("metric", overflow="fold", ratio=1)
    for col in ("mean", "95% interval", "n", "n/a", "unsc.", "fail"):
        table.add_column(col, justify="right", no_wrap=True)
    metrics = summary.get("metrics") or {}
    for names in (summary.get("sections") or {}).values():
        for name in names:
            m = metrics[name]
            ci = f"{fmt(m['ci_low'])}–{fmt(m['ci_high'])}" if m.get("ci_low") is not None else "–"
            table.add_row(
                escape(name), fmt(m.get("mean")), ci, str(m.get("n", 0)),
                str(m.get("not_applicable", 0)), str(m.get("unscored", 0)), str(m.get("failed", 0)),
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
) -> int:
    """Compare run B with run A case by case (paired bootstrap on B - A)."""
    from drafting.evaluation.compare import compare_runs, comparison_table, render_comparison_html
    from drafting.evaluation.rundir import write_json

    comp = compare_runs(run_a, run_b)
    console.print(comparison_table(comp))
    for m in comp.metrics:
        if m.changed:
            top = ", ".join(f"{escape(c['case_id'])} ({c['diff']:+.3f})" for c in m.changed[:3])
            console.print(f"  {escape(m.name)}: most changed {top}")
    if html is not None:
        html.write_text(render_comparison_html(comp), encoding="utf-8")
        err_console.print(f"wrote {escape(html)}")
    if json_out is not None:
        write_json(json_out, comp.to_dict())
        err_console.print(f"wrote {escape(json_out)}")
    return 0


def check(
    run_dir: Annotated[Path, typer.Argument(help="The run directory to gate.")],
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", help="Baseline file (e.g. eval/baselines/<suite>.json)."),
    ] = None,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Allowed unpaired drop below a baseline mean.")
    ] = 0.02,
) -> int:
    """Exit 1 when a metric is below its suite threshold or significantly below the baseline."""
    from drafting.evaluation.gate import check_run

    result = check_run(run_dir, baseline=baseline, tolerance=tolerance)
    for c in result.checks:
        mark = "[green]pass[/]" if c.passed else "[red]FAIL[/]"
        console.print(f"{mark} {c.kind} {escape(c.metric)}: {escape(c.message)}")
    if not result.checks:
        console.print("no thresholds or baseline to check")
    if result.passed:
        console.print(f"passed: {escape(result.run)}")
        return 0
    names = ", ".join(c.metric for c in result.failures)
    err_console.print(f"[red]failed:[/red] {escape(names)}")
    return 1


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
    eval_app.command("compare")(compare)
    eval_app.command("check")(check)
    eval_app.command("baseline")(baseline)
