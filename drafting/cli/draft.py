"""`drafting draft CASE`: draft a report for one case and print it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from drafting.cli._common import err_console

if TYPE_CHECKING:  # pragma: no cover
    from drafting.schema import StageRecord


class OutputFormat(StrEnum):
    """How `drafting draft` prints the report."""

    markdown = "markdown"
    json = "json"


def draft(
    case: Annotated[Path, typer.Argument(help="The case file (YAML) to draft a report for.")],
    corpus: Annotated[
        list[Path] | None,
        typer.Option("--corpus", help="Reference cases to retrieve from (default: reference_cases/)."),
    ] = None,
    k: Annotated[int, typer.Option("-k", help="How many reference cases to use.")] = 3,
    mode: Annotated[
        str, typer.Option("--mode", help="Retrieval mode: auto, bm25, dense or hybrid.")
    ] = "auto",
    backend: Annotated[
        str | None, typer.Option("--backend", help="local (embedded model) or openai.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model name at the endpoint.")] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint URL.")
    ] = None,
    prompt: Annotated[
        list[str] | None, typer.Option("--prompt", help="Prompt version override: stage=version.")
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="markdown or json.")
    ] = OutputFormat.markdown,
    out: Annotated[Path | None, typer.Option("--out", help="Write the report here.")] = None,
    fixtures: Annotated[
        str | None, typer.Option("--fixtures", help="live, record, replay or auto.")
    ] = None,
    fixtures_dir: Annotated[
        Path | None, typer.Option("--fixtures-dir", help="Fixture directory (default eval/fixtures).")
    ] = None,
) -> int:
    """Draft a structured report for CASE, grounded in similar reference cases."""
    from drafting.api import draft_report
    from drafting.cases import ReferenceStore
    from drafting.llm import resolve_endpoint
    from drafting.prompts import parse_prompt_overrides
    from drafting.render import render_json, render_markdown

    endpoint = resolve_endpoint(
        backend=backend, model=model, base_url=base_url, fixtures=fixtures, fixtures_dir=fixtures_dir
    )
    store = ReferenceStore.load(*corpus, strict=False) if corpus else None

    def progress(stage: str, event: str, record: StageRecord | None) -> None:
        if event == "start" or record is None:  # "done" always carries the stage's record
            err_console.print(f"[dim]drafting {stage}…[/dim]")
        elif event == "failed":
            err_console.print(f"[red]✗[/red] {stage}: failed after {record.attempts} attempt(s)")
        else:
            tokens = record.prompt_tokens + record.completion_tokens
            err_console.print(
                f"[green]✓[/green] {stage}: {record.latency_s:.1f} s, {tokens} tokens"
                + (f", {record.attempts} attempts" if record.attempts > 1 else "")
            )

    result = draft_report(
        case,
        store=store,
        endpoint=endpoint,
        k=k,
        prompts=parse_prompt_overrides(prompt or []),
        retrieval=mode,
        on_progress=progress,
    )
    text = render_json(result) if output_format is OutputFormat.json else render_markdown(result)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {out}")
    else:
        print(text)
    return 0


def register(app: typer.Typer) -> None:
    """Attach `drafting draft` to the main app."""
    app.command("draft")(draft)
