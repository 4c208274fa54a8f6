"""`drafting draft CASE`: draft a report for one case and print it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from drafting.cli._common import err_console

if TYPE_CHECKING:  # pragma: no cover
    from drafting.retrieval.backends import RetrievalConfig
    from drafting.schema import Draft, StageRecord


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
    retrieval_backend: Annotated[
        str, typer.Option("--retrieval-backend",
                          help="builtin (in-process index) or lancedb (the LanceDB engine).")
    ] = "builtin",
    retrieval_uri: Annotated[
        str | None, typer.Option("--retrieval-uri",
                                 help="lancedb: a directory, s3://... or db://... (default: embedded).")
    ] = None,
    retrieval_table: Annotated[
        str, typer.Option("--retrieval-table", help="lancedb: the table (one per corpus).")
    ] = "reference_cases",
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="local (embedded model), openai, or retrieval (no model: the nearest references).",
        ),
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
    from drafting.api import draft_baseline, draft_report
    from drafting.cases import ReferenceStore
    from drafting.llm import resolve_endpoint
    from drafting.prompts import parse_prompt_overrides

    store = ReferenceStore.load(*corpus, strict=False) if corpus else None
    retrieval = retrieval_config(retrieval_backend, mode, retrieval_uri, retrieval_table)
    if backend == "retrieval":
        result = draft_baseline(case, store=store, k=k, retrieval=retrieval)
        return _emit(result, output_format, out)
    endpoint = resolve_endpoint(
        backend=backend, model=model, base_url=base_url, fixtures=fixtures, fixtures_dir=fixtures_dir
    )

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
        retrieval=retrieval,
        on_progress=progress,
    )
    return _emit(result, output_format, out)


def _emit(result: Draft, output_format: OutputFormat, out: Path | None) -> int:
    """Print the draft, or write it to ``out``."""
    from drafting.render import render_json, render_markdown

    text = render_json(result) if output_format is OutputFormat.json else render_markdown(result)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {out}")
    else:
        print(text)
    return 0


def retrieval_config(backend: str, mode: str, uri: str | None, table: str) -> RetrievalConfig:
    """The `RetrievalConfig` the retrieval options name (one clear error for a bad backend)."""
    from drafting.errors import ConfigError
    from drafting.retrieval.backends import RetrievalConfig

    if backend not in ("builtin", "lancedb"):
        raise ConfigError(f"unknown retrieval backend '{backend}' (choose from builtin, lancedb)",
                          field="--retrieval-backend")
    return RetrievalConfig.model_validate({"backend": backend, "mode": mode, "uri": uri, "table": table})


def register(app: typer.Typer) -> None:
    """Attach `drafting draft` to the main app."""
    app.command("draft")(draft)
