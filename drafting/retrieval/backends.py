"""Which retrieval backend drafts are grounded through, chosen by configuration.

- ``builtin`` (default): the in-process index (bm25s + MiniLM matrix, `Retriever`), cached on disk.
- ``lancedb``: the LanceDB engine (`LanceRetriever`): embedded in this process on a local
  directory, or the same code against object storage or a LanceDB Enterprise cluster.
- ``langchain``: any LangChain vector store or retriever (`LangChainSource`), named by a
  ``module:function`` factory that takes the case store and returns it.

Every backend answers ``search(query, k, filters, exclude_ids)`` with `Hit` objects and resolves
hits in the same case store.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drafting.errors import ConfigError

BACKENDS = ("builtin", "lancedb", "langchain")


class RetrievalConfig(BaseModel):
    """Retrieval settings, as a suite's ``drafter.retrieval`` block or the CLI's options.

    Attributes:
        backend: "builtin", "lancedb" or "langchain".
        mode: "auto", "bm25", "dense" or "hybrid" (builtin and lancedb).
        uri: lancedb: a directory (embedded), ``s3://...`` or ``db://...``; None for the default
            embedded location under the cache directory.
        table: lancedb: the table name.
        sync: lancedb: update the table from the corpus before searching (embeds only new or
            changed cases). False for a table maintained elsewhere (``drafting cases index``).
        host_override: lancedb: the URL of a self-hosted LanceDB Enterprise cluster.
        factory: langchain: ``module:function`` taking the case store, returning a LangChain
            ``VectorStore`` or ``BaseRetriever`` whose documents carry ``case_id`` metadata.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    backend: Literal["builtin", "lancedb", "langchain"] = "builtin"
    mode: str = "auto"
    uri: str | None = None
    table: str = Field("reference_cases", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
    sync: bool = True
    host_override: str | None = None
    factory: str | None = None


def open_retriever(store: Any, config: RetrievalConfig | dict[str, Any] | None = None,
                   *, cache_dir: str | Path | None = None, **options: Any) -> Any:
    """A retriever over ``store`` on the configured backend.

    Args:
        store: The reference cases (a `ReferenceStore`).
        config: A `RetrievalConfig`, a mapping of its fields, or None for the built-in default.
        cache_dir: builtin: the index cache root.
        **options: Passed to the backend's constructor (e.g. ``embed_fn``, ``progress``).

    Raises:
        ConfigError: An unknown backend or option, or a backend that cannot start.
    """
    cfg = _coerce(config)
    if cfg.backend == "lancedb":
        from drafting.retrieval.lancedb_backend import LanceRetriever

        return LanceRetriever.open(store, uri=cfg.uri, table=cfg.table, mode=cfg.mode,
                                   sync=cfg.sync, host_override=cfg.host_override, **options)
    if cfg.backend == "langchain":
        from drafting.retrieval.langchain import LangChainSource

        if not cfg.factory:
            raise ConfigError("the langchain backend needs a factory (module:function)",
                              field="retrieval.factory")
        return LangChainSource(_import(cfg.factory)(store), store)
    from drafting.retrieval.retriever import Retriever

    return Retriever.from_store(store, mode=cfg.mode, cache_dir=cache_dir, **options)


def _coerce(config: RetrievalConfig | dict[str, Any] | None) -> RetrievalConfig:
    if config is None:
        return RetrievalConfig()
    if isinstance(config, RetrievalConfig):
        return config
    from pydantic import ValidationError

    try:
        return RetrievalConfig.model_validate(config)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{err['msg']}", field=f"retrieval.{where}") from None


def _import(spec: str) -> Any:
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ConfigError(f"expected module:function, got '{spec}'", field="retrieval.factory")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot import '{spec}' ({exc})", field="retrieval.factory") from None
    return obj


def index_corpus(store: Any, *, backend: str = "lancedb", uri: str | None = None,
                 table: str = "reference_cases", rebuild: bool = False, prune: bool = True,
                 progress: Any = None, cache_dir: str | Path | None = None) -> str:
    """Build or update a backend's index of ``store``; returns a one-line summary.

    Args:
        store: The reference corpus (a `ReferenceStore`).
        backend: "lancedb" (the engine table) or "builtin" (the on-disk index cache).
        uri: lancedb: the database (None: the embedded default).
        table: lancedb: the table name.
        rebuild: lancedb: drop the table first.
        prune: lancedb: delete rows of cases no longer in ``store``.
        progress: lancedb: ``(done, total)`` callback while embedding and writing.
        cache_dir: builtin: the cache root.

    Raises:
        ConfigError: An unknown backend, or a table built with another model or fields.
    """
    if backend == "builtin":
        from drafting.retrieval.retriever import Retriever

        r = Retriever.from_store(store, mode="auto", cache_dir=cache_dir)
        state = "already up to date" if r.from_cache else f"built ({'+'.join(r.index.built)})"
        return f"builtin index of {len(store)} cases {state} in {r.index.seconds:.1f}s"
    if backend != "lancedb":
        raise ConfigError(f"unknown index backend '{backend}' (choose from builtin, lancedb)",
                          field="backend")
    from drafting.retrieval.lancedb_backend import connect, default_uri, sync_table

    db = connect(uri)
    rep = sync_table(db, store.cases, table=table, rebuild=rebuild, prune=prune,
                     progress=progress)
    return (f"lancedb table '{table}' at {uri or default_uri()}: {rep.rows} rows; "
            f"{rep.added} added, {rep.updated} updated, {rep.deleted} deleted in {rep.seconds:.1f}s")
