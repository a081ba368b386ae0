"""What every storage backend shares: the :class:`Collection` interface, the ingest loop
(documents cut into passages, encoded, written a whole document at a time, undone on
failure) and the one search path (vector, text or hybrid passages -> documents -> the
"no good match" minimum -> the sentence that answers).

A backend subclasses :class:`Collection` and implements its small set of primitives
(``_write``, ``_stored_docs``, ``_vector_search``, ``_text_search``, ...); everything a user
calls lives here once, so both backends behave the same and one test suite checks both.
Opening and creating by location is in :mod:`sentvec.store` (this module imports no backend).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from sentvec.documents import Chunker, Chunking, Passage, passage_id
from sentvec.errors import InvalidChoiceError, SentvecError
from sentvec.io import Record
from sentvec.store import filters as flt
from sentvec.store import recall
from sentvec.store import search as steps
from sentvec.store.columns import check_metadata, check_passage_text, coerce
from sentvec.store.errors import ModelMismatchError
from sentvec.store.hits import Hit, Hits
from sentvec.store.search import QueryEncoder

if TYPE_CHECKING:
    from sentvec.encoder import Encoder

SEARCH_MODES = ("vector", "text", "hybrid")
METRICS = ("cosine", "dot")
# Past this many passages an approximate index is built after ingest. Measured (BENCHMARKS.md,
# 2-core CPU, 384-d): exact top-10 takes ~20 ms at 20k rows and ~125-220 ms at 100k.
AUTO_INDEX_ROWS = 50_000


@dataclass
class IngestReport:
    """What an ingest did, in documents: inserted, replaced, skipped (id already stored); and
    the passages it wrote."""

    added: int = 0
    updated: int = 0
    skipped: int = 0
    passages: int = 0


@runtime_checkable
class Store(Protocol):
    """The collection interface every backend implements (see :class:`Collection`)."""

    name: str
    meta: dict[str, Any]

    def add(self, records: Iterable[Record], encoder: Encoder, **kw: Any) -> IngestReport: ...
    def upsert(self, records: Iterable[Record], encoder: Encoder, **kw: Any) -> IngestReport: ...
    def delete(
        self,
        ids: Sequence[str] | None = None,
        where: str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> int: ...
    def search(self, text: str | None = None, k: int = 10, **kw: Any) -> Hits: ...
    def count(self, where: str | None = None, filters: Mapping[str, Any] | None = None) -> int: ...
    def info(self) -> dict[str, Any]: ...
    def versions(self) -> list[dict[str, Any]]: ...
    def restore(self, version: int) -> None: ...
    def drop(self) -> None: ...


def encoder_metric(encoder: Encoder) -> str:
    """The collection metric for an encoder's similarity (``cosine`` unless it is ``dot``)."""
    sim = encoder.spec.similarity
    return sim if sim in METRICS else "cosine"


class Collection(ABC):
    """A named, persistent collection of documents, stored as passages with their vectors.

    Where it lives decides the backend: a folder gives LanceDB (embedded, the default), a
    ``postgresql://`` URI gives PostgreSQL with pgvector. Open one with
    :func:`sentvec.store.open_collection`, make one with :func:`sentvec.store.for_encoder`.

    >>> col = sentvec.store.for_encoder("./db", "help", encoder)
    >>> col.add(records, encoder)         # long documents become passages; idempotent by id
    >>> hits = col.search("reset password", k=3, encoder=encoder)
    >>> hits[0].title, hits[0].score, hits[0].answer_text
    """

    name: str
    meta: dict[str, Any]
    location: str
    backend: str = ""

    def check_model(self, encoder: Any) -> None:
        """Raise :class:`ModelMismatchError` unless ``encoder`` made this collection's vectors."""
        self._check_fingerprint(encoder.name, encoder.fingerprint)

    def _check_fingerprint(self, model: str, fingerprint: str) -> None:
        if fingerprint != self.meta["fingerprint"]:
            raise ModelMismatchError(
                self.name, self.meta["model"], self.meta["fingerprint"], model, fingerprint
            )

    def close(self) -> None:  # noqa: B027  (a no-op unless the backend holds a connection)
        """Release the backend's connection (a no-op for LanceDB)."""

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- backend primitives ---------------------------------------------------------------------

    @classmethod
    @abstractmethod
    def _create(
        cls, location: Any, name: str, meta: dict[str, Any], exist_ok: bool
    ) -> Collection: ...

    @classmethod
    @abstractmethod
    def _open(cls, location: Any, name: str) -> Collection: ...

    @abstractmethod
    def _stored_docs(self) -> set[str]:
        """Every stored document id."""

    @abstractmethod
    def _write(
        self, passages: list[Passage], vectors: np.ndarray, upsert: bool
    ) -> tuple[int, int, int]:
        """Store whole documents atomically, one transaction for the batch: insert the
        documents not stored yet (others are skipped), or with ``upsert`` replace every
        passage of a stored document. Safe under concurrent writers.

        :return: (documents inserted, documents replaced, passages written).
        """

    @abstractmethod
    def _begin_ingest(self) -> Any:
        """Note what is needed to undo the coming writes; return it."""

    @abstractmethod
    def _undo_ingest(self, state: Any) -> None:
        """Put the collection back as it was at :meth:`_begin_ingest`."""

    @abstractmethod
    def _count(self, node: flt.Node | None) -> int:
        """Documents matching ``node`` (all for None)."""

    @abstractmethod
    def _count_passages(self) -> int:
        """Stored passages."""

    @abstractmethod
    def _delete(self, node: flt.Node) -> int:
        """Delete every passage of the documents matching ``node``; return documents deleted."""

    @abstractmethod
    def _vector_search(
        self, vector: np.ndarray, k: int, node: flt.Node | None, exact: bool | None
    ) -> list[Hit]:
        """The ``k`` passages nearest the vector, best first."""

    @abstractmethod
    def _text_search(self, text: str, k: int, node: flt.Node | None) -> list[Hit]:
        """The ``k`` passages best matching the words of ``text`` (title included)."""

    @abstractmethod
    def _documents(self, ids: Sequence[str]) -> list[Hit]:
        """Whole documents (``text`` = the document's text) of these ids."""

    @abstractmethod
    def _vectors(self, pids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these passages."""

    @abstractmethod
    def _scan(self, batch_size: int = 65536) -> Iterator[tuple[list[str], np.ndarray]]:
        """Every (passage keys, vectors) batch of the collection."""

    @abstractmethod
    def _save_meta(self) -> None: ...

    @abstractmethod
    def refresh_indexes(self, auto_index_rows: int | None = AUTO_INDEX_ROWS) -> None:
        """After writes: text index up to date, approximate vector index once large enough."""

    @abstractmethod
    def build_index(self, **settings: Any) -> dict[str, Any]:
        """Build the approximate vector index and measure its recall@10."""

    @abstractmethod
    def versions(self) -> list[dict[str, Any]]:
        """Earlier versions of the collection that :meth:`restore` can return to."""

    @abstractmethod
    def restore(self, version: int) -> None:
        """Make an earlier version the current one (itself a new version)."""

    @abstractmethod
    def drop(self) -> None:
        """Delete the collection and everything in it."""

    @abstractmethod
    def info(self) -> dict[str, Any]:
        """Name, location, size, model, metric, filter columns and the index with its recall."""

    # -- writing --------------------------------------------------------------------------------

    def chunker(self, encoder: Encoder, chunking: Chunking | None = None) -> Chunker:
        """The chunker for this collection: ``chunking`` if given (then recorded), else the
        settings the collection recorded, else the defaults for the model."""
        if chunking is None:
            recorded = self.meta.get("chunking")
            chunking = Chunking.from_settings(recorded) if recorded else Chunking()
        chunker = Chunker(encoder.tokenizer, encoder.max_seq_length, chunking)
        if self.meta.get("chunking") != chunker.config:
            self.update_meta(chunking=chunker.config)
        return chunker

    def add(
        self,
        records: Iterable[Record],
        encoder: Encoder,
        *,
        upsert: bool = False,
        batch_size: int = 256,
        total: int | None = None,
        show_progress: bool | None = None,
        chunking: Chunking | None = None,
    ) -> IngestReport:
        """Cut documents into passages, encode and store them, whole documents at a time.

        Without ``upsert``, documents whose id is stored are skipped before encoding, so
        adding a file twice, or re-running a killed ingest, stores every document once and
        encodes it once. Each batch of whole documents is one atomic write (a kill never
        leaves a document half stored), and concurrent writers never store a document twice.
        If the ingest fails (a bad row, a metadata type change, an unreadable file), the
        collection is put back as it was before the call.

        :param records: the documents (e.g. :func:`sentvec.io.iter_records`); streamed. The
            ``title`` metadata field (see :class:`~sentvec.documents.Chunking`) is embedded
            with every passage.
        :param encoder: the model; must be the collection's own.
        :param upsert: replace every passage of documents whose id is stored.
        :param batch_size: passages encoded and committed together (a longer document is
            committed alone).
        :param total: number of documents, for the progress bar.
        :param show_progress: progress bar; default on from 1,000 documents.
        :param chunking: how documents become passages (default: the collection's recorded
            settings, else windows sized from the model's ``max_seq_length``).
        :return: counts of added, updated and skipped documents, and passages written.
        """
        from tqdm.auto import tqdm

        self.check_model(encoder)
        chunker = self.chunker(encoder, chunking)
        report = IngestReport()
        stored = self._stored_docs()
        show = show_progress if show_progress is not None else (total or 0) >= 1000
        state = self._begin_ingest()

        def flush(pending: dict[str, list[Passage]]) -> None:
            passages = [p for ps in pending.values() for p in ps]
            vectors = encoder.encode([p.embed_text for p in passages], role="document")
            added, updated, written = self._write(passages, vectors, upsert)
            report.added += added
            report.updated += updated
            report.skipped += len(pending) - added - updated
            report.passages += written
            stored.update(pending)
            bar.update(len(pending))
            bar.set_postfix(passages=report.passages, refresh=False)

        try:
            with tqdm(total=total, unit="doc", desc=f"index {self.name}", disable=not show) as bar:
                pending: dict[str, list[Passage]] = {}
                size = 0
                for r in records:
                    if r.id in pending:
                        if not upsert:  # the first of two rows with one id wins
                            report.skipped += 1
                            bar.update(1)
                            continue
                        size -= len(pending.pop(r.id))
                        report.skipped += 1  # the later row replaces it within the batch
                        bar.update(1)
                    elif not upsert and r.id in stored:
                        report.skipped += 1
                        bar.update(1)
                        continue
                    check_metadata(r.id, r.metadata)
                    passages = chunker.passages(r)
                    self._check_passages(passages)
                    pending[r.id] = passages
                    size += len(passages)
                    if size >= batch_size:
                        flush(pending)
                        pending, size = {}, 0
                if pending:
                    flush(pending)
        except Exception:
            self._undo_ingest(state)
            raise
        self.refresh_indexes()
        return report

    def upsert(self, records: Iterable[Record], encoder: Encoder, **kw: Any) -> IngestReport:
        """:meth:`add` with ``upsert=True``: documents whose id is stored are replaced."""
        return self.add(records, encoder, upsert=True, **kw)

    def add_passages(
        self,
        passages: Sequence[Passage],
        vectors: np.ndarray,
        *,
        upsert: bool = False,
        refresh: bool = True,
    ) -> tuple[int, int]:
        """Store passages whose vectors were made elsewhere (by the collection's model, from
        each passage's ``embed_text`` as a document): what the HTTP service does after
        encoding through its batching queue. Every passage of a document must be given.

        :return: (documents inserted, documents replaced).
        """
        passages = list(passages)
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(passages) != len(vectors):
            raise SentvecError(
                f"{len(passages)} passages but {len(vectors)} vectors. Fix: one vector each."
            )
        if not passages:
            return 0, 0
        seen: set[str] = set()
        for p in passages:
            if p.doc_id not in seen:
                check_metadata(p.doc_id, p.metadata)
                seen.add(p.doc_id)
        self._check_passages(passages)
        added, updated, _ = self._write(passages, vectors, upsert)
        if refresh:
            self.refresh_indexes()
        return added, updated

    def add_vectors(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        texts: Sequence[str] | None = None,
        metadata: Sequence[dict[str, Any]] | None = None,
        *,
        upsert: bool = False,
        refresh: bool = True,
    ) -> int:
        """Store vectors made elsewhere, one passage per document (they must come from the
        collection's model).

        :param ids: one document id per vector. :param vectors: (n, dim) float32.
        :param texts: the texts (default empty). :param metadata: one dict per row.
        :param upsert: replace stored documents; else stored ids are skipped.
        :param refresh: update the text and vector indexes afterwards.
        :return: documents written (inserted + replaced).
        """
        texts = texts if texts is not None else [""] * len(ids)
        metas = metadata if metadata is not None else [{} for _ in ids]
        vectors = np.asarray(vectors, dtype=np.float32)
        rows = list(zip(map(str, ids), texts, metas, strict=True))
        # one row per id: the last one for upsert, else the first
        pick: dict[str, int] = {}
        for j, (i, _, _) in enumerate(rows):
            if upsert or i not in pick:
                pick[i] = j
        keep = sorted(pick.values())
        passages = [
            Passage(rows[j][0], 0, rows[j][1], 0, len(rows[j][1]), "", dict(rows[j][2]), rows[j][1])
            for j in keep
        ]
        added, updated = self.add_passages(passages, vectors[keep], upsert=upsert, refresh=refresh)
        return added + updated

    def _check_passages(self, passages: list[Passage]) -> None:
        """Every typed metadata value must fit its column, and no text holds a NUL (checked
        before anything is written)."""
        for p in passages:
            check_passage_text(p.doc_id, {"id": p.doc_id, "text": p.text, "title": p.title})
        for p in passages[:1]:  # one document's passages share its metadata
            for col, kind in self.meta["columns"].items():
                coerce(p.doc_id, p.metadata, col, kind)
        for p in passages[1:]:
            if p.metadata is not passages[0].metadata:
                for col, kind in self.meta["columns"].items():
                    coerce(p.doc_id, p.metadata, col, kind)

    def delete(
        self,
        ids: Sequence[str] | None = None,
        where: str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> int:
        """Delete documents (every passage of each) by id, by a ``where`` condition, or by
        structured ``filters``.

        :param ids: document ids. :param where: one condition, e.g. ``category = 'old'``.
        :param filters: column -> value (a list means any of them).
        :return: documents deleted.
        """
        node = self.filter_node(where, filters)
        if ids:
            ids = _storable(ids)  # an id with a NUL cannot be stored, so it is not there
            if not ids:
                return 0
            id_node = flt.ids_node(ids)
            node = id_node if node is None else ("and", [id_node, node])
        if node is None:
            return 0
        return self._delete(node)

    # -- reading --------------------------------------------------------------------------------

    def filter_node(
        self, where: str | None = None, filters: Mapping[str, Any] | None = None
    ) -> flt.Node | None:
        """Parse ``where`` and ``filters`` against this collection's columns (None if neither)."""
        return flt.combine(where, filters, self.filter_columns())

    def filter_columns(self) -> dict[str, str]:
        """Filterable columns and their kinds (``id`` is the document id)."""
        return {"id": "string", "title": "string", "text": "string", **self.meta["columns"]}

    def columns(self) -> list[str]:
        """Columns a filter can use."""
        return list(self.filter_columns())

    def count(self, where: str | None = None, filters: Mapping[str, Any] | None = None) -> int:
        """Documents in the collection, or documents matching a condition."""
        return self._count(self.filter_node(where, filters))

    def count_passages(self) -> int:
        """Passages in the collection (what the vector index holds)."""
        return self._count_passages()

    def __len__(self) -> int:
        return self._count(None)

    def state_token(self) -> Any:
        """A value that changes whenever the collection's content does (for caches)."""
        return (self._count(None), self._count_passages())

    def search(
        self,
        text: str | np.ndarray | None = None,
        k: int = 10,
        *,
        vector: np.ndarray | Sequence[float] | None = None,
        mode: str = "vector",
        where: str | None = None,
        filters: Mapping[str, Any] | None = None,
        encoder: QueryEncoder | None = None,
        exact: bool | None = None,
        passages: bool = False,
        min_score: float | None = None,
        highlight: bool = True,
    ) -> Hits:
        """The top-k documents for one query, each shown by its best passage.

        :param text: the query's text (a vector here is taken as ``vector``).
        :param k: documents (or passages, with ``passages``).
        :param vector: the query's vector, if already encoded (e.g. by the service's queue);
            else ``encoder`` encodes ``text`` as a query.
        :param mode: ``vector`` (similarity of meaning), ``text`` (full-text, title and
            passage) or ``hybrid`` (both, fused by reciprocal rank).
        :param where: one condition on id, title, text and the metadata columns, e.g.
            ``"category = 'billing' AND year >= 2020"`` (parsed, never pasted as SQL).
        :param filters: structured filters, e.g. ``{"category": "billing"}`` or
            ``{"category": ["billing", "account"]}``; combined with ``where`` by AND.
        :param encoder: the collection's model: encodes a text query, and finds the sentence
            of each hit's passage that answers (``highlight``).
        :param exact: force exact (True) or approximate (False) vector search; default: the
            index when one is built.
        :param passages: return passages (several may come from one document) instead of
            documents.
        :param min_score: hits scoring under it are dropped, and an empty result says "no
            good match" (vector and hybrid; default: the collection's ``min_score``, set per
            model at creation, see :func:`sentvec.store.default_min_score`). 0 or below keeps
            every hit.
        :param highlight: find each hit's answering sentence (needs ``encoder``).
        :return: :class:`Hits`, best first: ``score`` is cosine (or dot) similarity for
            vector and hybrid search (a threshold means the same in both) and the text-match
            score for text search; hybrid hits also carry ``fused`` (0..1) and ``text_score``.
            An empty result carries its ``reason``.
        """
        if text is not None and not isinstance(text, str):  # a vector given positionally
            text, vector = None, text
        if mode not in SEARCH_MODES:
            raise InvalidChoiceError("search mode", mode, SEARCH_MODES)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise SentvecError(f"k must be a positive integer, got {k!r}. Fix: pass k >= 1.")
        k = int(k)
        node = self.filter_node(where, filters)
        steps.check_text(text, mode)
        q: np.ndarray | None = None
        if vector is not None:
            q = steps.check_vector(vector, self.meta["dim"])
        elif mode != "text" or (highlight and encoder is not None):
            q = self._query_vector(text, encoder, needed=mode != "text")
        fetch = steps.passage_ranking(self, mode, text or "", q, node, exact)
        ranked = fetch(k)[:k] if passages else steps.top_documents(fetch, k)
        hits = steps.apply_minimum(self, ranked, mode, min_score, node)
        if highlight and encoder is not None and q is not None and hits:
            steps.highlight(hits, q, encoder, self.meta["metric"])
        return hits

    def _normalise(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if self.meta["metric"] == "cosine":
            x = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
        return x

    def _query_vector(
        self, text: str | None, encoder: QueryEncoder | None, needed: bool = True
    ) -> np.ndarray | None:
        if encoder is None or not text:
            if not needed:
                return None
            raise SentvecError(
                "a text query needs the collection's model to encode it. "
                "Fix: pass encoder=sentvec.load(...) (or vector=, or mode='text')."
            )
        self.check_model(encoder)
        return encoder.encode([text], role="query")[0]

    def document_ids(self) -> list[str]:
        """The ids of every stored document, sorted."""
        return sorted(self._stored_docs())

    def get(self, ids: Sequence[str]) -> list[Hit]:
        """The stored documents with these ids, whole (``text`` is the document's text; any
        order; missing ids are left out)."""
        ids = _storable([str(i) for i in ids]) if ids else []
        return self._documents(ids) if ids else []

    def document(self, doc_id: str) -> Hit | None:
        """One stored document, whole (None if it is not stored)."""
        if not _storable([str(doc_id)]):
            return None
        got = self._documents([str(doc_id)])
        return got[0] if got else None

    def _prepare(self, passages: Sequence[Passage], vectors: np.ndarray) -> np.ndarray:
        """Check the shape and normalise for cosine; return float32 vectors."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(passages), self.meta["dim"]):
            raise SentvecError(
                f"vectors of shape {vectors.shape} for {len(passages)} passages of a "
                f"{self.meta['dim']}-d collection. Fix: use the collection's model."
            )
        return self._normalise(vectors)

    def exact_top_ids(self, queries: np.ndarray, k: int = 10) -> list[list[str]]:
        """Exact top-k passage keys for many queries (see :mod:`sentvec.store.recall`)."""
        return recall.exact_top_ids(self, queries, k)

    def measure_recall(self, sample: int = 100, k: int = 10, seed: int = 0) -> float:
        """Recall@k of the approximate index (see :mod:`sentvec.store.recall`)."""
        return recall.measure_recall(self, sample, k, seed)

    def update_meta(self, **values: Any) -> None:
        """Record more settings with the collection (saved at once)."""
        self.meta.update(values)
        self._save_meta()


def _storable(ids: Sequence[str]) -> list[str]:
    """The ids a store can hold: none with a NUL character (refused when written)."""
    return [i for i in ids if "\x00" not in i]


__all__ = [
    "AUTO_INDEX_ROWS",
    "METRICS",
    "SEARCH_MODES",
    "Collection",
    "IngestReport",
    "QueryEncoder",
    "Store",
    "encoder_metric",
    "passage_id",
]
