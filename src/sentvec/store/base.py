"""What every storage backend shares: the :class:`Collection` interface, the ingest loop
(encode, write, undo on failure), hits and reciprocal rank fusion.

A backend subclasses :class:`Collection` and implements its small set of primitives
(``_write``, ``_stored_ids``, ``_vector_search``, ``_text_search``, ...); everything a user
calls (:meth:`Collection.add`, :meth:`Collection.search`, ...) lives here once, so both
backends behave the same and one test suite checks both.
"""

from __future__ import annotations

import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from sentvec.errors import InvalidChoiceError, SentvecError
from sentvec.io import Record
from sentvec.store import filters as flt
from sentvec.store.errors import MetadataTypeError, ModelMismatchError

if TYPE_CHECKING:
    from sentvec.encoder import Encoder

CORE_COLUMNS = ("id", "text", "vector", "meta")
SEARCH_MODES = ("vector", "text", "hybrid")
METRICS = ("cosine", "dot")
# Past this many rows an approximate index is built after ingest. Measured (BENCHMARKS.md,
# 2-core CPU, 384-d): exact top-10 takes ~20 ms at 20k rows and ~125-220 ms at 100k.
AUTO_INDEX_ROWS = 50_000
RRF_K = 60  # reciprocal rank fusion constant (Cormack et al. 2009)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TYPES = {bool: "bool", int: "int64", float: "float64", str: "string"}


def sentvec_home() -> Path:
    """The user's sentvec folder: ``$SENTVEC_HOME``, else ``~/.cache/sentvec``."""
    env = os.environ.get("SENTVEC_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "sentvec"


def default_root() -> Path:
    """Where named collections live by default: ``sentvec_home()/collections``."""
    return sentvec_home() / "collections"


def is_postgres(location: str | Path) -> bool:
    """True when ``location`` is a PostgreSQL URI (``postgresql://`` or ``postgres://``)."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


@dataclass
class Hit:
    """One search result.

    ``score`` is always on the scale a user can threshold: cosine (or dot) similarity for
    vector and hybrid search, the text-match score for text search. Hybrid hits also carry
    ``fused``: the reciprocal-rank-fusion score scaled to 0..1 (1 = first in both rankings),
    and ``text_score`` (None when the text search did not find the row).
    """

    id: str
    text: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)
    fused: float | None = None
    text_score: float | None = None


@dataclass
class IngestReport:
    """What an ingest did: rows inserted, rows replaced, rows skipped (id already stored)."""

    added: int = 0
    updated: int = 0
    skipped: int = 0


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
    def search(self, query: str | np.ndarray, k: int = 10, **kw: Any) -> list[Hit]: ...
    def count(self, where: str | None = None, filters: Mapping[str, Any] | None = None) -> int: ...
    def info(self) -> dict[str, Any]: ...
    def versions(self) -> list[dict[str, Any]]: ...
    def restore(self, version: int) -> None: ...
    def drop(self) -> None: ...


def check_name(name: str) -> str:
    """A collection name: letters, digits, ``_ - .``, starting with a letter or digit."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise SentvecError(
            f"invalid collection name {name!r}. Fix: use letters, digits, '_', "
            "'-' or '.', starting with a letter or digit (at most 100)."
        )
    return name


def prompt_name(encoder: Encoder, name: str) -> str | None:
    """The model's prompt of that name if it has one (e.g. E5's ``query: ``), else None."""
    return name if name in encoder.spec.prompts else None


def encoder_metric(encoder: Encoder) -> str:
    """The collection metric for an encoder's similarity (``cosine`` unless it is ``dot``)."""
    sim = encoder.spec.similarity
    return sim if sim in METRICS else "cosine"


class Collection(ABC):
    """A named, persistent collection of texts, ids, metadata and vectors.

    Where it lives decides the backend: a folder gives LanceDB (embedded, the default), a
    ``postgresql://`` URI gives PostgreSQL with pgvector. Open with :meth:`open`, make with
    :meth:`create` or :meth:`for_encoder`.

    >>> col = Collection.for_encoder("./db", "faq", encoder)
    >>> col.add(records, encoder)               # idempotent: stored ids are skipped
    >>> col.search("reset password", k=3, encoder=encoder, filters={"category": "account"})
    """

    name: str
    meta: dict[str, Any]
    location: str
    backend: str = ""

    # -- opening (dispatch by location) ---------------------------------------------------------

    @staticmethod
    def _backend(location: str | Path) -> type[Collection]:
        if is_postgres(location):
            from sentvec.store.postgres import PostgresCollection

            return PostgresCollection
        from sentvec.store.lance import LanceCollection

        return LanceCollection

    @classmethod
    def create(
        cls,
        location: str | Path,
        name: str,
        *,
        dim: int,
        model: str,
        fingerprint: str,
        metric: str = "cosine",
        extra: dict[str, Any] | None = None,
        exist_ok: bool = False,
    ) -> Collection:
        """Make an empty collection (or open it if ``exist_ok`` and the model matches).

        :param location: a folder (LanceDB) or a ``postgresql://`` URI.
        :param name: the collection's name.
        :param dim: vector length.
        :param model: name of the model that makes the vectors (shown in errors).
        :param fingerprint: the model's :attr:`Encoder.fingerprint`; other fingerprints are refused.
        :param metric: ``cosine`` or ``dot``.
        :param extra: more settings to record (e.g. the hash of the source file).
        :param exist_ok: open an existing collection instead of failing.
        :return: the collection.
        """
        if metric not in METRICS:
            raise InvalidChoiceError("collection metric", metric, METRICS)
        meta = {
            "name": check_name(name),
            "model": model,
            "fingerprint": fingerprint,
            "dim": int(dim),
            "metric": metric,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "columns": {},
            "index": None,
            **(extra or {}),
        }
        backend = cls._backend(location) if cls is Collection else cls
        col = backend._create(location, name, meta, exist_ok)
        col._check_fingerprint(model, fingerprint)
        return col

    @classmethod
    def open(cls, location: str | Path, name: str) -> Collection:
        """Open an existing collection.

        :raises CollectionNotFoundError: naming the collections that do exist.
        """
        backend = cls._backend(location) if cls is Collection else cls
        return backend._open(location, check_name(name))

    @classmethod
    def exists(cls, location: str | Path, name: str) -> bool:
        """Whether a collection of that name exists at ``location``."""
        return check_name(name) in list_collections(location)

    @classmethod
    def for_encoder(cls, location: str | Path, name: str, encoder: Encoder) -> Collection:
        """Open the collection, or create it for this encoder; refuse another model's vectors."""
        return cls.create(
            location,
            name,
            dim=encoder.dim,
            model=encoder.name,
            fingerprint=encoder.fingerprint,
            metric=encoder_metric(encoder),
            exist_ok=True,
        )

    def check_model(self, encoder: Encoder) -> None:
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
        cls, location: str | Path, name: str, meta: dict[str, Any], exist_ok: bool
    ) -> Collection: ...

    @classmethod
    @abstractmethod
    def _open(cls, location: str | Path, name: str) -> Collection: ...

    @abstractmethod
    def _stored_ids(self) -> set[str]:
        """Every stored id."""

    @abstractmethod
    def _write(self, rows: list[Record], vectors: np.ndarray, upsert: bool) -> tuple[int, int]:
        """Store rows atomically keyed on id (insert-if-absent, or upsert); return
        (inserted, updated). Safe under concurrent writers."""

    @abstractmethod
    def _begin_ingest(self) -> Any:
        """Note what is needed to undo the coming writes; return it."""

    @abstractmethod
    def _undo_ingest(self, state: Any) -> None:
        """Put the collection back as it was at :meth:`_begin_ingest`."""

    @abstractmethod
    def _count(self, node: flt.Node | None) -> int: ...

    @abstractmethod
    def _delete(self, node: flt.Node) -> int: ...

    @abstractmethod
    def _vector_search(
        self, vector: np.ndarray, k: int, node: flt.Node | None, exact: bool | None
    ) -> list[Hit]: ...

    @abstractmethod
    def _text_search(self, text: str, k: int, node: flt.Node | None) -> list[Hit]: ...

    @abstractmethod
    def _get(self, ids: Sequence[str]) -> list[Hit]: ...

    @abstractmethod
    def _vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these ids."""

    @abstractmethod
    def _scan(self, batch_size: int = 65536) -> Iterator[tuple[list[str], np.ndarray]]:
        """Every (ids, vectors) batch of the collection."""

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

    def add(
        self,
        records: Iterable[Record],
        encoder: Encoder,
        *,
        upsert: bool = False,
        batch_size: int = 256,
        total: int | None = None,
        show_progress: bool | None = None,
    ) -> IngestReport:
        """Encode and store records, one committed batch at a time.

        Without ``upsert``, ids already stored are skipped before encoding, so adding a file
        twice, or re-running a killed ingest, stores every row once and encodes it once; each
        batch is an atomic insert-if-absent keyed on id, so concurrent writers never store an
        id twice. If the ingest fails (a bad row, a metadata type change, an unreadable
        file), the collection is put back as it was before the call.

        :param records: the rows (e.g. :func:`sentvec.io.iter_records`); streamed.
        :param encoder: the model; must be the collection's own.
        :param upsert: replace rows whose id is stored (text, metadata and vector).
        :param batch_size: rows encoded and committed together.
        :param total: number of records, for the progress bar.
        :param show_progress: progress bar; default on from 1,000 rows.
        :return: counts of added, updated and skipped rows.
        """
        from tqdm.auto import tqdm

        self.check_model(encoder)
        report = IngestReport()
        stored = self._stored_ids()
        show = show_progress if show_progress is not None else (total or 0) >= 1000
        state = self._begin_ingest()
        try:
            with tqdm(total=total, unit="row", desc=f"index {self.name}", disable=not show) as bar:
                for batch in _batches(records, batch_size):
                    rows = _unique(batch, keep_last=upsert)
                    if not upsert:
                        rows = [r for r in rows if r.id not in stored]
                    added = updated = 0
                    if rows:
                        self._check_rows(rows)
                        prompt = prompt_name(encoder, "document")
                        vectors = encoder.encode([r.text for r in rows], prompt=prompt)
                        added, updated = self._write(rows, vectors, upsert)
                        report.added += added
                        report.updated += updated
                        stored.update(r.id for r in rows)
                    # stored before, repeated in the batch, or written meanwhile by another writer
                    report.skipped += len(batch) - added - updated
                    bar.update(len(batch))
        except Exception:
            self._undo_ingest(state)
            raise
        self.refresh_indexes()
        return report

    def upsert(self, records: Iterable[Record], encoder: Encoder, **kw: Any) -> IngestReport:
        """:meth:`add` with ``upsert=True``: rows whose id is stored are replaced."""
        return self.add(records, encoder, upsert=True, **kw)

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
        """Store vectors made elsewhere (they must come from the collection's model).

        :param ids: one id per vector. :param vectors: (n, dim) float32.
        :param texts: the texts (default empty). :param metadata: one dict per row.
        :param upsert: replace stored ids; else stored ids are skipped.
        :param refresh: update the text and vector indexes afterwards.
        :return: rows written (inserted + replaced).
        """
        texts = texts if texts is not None else [""] * len(ids)
        metas = metadata if metadata is not None else [{} for _ in ids]
        rows = [Record(t, str(i), dict(m)) for i, t, m in zip(ids, texts, metas, strict=True)]
        vectors = np.asarray(vectors, dtype=np.float32)
        # one row per id: the last one for upsert, else the first
        last = {r.id: j for j, r in enumerate(rows)}
        first: dict[str, int] = {}
        for j, r in enumerate(rows):
            first.setdefault(r.id, j)
        keep = sorted((last if upsert else first).values())
        rows, vectors = [rows[j] for j in keep], vectors[keep]
        written = 0
        if rows:
            self._check_rows(rows)
            added, updated = self._write(rows, vectors, upsert)
            written = added + updated
        if refresh:
            self.refresh_indexes()
        return written

    def _check_rows(self, rows: list[Record]) -> None:
        """Every typed metadata value must fit its column (checked before anything is written)."""
        for r in rows:
            for col, kind in self.meta["columns"].items():
                coerce(r, col, kind)

    def delete(
        self,
        ids: Sequence[str] | None = None,
        where: str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> int:
        """Delete rows by id, by a ``where`` condition, or by structured ``filters``.

        :param ids: ids to delete. :param where: one condition, e.g. ``category = 'old'``.
        :param filters: column -> value (a list means any of them).
        :return: rows deleted.
        """
        node = self.filter_node(where, filters)
        if ids:
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
        """Filterable columns and their kinds."""
        return {"id": "string", "text": "string", **self.meta["columns"]}

    def columns(self) -> list[str]:
        """Columns a filter can use."""
        return list(self.filter_columns())

    def count(self, where: str | None = None, filters: Mapping[str, Any] | None = None) -> int:
        """Rows in the collection, or rows matching a condition."""
        return self._count(self.filter_node(where, filters))

    def __len__(self) -> int:
        return self._count(None)

    def search(
        self,
        query: str | np.ndarray,
        k: int = 10,
        *,
        where: str | None = None,
        filters: Mapping[str, Any] | None = None,
        mode: str = "vector",
        encoder: Encoder | None = None,
        exact: bool | None = None,
    ) -> list[Hit]:
        """Top-k rows for one query.

        :param query: text (needs ``encoder`` for vector/hybrid), or a query vector.
        :param k: hits.
        :param where: one condition on id, text and the metadata columns, e.g.
            ``"category = 'billing' AND year >= 2020"`` (parsed, never pasted as SQL).
        :param filters: structured filters, e.g. ``{"category": "billing"}`` or
            ``{"category": ["billing", "account"]}``; combined with ``where`` by AND.
        :param mode: ``vector`` (similarity of meaning), ``text`` (full-text) or ``hybrid``
            (both, fused by reciprocal rank).
        :param encoder: the collection's model, to embed a text query.
        :param exact: force exact (True) or approximate (False) vector search; default: the
            index when one is built.
        :return: hits, best first. ``score`` is cosine (or dot) similarity for vector and
            hybrid search (so a threshold means the same in both) and the text-match score
            for text search; hybrid hits also carry ``fused`` (0..1) and ``text_score``.
        """
        if mode not in SEARCH_MODES:
            raise InvalidChoiceError("search mode", mode, SEARCH_MODES)
        if not isinstance(k, int) or k < 1:
            raise SentvecError(f"k must be a positive integer, got {k!r}. Fix: pass k >= 1.")
        node = self.filter_node(where, filters)
        if mode == "text":
            return self._text_search(_need_text(query, mode), k, node)
        vector = self._query_vector(query, encoder)
        if mode == "vector":
            return self._vector_search(vector, k, node, exact)
        depth = max(50, 5 * k)
        vec = self._vector_search(vector, depth, node, exact)
        txt = self._text_search(_need_text(query, mode), depth, node)
        return self._fuse(vector, vec, txt, k)

    def _fuse(self, vector: np.ndarray, vec: list[Hit], txt: list[Hit], k: int) -> list[Hit]:
        """Hybrid hits: ranked by RRF, scored by cosine (computed for text-only hits too)."""
        fused = rrf([vec, txt], k)
        cosine = {h.id: h.score for h in vec}
        text_score = {h.id: h.score for h in txt}
        missing = [h.id for h in fused if h.id not in cosine]
        if missing:
            q = self._normalise(vector[None, :])[0]
            for i, v in self._vectors(missing).items():
                cosine[i] = float(v @ q)
        best = 2.0 / (RRF_K + 1)  # first in both lists
        return [
            Hit(
                h.id,
                h.text,
                cosine.get(h.id, float("nan")),
                h.metadata,
                fused=round(h.score / best, 6),
                text_score=text_score.get(h.id),
            )
            for h in fused
        ]

    def _normalise(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if self.meta["metric"] == "cosine":
            x = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
        return x

    def _query_vector(self, query: str | np.ndarray, encoder: Encoder | None) -> np.ndarray:
        if not isinstance(query, str):
            vector = np.asarray(query, dtype=np.float32).reshape(-1)
            if vector.shape != (self.meta["dim"],):
                raise SentvecError(
                    f"a query vector of length {vector.size} for a {self.meta['dim']}-d "
                    "collection. Fix: encode the query with the collection's model."
                )
            return vector
        if encoder is None:
            raise SentvecError(
                "a text query needs the collection's encoder. "
                "Fix: pass encoder=sentvec.load(...) (or mode='text')."
            )
        self.check_model(encoder)
        return encoder.encode([query], prompt=prompt_name(encoder, "query"))[0]

    def get(self, ids: Sequence[str]) -> list[Hit]:
        """The stored rows with these ids (any order; missing ids are left out)."""
        return self._get([str(i) for i in ids]) if ids else []

    def _prepare(self, rows: list[Record], vectors: np.ndarray) -> np.ndarray:
        """Check the shape and normalise for cosine; return float32 vectors."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(rows), self.meta["dim"]):
            raise SentvecError(
                f"vectors of shape {vectors.shape} for {len(rows)} rows of a "
                f"{self.meta['dim']}-d collection. Fix: use the collection's model."
            )
        return self._normalise(vectors)

    def exact_top_ids(self, queries: np.ndarray, k: int = 10) -> list[list[str]]:
        """Exact top-k ids for many queries in one pass over the stored vectors (numpy)."""
        q = self._normalise(np.atleast_2d(queries))
        best_s = np.full((len(q), 0), -np.inf, dtype=np.float32)
        best_i = np.empty((len(q), 0), dtype=object)
        for ids_list, v in self._scan():
            ids = np.asarray(ids_list, dtype=object)
            s = np.concatenate([best_s, q @ v.T], axis=1)
            i = np.concatenate([best_i, np.broadcast_to(ids, (len(q), len(ids)))], axis=1)
            kk = min(k, s.shape[1])
            top = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
            top_s = np.take_along_axis(s, top, 1)
            order = np.argsort(-top_s, axis=1, kind="stable")
            best_s = np.take_along_axis(top_s, order, 1)
            best_i = np.take_along_axis(np.take_along_axis(i, top, 1), order, 1)
        return [list(row) for row in best_i]

    def measure_recall(self, sample: int = 100, k: int = 10, seed: int = 0) -> float:
        """Recall@k of the approximate index against exact search. Queries are the normalised
        means of two random stored vectors: near the data, but not in it."""
        rng = np.random.default_rng(seed)
        ids: list[str] = []
        for batch_ids, _ in self._scan():
            ids.extend(batch_ids)
        n = len(ids)
        pick = rng.choice(n, size=(sample, 2), replace=n < 2 * sample)
        lookup = self._vectors(sorted({ids[j] for j in pick.ravel()}))
        queries = np.stack([lookup[ids[a]] + lookup[ids[b]] for a, b in pick])
        queries = self._normalise(queries)
        exact = self.exact_top_ids(queries, k)
        hits = sum(
            len({h.id for h in self._vector_search(q, k, None, False)} & set(e))
            for q, e in zip(queries, exact, strict=True)
        )
        return round(hits / (sample * min(k, n)), 4)

    def update_meta(self, **values: Any) -> None:
        """Record more settings with the collection (saved at once)."""
        self.meta.update(values)
        self._save_meta()


def list_collections(location: str | Path | None = None) -> list[str]:
    """Names of the collections at ``location`` (default :func:`default_root`)."""
    if location is not None and is_postgres(location):
        from sentvec.store.postgres import list_postgres

        return list_postgres(str(location))
    folder = Path(location) if location is not None else default_root()
    return sorted(p.name[: -len(".sentvec.json")] for p in folder.glob("*.sentvec.json"))


def rrf(lists: Sequence[Sequence[Hit]], k: int, constant: int = RRF_K) -> list[Hit]:
    """Reciprocal rank fusion: each id scores sum(1 / (constant + rank)) over the lists.

    :param lists: ranked hit lists (rank 1 first). :param k: hits to return.
    :param constant: the RRF constant (60 in the original paper).
    :return: fused hits, best first, with the raw fused score in ``score``.
    """
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for hits in lists:
        for rank, hit in enumerate(hits, start=1):
            scores[hit.id] = scores.get(hit.id, 0.0) + 1.0 / (constant + rank)
            first.setdefault(hit.id, hit)
    order = sorted(scores, key=lambda i: -scores[i])[:k]
    return [Hit(i, first[i].text, scores[i], first[i].metadata) for i in order]


def define_columns(rows: Iterable[Record]) -> dict[str, str]:
    """Typed filter columns from the scalar metadata fields of the first rows."""
    kinds: dict[str, str] = {}
    for r in rows:
        for key, value in r.metadata.items():
            if key in CORE_COLUMNS or not _FIELD.match(key) or key.upper() in flt._KEYWORDS:
                continue
            if value is None:
                kinds.setdefault(key, "")
                continue
            kind = _TYPES.get(type(value), "json")
            prev = kinds.get(key, "")
            if prev in ("", kind):
                kinds[key] = kind
            elif {prev, kind} == {"int64", "float64"}:
                kinds[key] = "float64"
            else:
                kinds[key] = "json"
    return {k: v for k, v in kinds.items() if v not in ("", "json")}


def coerce(record: Record, column: str, kind: str) -> Any:
    """The record's value for a typed column, or :class:`MetadataTypeError`."""
    value = record.metadata.get(column)
    if value is None:
        return None
    if kind == "float64" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if _TYPES.get(type(value)) != kind:
        raise MetadataTypeError(record.id, column, value, kind)
    return value


def _need_text(query: str | np.ndarray, mode: str) -> str:
    if not isinstance(query, str):
        raise SentvecError(
            f"{mode} search needs the query text, not a vector. "
            "Fix: pass the text and the encoder, or use mode='vector'."
        )
    return query


def _batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for r in records:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _unique(batch: list[Record], keep_last: bool) -> list[Record]:
    """One record per id within a batch (the last one if ``keep_last``, else the first)."""
    seen: dict[str, Record] = {}
    for r in batch:
        if keep_last or r.id not in seen:
            seen[r.id] = r
    return list(seen.values())
