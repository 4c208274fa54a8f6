"""`drafting cases ...`: validate, import, show and describe reference-case files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from drafting.cli._common import console, err_console, escape

if TYPE_CHECKING:  # pragma: no cover
    from drafting.schema import Case

app = typer.Typer(help="Reference cases: validate, import, show, schema, index.",
                  no_args_is_help=True)


@app.command("validate")
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Case files or directories of case files.")],
) -> int:
    """Validate case files; print one line per problem of every bad file and exit 1 if any is bad."""
    from drafting.cases import load_cases

    result = load_cases(paths)
    for error in result.errors:
        for problem in error.problems:
            err_console.print(f"[red]invalid:[/red] {escape(problem)}")
    ok = len(result.cases)
    bad = len(result.errors)
    console.print(f"{ok} valid case{'s' if ok != 1 else ''}, {bad} invalid")
    if bad or not ok:
        raise typer.Exit(1)
    return 0


@app.command("import")
def import_(
    importer: Annotated[str, typer.Argument(help="Data format: medpix, tabular (CSV/JSONL) or reports.")],
    source: Annotated[
        Path,
        typer.Argument(help="The data: a MedPix JSONL file, a CSV/JSONL export, or a folder of reports."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Directory to write case files into.")],
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help="tabular: the YAML mapping of columns to case fields (required); "
            "reports: heading names per section (optional).",
        ),
    ] = None,
) -> int:
    """Import a dataset into one YAML case file per case."""
    from drafting.cases import save_case
    from drafting.importers import import_cases

    warnings: list[str] = []
    cases, errors = import_cases(importer, source, mapping=mapping, warnings=warnings)
    for case in cases:
        save_case(case, out)
    for warning in warnings:
        err_console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    for error in errors:
        err_console.print(f"[yellow]skipped:[/yellow] {escape(error)}")
    console.print(f"wrote {len(cases)} case files to {escape(out)}; skipped {len(errors)}")
    if not cases:
        raise typer.Exit(1)
    return 0


@app.command("show")
def show(
    case: Annotated[str, typer.Argument(help="A case file, or a case id found under --corpus.")],
    corpus: Annotated[
        list[Path] | None,
        typer.Option("--corpus", help="Where to look up an id (default: the bundled reference cases)."),
    ] = None,
) -> int:
    """Show one case: its input, and its gold report."""
    from drafting.cases import ReferenceStore, load_case
    from drafting.errors import CaseFileError

    path = Path(case)
    if path.suffix in (".yaml", ".yml") or path.exists():
        loaded = load_case(path)
    else:
        from drafting.resources import bundled_path

        corpus = corpus or [bundled_path("reference_cases")]
        store = ReferenceStore.load(*corpus, strict=False)
        if case not in store:
            raise CaseFileError(f"no case with id '{case}'", path=", ".join(map(str, corpus)))
        loaded = store.get(case)
    _print_case(loaded)
    return 0


@app.command("index")
def index(
    corpus: Annotated[list[Path], typer.Argument(help="Reference case files or directories.")],
    backend: Annotated[
        str, typer.Option("--backend", help="lancedb (the engine) or builtin (the local index cache).")
    ] = "lancedb",
    uri: Annotated[
        str | None,
        typer.Option("--uri", help="lancedb: a directory, s3://... or db://... "
                     "(default: the embedded database under the cache directory)."),
    ] = None,
    table: Annotated[str, typer.Option("--table", help="lancedb: the table name.")] = "reference_cases",
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop the table and build it anew.")] = False,
    keep_missing: Annotated[
        bool, typer.Option("--keep-missing", help="Keep rows of cases no longer in CORPUS.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> int:
    """Build or update a retrieval index of CORPUS (only new or changed cases are embedded)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from drafting.cases import ReferenceStore
    from drafting.errors import ConfigError
    from drafting.retrieval.backends import BACKENDS, index_corpus

    if backend not in BACKENDS or backend == "langchain":
        raise ConfigError(f"unknown index backend '{backend}' (choose from builtin, lancedb)",
                          field="--backend")
    store = ReferenceStore.load(*corpus)
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err_console, disable=quiet, transient=True) as bar:
        task = bar.add_task("embedding and writing cases", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = index_corpus(store, backend=backend, uri=uri, table=table, rebuild=rebuild,
                               prune=not keep_missing, progress=progress)
    console.print(summary)
    return 0


@app.command("schema")
def schema() -> int:
    """Print the JSON Schema of a case file."""
    from drafting.schema import case_json_schema

    print(json.dumps(case_json_schema(), indent=2))
    return 0


def _print_case(case: Case) -> None:
    from rich.panel import Panel

    inp = case.input
    head = f"[bold]{escape(case.id)}[/bold]  {escape(case.title)}"
    console.print(head)
    console.print(f"source: {escape(case.source)}   license: {escape(case.license or '-')}")
    who = ", ".join(p for p in (f"{inp.age} y" if inp.age is not None else "", inp.sex) if p)
    body = [f"[bold]Patient[/bold]: {escape(who)}", f"[bold]History[/bold]: {escape(inp.clinical_history)}"]
    for study in inp.imaging:
        label = " / ".join(p for p in (study.modality, study.region) if p) or "imaging"
        body.append(f"[bold]{escape(label)}[/bold]: {escape(study.description)}")
    if inp.labs:
        body.append(f"[bold]Labs[/bold]: {escape(inp.labs)}")
    console.print(Panel("\n".join(body), title="input"))
    gold = case.gold
    lines = []
    if gold.findings:
        lines.append(f"[bold]Findings[/bold]: {escape(gold.findings)}")
    if gold.diagnosis.primary:
        lines.append(f"[bold]Primary diagnosis[/bold]: {escape(gold.diagnosis.primary)}")
    for i, d in enumerate(gold.diagnosis.differentials, 1):
        lines.append(f"  {i}. {escape(d.name)}" + (f": {escape(d.reasoning)}" if d.reasoning else ""))
    if gold.final_diagnosis:
        lines.append(f"[bold]Final diagnosis[/bold]: {escape(gold.final_diagnosis)}")
    rehab = gold.rehabilitation
    for name in ("goals", "precautions", "monitoring"):
        for item in getattr(rehab, name):
            lines.append(f"[bold]{name}[/bold]: {escape(item)}")
    lines.append(f"[bold]exercise items[/bold]: {len(rehab.exercises)}")
    console.print(Panel("\n".join(lines) or "(no gold report)", title="gold"))
