"""Reference retrieval on LanceDB: BM25 full-text search and MiniLM vectors in one engine table.

The same code runs embedded (a directory on local disk: the engine runs in this process, its Rust
core reading memory-mapped files, so a million cases cost the drafting process little memory) and
against shared or distributed deployments: ``uri`` may be a local path, an object-store URL
(``s3://bucket/prefix``, ``gs://``, ``az://``, read by many drafting processes at once) or a
LanceDB Enterprise / Cloud database (``db://name``, with an API key and ``host_override`` for a
self-hosted cluster). Only the URI changes.

The engine holds what search needs, per reference case: its id, the indexed text, its MiniLM
vector, a content hash and the filter fields (modalities, regions, sex, age). The gold reports
stay in the case store (`ReferenceStore`): a hit is resolved there by id, so the engine never
becomes the only copy of a reference.

Lexical and dense results are fused exactly as the built-in index fuses them (weighted reciprocal
rank, `RRF_K` and `WEIGHTS`, each list `FUSION_DEPTH` deep), so the two backends rank alike and
differ only in BM25 tokenisation (the engine's English stemmer and stop words), in long queries
(the engine's full-text search gets only their `MAX_QUERY_TERMS` rarest distinct terms) and, on
large tables, approximate vector search.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from drafting.cases import ReferenceStore
from drafting.errors import ConfigError
from drafting.retrieval.index import EmbedFn
from drafting.retrieval.lancedb_index import (
    DEFAULT_TABLE,
    ProgressFn,
    SyncReport,
    bulk_load,
    connect,
    default_uri,
    read_table_meta,
    sql_in_list,
    sql_string,
    sync_table,
    table_names,
)
from drafting.retrieval.query_terms import TermStats
from drafting.retrieval.retriever import (
    FUSION_DEPTH,
    RRF_K,
    WEIGHTS,
    Filters,
    Hit,
    SearchBackend,
    normalise_modality,
    resolve_mode,
    stored_case,
)
from drafting.retrieval.text import check_fields

log = logging.getLogger(__name__)

#: The full-text query keeps the words of its this many rarest distinct terms (stop words not
#: counted). A case text has ~55 distinct words at the median and up to ~250: the cap trims the
#: long queries that made the slowest searches (at 1M rows, full-text p95 97 -> 45 ms, p50 28 ->
#: 24 ms). On MedPix, hybrid MRR went 0.362 -> 0.387 (train leave-one-out) and 0.271 -> 0.264
#: (dev, 12 queries); 32 and 48 were faster still, 32 cost dev a top-1 hit.
MAX_QUERY_TERMS = 64
#: Rows sampled to estimate document frequencies for `MAX_QUERY_TERMS`.
TERM_SAMPLE_ROWS = 20_000
#: Up to this many excluded ids are dropped from fetched lists; more go to the engine as a
#: prefilter (fetching thousands of extra rows would cost more than the predicate).
MAX_POST_EXCLUDE = 64

__all__ = ["DEFAULT_TABLE", "LanceRetriever", "SyncReport", "bulk_load", "connect", "default_uri",
           "sync_table", "where_clause"]


# --- search --------------------------------------------------------------------------------------


def where_clause(filters: Filters | None, exclude: Sequence[str]) -> str | None:
    """The SQL predicate for filters and excluded ids, or None when nothing restricts."""
    parts: list[str] = []
    if filters is not None and not filters.is_empty():
        if filters.modality:
            parts.append(f"modalities LIKE {sql_string('%|' + normalise_modality(filters.modality) + '|%')}")
        if filters.region:
            region = filters.region.strip().lower().replace("%", "").replace("_", " ")
            parts.append(f"regions LIKE {sql_string('%' + region + '%')}")
        if filters.sex:
            parts.append(f"sex = {sql_string(filters.sex.strip().lower())}")
        if filters.age:
            low, high = filters.age
            parts.append("age IS NOT NULL")
            if low is not None:
                parts.append(f"age >= {int(low)}")
            if high is not None:
                parts.append(f"age <= {int(high)}")
    if exclude:
        parts.append(f"case_id NOT IN {sql_in_list(sorted(set(exclude)))}")
    return " AND ".join(parts) or None


class LanceRetriever(SearchBackend):
    """Similar reference cases from a LanceDB table, resolved in a case store.

    The same interface as the built-in `Retriever` (``search``, ``store``, ``mode``,
    ``from_cache``). Build one with `LanceRetriever.open`.

    Args:
        store: Resolves hit ids to cases (their gold stays here, not in the engine).
        table: The open LanceDB table.
        mode: "bm25", "dense" or "hybrid".
        embed_fn: Embeds a query text (dense and hybrid modes).
        fields: The indexed fields the table was built with.
        nprobes: IVF partitions probed per vector query (only with a vector index; a corpus of
            1M rows has about 120 partitions of ~8,000).
        refine_factor: Candidates re-ranked with exact vectors, as a multiple of the depth.
        max_query_terms: The full-text query keeps the words of its this many rarest distinct
            terms (document frequencies sampled from the table, see `TermStats`); None or 0
            sends the whole text.
    """

    def __init__(self, store: Any, table: Any, *, mode: str, embed_fn: EmbedFn | None,
                 fields: Sequence[str] = ("input",), rrf_k: int = RRF_K,
                 weights: Mapping[str, float] | None = None, nprobes: int = 20,
                 refine_factor: int = 5, max_query_terms: int | None = MAX_QUERY_TERMS,
                 from_cache: bool = True):
        self.store = store
        self.table = table
        self.mode = mode
        self.fields = tuple(fields)
        self.rrf_k = rrf_k
        self.weights = {**WEIGHTS, **(weights or {})}
        self.nprobes = nprobes
        self.refine_factor = refine_factor
        self.max_query_terms = max_query_terms
        self._term_stats: TermStats | None = None
        self._stats_lock = threading.Lock()
        self.from_cache = from_cache
        self._embed_fn = embed_fn
        self._executor: ThreadPoolExecutor | None = None
        self.sync_report: SyncReport | None = None

    @classmethod
    def open(
        cls,
        store: Any,
        *,
        uri: str | None = None,
        table: str = DEFAULT_TABLE,
        mode: str = "auto",
        fields: Sequence[str] = ("input",),
        sync: bool = True,
        embed_fn: EmbedFn | None = None,
        model_name: str | None = None,
        api_key: str | None = None,
        host_override: str | None = None,
        storage_options: Mapping[str, str] | None = None,
        progress: ProgressFn | None = None,
        **options: Any,
    ) -> LanceRetriever:
        """Connect to the engine, bring its table up to date with ``store`` (when ``sync``), and
        return a retriever.

        Args:
            store: The reference cases (a `ReferenceStore`), or with ``sync=False`` anything with
                ``get(case_id)`` and ``in`` that resolves the ids the table holds.
            uri: The database (see `connect`); None for the embedded default.
            table: The table name.
            mode: "bm25", "dense", "hybrid" or "auto" (hybrid when the embeddings extra is there).
            fields: Indexed fields (must match the table's).
            sync: Update the table from ``store`` first (embeds only new or changed cases).
                False for a table another process maintains (``drafting cases index``).
            embed_fn: Texts to unit vectors; default MiniLM.
            model_name: Names ``embed_fn``; must match the table's model.
            api_key: For ``db://`` URIs (default ``$LANCEDB_API_KEY``).
            host_override: A self-hosted LanceDB Enterprise endpoint.
            storage_options: Object-store settings.
            progress: ``(done, total)`` callback while syncing.
            **options: ``rrf_k``, ``weights``, ``nprobes``, ``refine_factor``,
                ``max_query_terms``.

        Raises:
            ConfigError: Unknown mode, a missing table (with ``sync=False``), a table built with
                another model or fields, or LanceDB not installed.
        """
        from drafting import embeddings

        mode, can_embed = resolve_mode(mode, embed_fn)
        fields = check_fields(fields)
        query_embed = embed_fn
        if query_embed is None and can_embed:
            query_embed = embeddings.embed
        name = model_name or (embeddings.MODEL_NAME if embed_fn is None else "custom")
        db = connect(uri, api_key=api_key, host_override=host_override,
                     storage_options=storage_options)
        report = None
        if sync:
            if not isinstance(store, ReferenceStore):
                raise ConfigError("syncing the engine table needs a ReferenceStore of the corpus",
                                  field="retrieval.sync")
            report = sync_table(db, store.cases, table=table, fields=fields,
                                embed_fn=embed_fn, model_name=name, progress=progress)
        if table not in table_names(db):
            raise ConfigError(f"no table '{table}' at {uri or default_uri()}: build it with "
                              "drafting cases index CORPUS --backend lancedb",
                              field="retrieval.table")
        tbl = db.open_table(table)
        meta = read_table_meta(tbl)
        if meta.get("drafting.model", name) != name and mode != "bm25":
            raise ConfigError(f"engine table '{table}' holds {meta.get('drafting.model')} vectors, "
                              f"not {name}", field="retrieval.table")
        if mode != "bm25" and query_embed is None:
            raise ConfigError(f"retrieval mode '{mode}' needs the 'embeddings' extra: "
                              "pip install 'drafting[embeddings]'", field="mode")
        r = cls(store, tbl, mode=mode, embed_fn=query_embed, fields=fields,
                from_cache=not (report and report.changed), **options)
        r.sync_report = report
        if r.mode in ("bm25", "hybrid") and r.max_query_terms:
            r._pool().submit(r.term_stats)  # in the background: ready by the first query
        return r

    def _search(
        self, text: str, k: int, flt: Filters | None, exclude: list[str],
        query_vector: np.ndarray | None,
    ) -> list[Hit]:
        depth = max(k, FUSION_DEPTH) if self.mode == "hybrid" else k
        # Excluded ids (at least the query's own) are dropped from the fetched lists rather than
        # sent to the engine as `case_id NOT IN (...)`: a prefilter makes the engine evaluate the
        # predicate over every row before it searches (at 1M rows it tripled the vector search
        # and doubled the full-text search), while fetching a few more rows costs nothing.
        skip = set(exclude)
        if len(skip) > MAX_POST_EXCLUDE:
            where, skip = where_clause(flt, exclude), set()
        else:
            where = where_clause(flt, ())
        lists: dict[str, list[tuple[str, float]]] = {}
        if self.mode in ("dense", "hybrid") and query_vector is None:
            query_vector = self._embed_fn([text])[0]  # type: ignore[misc]
        lexical = None
        if self.mode in ("bm25", "hybrid") and text.strip():
            # The engine releases the GIL while it searches: both lists are fetched at once.
            lexical = self._pool().submit(self._fts, text, depth, where, skip)
        if self.mode in ("dense", "hybrid"):
            lists["dense"] = self._dense(np.asarray(query_vector, dtype=np.float32), depth, where,
                                         skip)
        if self.mode in ("bm25", "hybrid"):
            lists["bm25"] = lexical.result() if lexical is not None else []
        lists = {name: lists[name] for name in ("bm25", "dense") if name in lists}
        if self.mode == "hybrid":
            ranked = self._fuse(lists)
        else:
            (name, pairs), = lists.items()
            ranked = [(cid, score, {name: r}) for r, (cid, score) in enumerate(pairs, start=1)]
        hits: list[Hit] = []
        for cid, score, ranks in ranked:
            case = stored_case(self.store, cid, flt, missing="engine hit %s is not in the case "
                               "store (index out of date?); skipped")
            if case is None:
                continue
            hits.append(Hit(case_id=cid, title=case.title, score=score, rank=len(hits) + 1,
                            retrievers=[n for n in ("bm25", "dense") if n in ranks], ranks=ranks,
                            mode=self.mode))
            if len(hits) == k:
                break
        return hits

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lancedb-fts")
        return self._executor

    def _fts(self, text: str, depth: int, where: str | None,
             skip: Set[str] = frozenset()) -> list[tuple[str, float]]:
        """The BM25 list: ``(case_id, score)``, best first, ``depth`` long at most.

        Args:
            text: The query text.
            depth: How many hits to return.
            where: A SQL prefilter, or None.
            skip: Case ids to leave out of the list.
        """
        from lancedb.query import MatchQuery

        if self.max_query_terms:
            text = self.term_stats().prune(text, self.max_query_terms)
        # MatchQuery is a pydantic model whose defaulted fields mypy's plugin cannot see.
        query = MatchQuery(text, "text")  # type: ignore[call-arg]
        q = self.table.search(query, query_type="fts")
        if where:
            q = q.where(where, prefilter=True)
        got = q.select(["case_id", "_score"]).limit(depth + len(skip)).to_arrow()
        return _pairs(got, "_score", lambda s: s, skip)[:depth]

    def term_stats(self) -> TermStats:
        """Document frequencies of the table's terms, estimated on first use from up to
        `TERM_SAMPLE_ROWS` rows spread evenly over the table (all rows of a smaller table);
        empty (pruning nothing) when the table cannot be sampled."""
        with self._stats_lock:
            if self._term_stats is None:
                try:
                    self._term_stats = TermStats.from_texts(self._sample_texts())
                except Exception as exc:  # noqa: BLE001 - e.g. a remote table without take
                    log.warning("cannot sample the engine table for term statistics (%s): "
                                "full-text queries are sent whole", exc)
                    self._term_stats = TermStats({}, 0)
            return self._term_stats

    def _sample_texts(self, chunk: int = 2_000) -> Iterator[str]:
        """Up to `TERM_SAMPLE_ROWS` texts spread evenly over the table, read ``chunk`` rows at
        a time (the whole sample at once raised the peak RSS ~40 MiB more at 1M rows)."""
        rows = self.table.count_rows()
        step = max(1.0, rows / TERM_SAMPLE_ROWS)
        offsets = sorted({int(i * step) for i in range(min(rows, TERM_SAMPLE_ROWS))})
        for lo in range(0, len(offsets), chunk):
            got = self.table.take_offsets(offsets[lo:lo + chunk]).select(["text"]).to_arrow()
            yield from got.column("text").to_pylist()

    def _dense(self, vector: np.ndarray, depth: int, where: str | None,
               skip: Set[str] = frozenset()) -> list[tuple[str, float]]:
        """The vector list: ``(case_id, cosine similarity)``, best first, ``depth`` long at most.

        Args:
            vector: The query's unit vector.
            depth: How many hits to return.
            where: A SQL prefilter, or None.
            skip: Case ids to leave out of the list.
        """
        q = self.table.search(vector, vector_column_name="vector").distance_type("cosine")
        q = q.nprobes(self.nprobes).refine_factor(self.refine_factor)
        if where:
            q = q.where(where, prefilter=True)
        got = q.select(["case_id", "_distance"]).limit(depth + len(skip)).to_arrow()
        return _pairs(got, "_distance", lambda d: 1.0 - d, skip)[:depth]

    def _fuse(self, lists: Mapping[str, list[tuple[str, float]]]
              ) -> list[tuple[str, float, dict[str, int]]]:
        fused: dict[str, float] = {}
        ranks: dict[str, dict[str, int]] = {}
        for name, pairs in lists.items():
            w = self.weights.get(name, 1.0)
            for r, (cid, _score) in enumerate(pairs, start=1):
                fused[cid] = fused.get(cid, 0.0) + w / (self.rrf_k + r)
                ranks.setdefault(cid, {})[name] = r
        order = sorted(fused, key=lambda c: (-fused[c], min(ranks[c].values()), c))
        return [(c, fused[c], ranks[c]) for c in order]


def _pairs(got: Any, score_col: str, convert: Callable[[float], float],
           skip: Set[str] = frozenset()) -> list[tuple[str, float]]:
    ids = got.column("case_id").to_pylist()
    scores = got.column(score_col).to_pylist()
    # Ties (equal scores) by id, so results do not depend on fragment order.
    pairs = [(cid, float(convert(s))) for cid, s in zip(ids, scores, strict=True)
             if cid not in skip]
    return sorted(pairs, key=lambda p: (-p[1], p[0]))
