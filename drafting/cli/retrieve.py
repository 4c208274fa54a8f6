"""`drafting retrieve` and `drafting eval retrieval`: similar reference cases, and their quality."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from drafting.cli._common import console, escape
from drafting.errors import ConfigError

_MODE_HELP = "bm25, dense, hybrid, or auto (hybrid when embeddings are installed)."


def _parse_ks(text: str) -> list[int]:
    try:
        ks = sorted({int(p) for p in text.split(",") if p.strip()})
    except ValueError:
        raise ConfigError(f"-k must be comma-separated positive integers, got '{text}'",
                          field="-k") from None
    if not ks or ks[0] <= 0:
        raise ConfigError(f"-k must be comma-separated positive integers, got '{text}'",
                          field="-k")
    return ks


def retrieve(
    case_file: Annotated[Path, typer.Argument(help="The query case file (its input is used).")],
    corpus: Annotated[list[Path], typer.Option("--corpus", help="Reference case directory.")],
    k: Annotated[int, typer.Option("-k", help="How many references.", min=1)] = 5,
    mode: Annotated[str, typer.Option("--mode", help=_MODE_HELP)] = "auto",
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Index cache root (default: user cache).")
    ] = None,
) -> int:
    """Show the reference cases most similar to CASE_FILE."""
    import time

    from rich.table import Table

    from drafting.cases import ReferenceStore, load_case
    from drafting.retrieval import Retriever

    query = load_case(case_file)
    store = ReferenceStore.load(*corpus)
    start = time.perf_counter()
    retriever = Retriever.from_store(store, mode=mode, cache_dir=cache_dir)
    ready = time.perf_counter() - start
    hits = retriever.search(query, k=k)
    table = Table(title=f"References for {escape(query.id)}")
    table.add_column("rank", justify="right")
    table.add_column("id")
    # Imported titles can be paragraphs: one line each keeps the table scannable.
    table.add_column("title", max_width=40, no_wrap=True, overflow="ellipsis")
    table.add_column("score", justify="right")
    table.add_column("retrievers")
    for h in hits:
        found = ", ".join(f"{n} #{h.ranks[n]}" for n in h.retrievers)
        table.add_row(str(h.rank), escape(h.case_id), escape(h.title), f"{h.score:.4f}", found)
    console.print(table)
    source = "loaded from cache" if retriever.from_cache else "built"
    console.print(f"mode: {retriever.mode}; index {source} in {ready:.2f}s "
                  f"({len(store)} references)")
    return 0


def eval_retrieval(
    corpus: Annotated[list[Path], typer.Option("--corpus", help="Reference case directory.")],
    queries: Annotated[
        list[Path] | None,
        typer.Option("--queries", help="Query cases (default: leave-one-out over the corpus)."),
    ] = None,
    k: Annotated[str, typer.Option("-k", help="Cut-offs, comma-separated.")] = "1,3,5,10",
    mode: Annotated[str, typer.Option("--mode", help="all, bm25, dense or hybrid.")] = "all",
    fields: Annotated[
        str, typer.Option("--fields", help="Indexed reference fields: input[,findings,diagnosis].")
    ] = "input",
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Index cache root.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    backend: Annotated[
        str, typer.Option("--backend", help="builtin (in-process index) or lancedb (the engine).")
    ] = "builtin",
    uri: Annotated[
        str | None, typer.Option("--uri", help="lancedb: the database (default: embedded).")
    ] = None,
    table_name: Annotated[
        str, typer.Option("--table", help="lancedb: the table name.")
    ] = "reference_cases",
) -> int:
    """Hit@k, MRR and nDCG of retrieval, where a hit shares the query's diagnosis label."""
    from rich.table import Table

    from drafting.cases import ReferenceStore
    from drafting.evaluation.retrieval_eval import evaluate_retrieval

    ks = _parse_ks(k)
    modes = ["bm25", "dense", "hybrid"] if mode == "all" else [mode]
    for m in modes:
        if m not in ("bm25", "dense", "hybrid"):
            raise ConfigError(f"unknown mode '{m}' (choose from all, bm25, dense, hybrid)",
                              field="--mode")
    if backend not in ("builtin", "lancedb"):
        raise ConfigError(f"unknown retrieval backend '{backend}' (choose from builtin, lancedb)",
                          field="--backend")
    store = ReferenceStore.load(*corpus)
    query_cases = ReferenceStore.load(*queries).cases if queries else None
    summaries = evaluate_retrieval(
        store, query_cases, modes=modes, ks=ks,
        fields=[f.strip() for f in fields.split(",") if f.strip()], cache_dir=cache_dir,
        backend={"backend": backend, "uri": uri, "table": table_name} if backend != "builtin" else None,
    )
    if as_json:
        console.print_json(json.dumps({s.mode: s.to_dict() for s in summaries}))
        return 0
    setting = "leave-one-out" if query_cases is None else f"{len(query_cases)} queries"
    table = Table(title=f"Retrieval over {len(store)} references ({setting}, {backend})",
                  caption="queries: counted; absent: queries whose label no reference has "
                  "(not counted as misses)")
    table.add_column("mode")
    for kk in ks:
        table.add_column(f"hit@{kk}", justify="right")
    table.add_column("MRR", justify="right")
    table.add_column(f"nDCG@{ks[-1]}", justify="right")
    table.add_column("queries", justify="right")
    table.add_column("absent", justify="right")
    for s in summaries:
        table.add_row(s.mode, *(f"{s.hit_at[kk]:.3f}" for kk in ks), f"{s.mrr:.3f}",
                      f"{s.ndcg:.3f}", str(s.queries), str(s.no_label_in_corpus))
    console.print(table)
    return 0


def register(app: typer.Typer) -> None:
    """Add `drafting retrieve` to the app and `retrieval` to the `drafting eval` group."""
    from drafting.cli.evaluate import eval_app

    app.command("retrieve")(retrieve)
    eval_app.command("retrieval")(eval_retrieval)
