"""`drafting draft CASE`: draft a report for one case and print it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from drafting.cli._common import err_console


class StructuredOutputMode(StrEnum):
    """How the endpoint is asked for JSON (see `drafting.llm.structured_output_kwargs`)."""

    json_schema = "json_schema"
    json_object_schema = "json_object_schema"
    none = "none"


class OutputFormat(StrEnum):
    """How `drafting draft` prints the report."""

    markdown = "markdown"
    json = "json"


def draft(
    case: Annotated[Path, typer.Argument(help="The case file (YAML) to draft a report for.")],
    corpus: Annotated[
        list[Path] | None,
        typer.Option("--corpus", help="Reference cases to retrieve from (default: the bundled ones)."),
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
    structured_output: Annotated[
        StructuredOutputMode | None,
        typer.Option(
            "--structured-output",
            help="How to ask for JSON: json_schema (OpenAI strict; falls back to json_object_schema "
            "when the server rejects it), json_object_schema (llama.cpp) or none. "
            "Default: json_object_schema for the local backend, json_schema otherwise.",
        ),
    ] = None,
    prompts_dir: Annotated[
        list[Path] | None,
        typer.Option(
            "--prompts-dir", help="Your prompt files (<stage>/<version>.yaml), over the bundled ones."
        ),
    ] = None,
    local_model: Annotated[
        Path | None,
        typer.Option("--local-model", help="A GGUF file for the embedded server (instead of SmolLM2)."),
    ] = None,
    local_ctx: Annotated[
        int | None, typer.Option("--local-ctx", min=256, help="The embedded server's context length.")
    ] = None,
    local_threads: Annotated[
        int | None, typer.Option("--local-threads", min=1, help="The embedded server's CPU threads.")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=1, help="Seconds per model request (default 120; a slow CPU "
                     "server may need more)."),
    ] = None,
) -> int:
    """Draft a structured report for CASE, grounded in similar reference cases."""
    from drafting.api import draft_report
    from drafting.cases import ReferenceStore
    from drafting.llm import resolve_endpoint
    from drafting.prompts import load_prompt_set, parse_prompt_overrides
    from drafting.render import render_json, render_markdown

    server: dict[str, float] = {}
    if timeout is not None:
        server["timeout_s"] = timeout
    if local_ctx is not None:
        server["local_n_ctx"] = local_ctx
    if local_threads is not None:
        server["local_threads"] = local_threads
    endpoint = resolve_endpoint(
        backend=backend,
        model=model,
        base_url=base_url,
        fixtures=fixtures,
        fixtures_dir=fixtures_dir,
        structured_output=structured_output.value if structured_output else None,
        local_model=local_model,
        **server,
    )
    prompts = load_prompt_set(parse_prompt_overrides(prompt or []), prompts_dir=prompts_dir)
    store = ReferenceStore.load(*corpus, strict=False) if corpus else None

    def progress(stage: str, event: str, record) -> None:  # noqa: ANN001 - a StageRecord
        if event == "start":
            err_console.print(f"[dim]drafting {stage}…[/dim]")
        else:
            tokens = record.prompt_tokens + record.completion_tokens
            err_console.print(
                f"[green]✓[/green] {stage}: {record.latency_s:.1f} s, {tokens} tokens"
                + (f", {record.attempts} attempts" if record.attempts > 1 else "")
            )

    try:
        result = draft_report(
            case,
            store=store,
            endpoint=endpoint,
            k=k,
            prompts=prompts,
            retrieval=mode,
            on_progress=progress,
        )
    except KeyboardInterrupt:
        err_console.print("interrupted: no report was written")
        raise typer.Exit(130) from None
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
