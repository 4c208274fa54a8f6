"""`drafting draft CASE`: draft a report for one case and print it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from drafting.cli._common import err_console

if TYPE_CHECKING:  # pragma: no cover
    from drafting.retrieval.backends import RetrievalConfig
    from drafting.schema import Draft, StageRecord


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
    from drafting.api import draft_baseline, draft_report
    from drafting.cases import ReferenceStore
    from drafting.llm import resolve_endpoint
    from drafting.prompts import load_prompt_set, parse_prompt_overrides

    store = ReferenceStore.load(*corpus, strict=False) if corpus else None
    retrieval = retrieval_config(retrieval_backend, mode, retrieval_uri, retrieval_table)
    if backend == "retrieval":
        result = draft_baseline(case, store=store, k=k, retrieval=retrieval)
        return _emit(result, output_format, out)
    server: dict[str, Any] = {}
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

    try:
        result = draft_report(
            case,
            store=store,
            endpoint=endpoint,
            k=k,
            prompts=prompts,
            retrieval=retrieval,
            on_progress=progress,
        )
    except KeyboardInterrupt:
        err_console.print("interrupted: no report was written")
        raise typer.Exit(130) from None
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
