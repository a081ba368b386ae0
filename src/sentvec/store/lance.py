"""The embedded backend: a collection in a LanceDB folder (the default; no server).

On disk a collection is two things under its folder: ``NAME.lance`` (the LanceDB table, one
row per passage: the columns of :mod:`sentvec.store.columns`) and ``NAME.sentvec.json``
(which model made the vectors, the metric, the chunking, the approximate index and its
measured recall). Every batch of whole documents is one atomic merge-insert keyed on the
passage key (retried on a commit conflict), made under a cross-process lock that also
checks which documents are stored, so concurrent writers never store a document twice, an
upsert replaces all of a document's passages in one commit, and a killed ingest loses at
most the batch in flight, never half a document. LanceDB keeps every committed version of
the table: :meth:`versions`
lists them and :meth:`restore` brings one back (versions older than 7 days are pruned when
the table is optimised after an ingest).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from sentvec.documents import Passage
from sentvec.errors import SentvecError, StorageError, storage_error
from sentvec.extras import import_extra
from sentvec.store import filters as flt
from sentvec.store.base import AUTO_INDEX_ROWS, Collection
from sentvec.store.columns import CORE_COLUMNS, LAYOUT, check_name, coerce, define_columns
from sentvec.store.errors import CollectionNotFoundError, FilterError
from sentvec.store.hits import Hit

# IVF cells probed per query: recall@10 >= 0.99 at 100k and 1M rows (BENCHMARKS.md: 0.993
# at 100k, 0.995 at 1M with 1000 cells at 18.8 ms p50; 96 gave 0.991, 64 only 0.974)
NPROBES = 128
INDEX_TYPE = "IVF_FLAT"
HNSW_EF = 100  # HNSW candidates per query for the IVF_HNSW types
_KIND = {"bool": "bool", "int64": "int64", "double": "float64", "string": "string"}
_RETRIES = 20
_HIT_COLUMNS = ["pid", "id", "passage", "text", "title", "char_start", "char_end", "meta"]
# what a collection made before documents (layout 1: one row per text) gets on opening
_MIGRATE = {
    "pid": "concat(id, '#0')",
    "passage": "CAST(0 AS INT)",
    "title": "CAST(NULL AS STRING)",
    "char_start": "CAST(0 AS INT)",
    "char_end": "CAST(character_length(text) AS INT)",
    "document": "text",
}


def list_lance(root: Path) -> list[str]:
    """Names of the collections in a LanceDB folder."""
    names = (p.name[: -len(".sentvec.json")] for p in root.glob("*.sentvec.json"))
    return sorted(n for n in names if _valid(n))


def _valid(name: str) -> bool:
    try:
        check_name(name)
    except SentvecError:
        return False
    return True


def _lancedb() -> Any:
    lancedb = import_extra("lancedb", "store")
    return lancedb


def _arrow_type(kind: str) -> Any:
    import pyarrow as pa

    return {
        "bool": pa.bool_(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "string": pa.string(),
    }[kind]


def _matrix(column: Any, dim: int) -> np.ndarray:
    """A fixed-size-list vector column as an (n, dim) float32 array."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    flat = column.flatten().to_numpy(zero_copy_only=False)
    return np.asarray(flat, dtype=np.float32).reshape(-1, dim)


def _retry(action: Any, what: str) -> Any:
    """Run ``action()``, retrying when another writer committed first (a commit conflict)."""
    for attempt in range(_RETRIES):
        try:
            return action()
        except (RuntimeError, OSError, ValueError) as e:
            text = str(e).lower()
            if "conflict" not in text and "retryable" not in text and "concurrent" not in text:
                raise
            if attempt == _RETRIES - 1:
                raise SentvecError(
                    f"{what} kept conflicting with other writers ({_RETRIES} tries). "
                    "Fix: run it again once the other writers are done."
                ) from e
            time.sleep(0.05 * (attempt + 1) * (1 + np.random.default_rng().random()))
    return None


_F = TypeVar("_F", bound=Callable[..., Any])


def _writes(what: str) -> Callable[[_F], _F]:
    """Turn a full disk, read-only file system or missing permission met by a method that
    writes the store into a :class:`StorageError` naming the store (LanceDB wraps the OS
    error in its own RuntimeError/OSError/ValueError; see :func:`sentvec.errors.storage_errno`)."""

    def decorate(method: _F) -> _F:
        @functools.wraps(method)
        def wrapper(self: LanceCollection, *args: Any, **kw: Any) -> Any:
            try:
                return method(self, *args, **kw)
            except (OSError, RuntimeError, ValueError) as e:
                if isinstance(e, SentvecError) and not isinstance(e, StorageError):
                    raise
                err = storage_error(e, self.root, what)
                if err is None or err is e:
                    raise
                raise err from e

        return wrapper  # type: ignore[return-value]

    return decorate


class LanceCollection(Collection):
    """A collection in a LanceDB folder. Open it through :func:`sentvec.store.open_collection`."""

    backend = "lancedb"

    def __init__(self, root: Path, name: str, meta: dict[str, Any]) -> None:
        self.root, self.name, self.meta = root, name, meta
        self.location = str(root)
        # every read sees other processes' commits (a stale handle would miss their ids)
        self._db = _lancedb().connect(str(root), read_consistency_interval=timedelta(0))
        self._table: Any = None
        self._last_write: int | None = None

    # -- opening --------------------------------------------------------------------------------

    @classmethod
    def _create(
        cls, location: str | Path, name: str, meta: dict[str, Any], exist_ok: bool
    ) -> LanceCollection:
        root = Path(location)
        if (root / f"{name}.sentvec.json").exists():
            if not exist_ok:
                raise SentvecError(
                    f"collection {name!r} already exists in {str(root)!r}. "
                    f"Fix: add to it, or drop it first (`sentvec index drop {name}`)."
                )
            return cls._open(root, name)
        if root.exists() and not root.is_dir():
            raise SentvecError(
                f"the collection store {str(root)!r} is a file, not a folder. "
                "Fix: pass a folder (or a postgresql:// URI) with --store."
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            err = storage_error(e, root, f"creating collection {name!r}")
            if err is None:
                raise
            raise err from e
        col = cls(root, name, meta)
        col._save_meta()
        return col

    @classmethod
    def _open(cls, location: str | Path, name: str) -> LanceCollection:
        root = Path(location)
        path = root / f"{name}.sentvec.json"
        if not path.exists():
            raise CollectionNotFoundError(name, str(root), list_lance(root))
        col = cls(root, name, json.loads(path.read_text(encoding="utf8")))
        if col.meta.get("layout", 1) < LAYOUT:
            col._migrate()
        col._sync_columns()
        return col

    @_writes("migrating the collection")
    def _migrate(self) -> None:
        """Give a collection made before documents (one row per text) the passage columns:
        each stored text becomes a one-passage document with the same id, so every search,
        filter and delete keeps working; ``index upsert`` re-splits long ones."""
        with self._write_lock():
            table = self.table
            if table is not None and "pid" not in table.schema.names:
                _retry(lambda: table.add_columns(_MIGRATE), f"migrating {self.name!r}")
            self.meta["layout"] = LAYOUT
            self.meta.setdefault("chunking", None)
            self._save_meta()

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """An exclusive lock on the collection's writes, across processes (``flock`` on a
        file beside the table; released by the kernel if the writer is killed). Measured
        with two real writers: LanceDB's insert-only merge-insert alone does not stop both
        from inserting the same new id, so the check and the write happen under this lock."""
        try:
            import fcntl
        except ImportError:  # not POSIX: no cross-process lock; merge-insert still dedupes
            yield
            return
        path = self.root / f".{self.name}.write.lock"
        with open(path, "a+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    @property
    def table(self) -> Any:
        """The LanceDB table (created on first write, from the first rows' metadata)."""
        if self._table is None and self.name in self._db.list_tables().tables:
            try:
                self._table = self._db.open_table(self.name)
            except ValueError:  # a kill during creation leaves a folder with no committed version
                return None
        return self._table

    def _sync_columns(self) -> None:
        """Take the typed columns from the table itself (another writer may have made it)."""
        table = self.table
        if table is None:
            return
        cols = {
            f.name: _KIND[str(f.type)]
            for f in table.schema
            if f.name not in CORE_COLUMNS and str(f.type) in _KIND
        }
        if cols != self.meta["columns"]:
            self.meta["columns"] = cols
            self._save_meta()

    @_writes("saving the collection's settings")
    def _save_meta(self) -> None:
        """Write the settings atomically (a temporary file renamed over the old one)."""
        path = self.root / f"{self.name}.sentvec.json"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(self.meta, indent=2), encoding="utf8")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def _schema(self) -> Any:
        import pyarrow as pa

        fields = [
            pa.field("pid", pa.string(), nullable=False),
            pa.field("id", pa.string()),
            pa.field("passage", pa.int32()),
            pa.field("text", pa.string()),
            pa.field("title", pa.string()),
            pa.field("char_start", pa.int32()),
            pa.field("char_end", pa.int32()),
            pa.field("document", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), self.meta["dim"])),
            pa.field("meta", pa.string()),
        ]
        fields += [pa.field(c, _arrow_type(k)) for c, k in self.meta["columns"].items()]
        return pa.schema(fields)

    # -- writing --------------------------------------------------------------------------------

    @_writes("writing documents")
    def _write(
        self, passages: list[Passage], vectors: np.ndarray, upsert: bool
    ) -> tuple[int, int, int]:
        vectors = self._prepare(passages, vectors)
        with self._write_lock():
            return self._write_locked(passages, vectors, upsert)

    def _write_locked(
        self, passages: list[Passage], vectors: np.ndarray, upsert: bool
    ) -> tuple[int, int, int]:
        import pyarrow as pa

        if self.table is None:
            self.meta["columns"] = define_columns(p.metadata for p in passages if p.index == 0)
            self._table = _retry(
                lambda: self._db.create_table(self.name, schema=self._schema(), exist_ok=True),
                f"creating collection {self.name!r}",
            )
            self._sync_columns()  # a concurrent writer may have created it first
            self._save_meta()
            for p in passages:
                self._check_passages([p])
        self.table.checkout_latest()
        docs = list(dict.fromkeys(p.doc_id for p in passages))
        stored = self._existing(docs)  # checked under the lock: no other writer is between
        if not upsert:
            keep = [j for j, p in enumerate(passages) if p.doc_id not in stored]
            passages, vectors = [passages[j] for j in keep], vectors[keep]
        new = len([d for d in docs if d not in stored])
        replaced = len(stored) if upsert else 0
        if not passages:
            return 0, 0, 0
        columns: dict[str, Any] = {
            "pid": [p.id for p in passages],
            "id": [p.doc_id for p in passages],
            "passage": [p.index for p in passages],
            "text": [p.text for p in passages],
            "title": [p.title or None for p in passages],
            "char_start": [p.start for p in passages],
            "char_end": [p.end for p in passages],
            "document": [p.document for p in passages],
            "meta": [json.dumps(p.metadata, ensure_ascii=False, default=str) for p in passages],
        }
        for col, kind in self.meta["columns"].items():
            columns[col] = [coerce(p.doc_id, p.metadata, col, kind) for p in passages]
        schema = self.table.schema
        data = []
        for f in schema:
            if f.name == "vector":
                data.append(
                    pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), self.meta["dim"])
                )
            else:
                data.append(pa.array(columns.get(f.name, [None] * len(passages)), f.type))
        batch = pa.Table.from_arrays(data, schema=schema)
        gone = [d for d in docs if d in stored] if upsert else []

        def merge() -> Any:
            builder = self.table.merge_insert("pid").when_not_matched_insert_all()
            if upsert:
                builder = builder.when_matched_update_all()
            if gone:  # passages of a replaced document that the new version no longer has
                builder = builder.when_not_matched_by_source_delete(
                    flt.to_lance(flt.ids_node(gone))
                )
            return builder.execute(batch)

        result = _retry(merge, f"writing to collection {self.name!r}")
        self._last_write = int(result.version)
        return new, replaced, len(passages)

    def _existing(self, docs: Sequence[str]) -> set[str]:
        """Which of these documents are stored."""
        if self.table is None or not docs:
            return set()
        cond = flt.to_lance(("and", [flt.ids_node(docs), ("cmp", "passage", "=", 0)]))
        got = self.table.search().where(cond).select(["id"]).limit(None).to_arrow()
        return set(got.column("id").to_pylist())

    def _begin_ingest(self) -> Any:
        table = self.table
        self._last_write = None
        return None if table is None else int(table.version)

    @_writes("undoing a failed ingest")
    def _undo_ingest(self, state: Any) -> None:
        table = self.table
        if table is None or self._last_write is None:
            return  # nothing was written
        table.checkout_latest()
        if int(table.version) != self._last_write:
            return  # another writer committed since: keep its rows (re-run to resume)
        if state is None:  # the failed ingest made the table: remove it
            self._db.drop_table(self.name)
            self._table = None
            self.meta["columns"] = {}
            self._save_meta()
        else:
            table.restore(state)
        self._sync_index_meta()

    def _stored_docs(self) -> set[str]:
        if self.table is None:
            return set()
        query = self.table.search().where("passage = 0").select(["id"]).limit(None)
        return {i for b in query.to_batches(65536) for i in b.column("id").to_pylist()}

    def _matching_docs(self, node: flt.Node) -> list[str]:
        cond = flt.to_lance(node)
        try:
            got = self.table.search().where(cond).select(["id"]).limit(None).to_arrow()
        except (ValueError, RuntimeError, OSError) as e:
            raise FilterError(cond, self.columns(), str(e)) from None
        return list(dict.fromkeys(got.column("id").to_pylist()))

    @_writes("deleting documents")
    def _delete(self, node: flt.Node) -> int:
        if self.table is None:
            return 0
        with self._write_lock():
            docs = self._matching_docs(node)
            if docs:  # every passage of each matching document
                cond = flt.to_lance(flt.ids_node(docs))
                _retry(lambda: self.table.delete(cond), f"deleting from {self.name!r}")
        return len(docs)

    # -- indexes --------------------------------------------------------------------------------

    def refresh_indexes(self, auto_index_rows: int | None = AUTO_INDEX_ROWS) -> None:
        """After writes: full-text indexes (passage text and title) made or updated, files
        compacted, and an approximate vector index built once the collection reaches
        ``auto_index_rows`` passages. On a full (or read-only) disk this housekeeping is
        skipped with a warning: the documents are already written, and an add with nothing
        new must not fail for it."""
        try:
            self._refresh_indexes(auto_index_rows)
        except (OSError, RuntimeError, ValueError) as e:
            if isinstance(e, SentvecError) and not isinstance(e, StorageError):
                raise
            err = storage_error(e, self.root, "optimising the collection")
            if err is None:
                raise
            warnings.warn(
                f"skipped optimising collection {self.name!r}: {err}", RuntimeWarning, stacklevel=2
            )

    def _refresh_indexes(self, auto_index_rows: int | None) -> None:
        from lancedb.index import FTS

        table = self.table
        if table is None:
            return
        have = {c for i in table.list_indices() if i.index_type == "FTS" for c in i.columns}
        for column in ("text", "title"):
            if column not in have:
                _retry(
                    lambda c=column: table.create_index(
                        c, config=FTS(with_position=False), replace=True
                    ),
                    "building the text index",
                )
        if have >= {"text", "title"}:
            _retry(table.optimize, "optimising the table")
        if (
            auto_index_rows is not None
            and self.meta.get("index") is None
            and self._count_passages() >= auto_index_rows
        ):
            self.build_index()

    @_writes("building the vector index")
    def build_index(
        self,
        num_partitions: int | None = None,
        nprobes: int | None = None,
        sample: int = 100,
        refine_factor: int | None = None,
        index_type: str = INDEX_TYPE,
        ef: int = HNSW_EF,
        m: int | None = None,
        ef_construction: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """Build the approximate vector index and measure its recall@10 against exact search.

        ``IVF_FLAT``: cells of full vectors, the loss is from cells not probed.
        ``IVF_SQ`` / ``IVF_PQ``: the same cells holding 8-bit scalar-quantised or
        product-quantised vectors (less to read per probe; pair them with ``refine_factor``).
        ``IVF_HNSW_SQ`` / ``IVF_HNSW_FLAT``: an HNSW graph per cell (8-bit scalar-quantised
        or full vectors), searched with ``ef`` candidates.

        :param num_partitions: IVF cells (default: about the square root of the rows for
            IVF_FLAT, one cell per million rows for the HNSW types).
        :param nprobes: cells searched per query (default: 128 for the IVF types, all for
            HNSW).
        :param sample: queries used to measure recall.
        :param refine_factor: re-rank ``refine_factor * k`` candidates on full vectors.
        :param index_type: ``IVF_FLAT``, ``IVF_SQ``, ``IVF_PQ``, ``IVF_HNSW_SQ`` or
            ``IVF_HNSW_FLAT``.
        :param ef: HNSW candidates per query.
        :param m: HNSW neighbours per node (LanceDB's default 20; HNSW types only).
        :param ef_construction: HNSW candidates while building (LanceDB's default 300).
        :return: the index record kept in the collection's settings (``info()['vector_index']``).
        """
        from lancedb.index import HnswFlat, HnswSq, IvfFlat, IvfPq, IvfSq

        kinds = {
            "IVF_FLAT": IvfFlat,
            "IVF_SQ": IvfSq,
            "IVF_PQ": IvfPq,
            "IVF_HNSW_SQ": HnswSq,
            "IVF_HNSW_FLAT": HnswFlat,
        }
        if index_type not in kinds:
            from sentvec.errors import InvalidChoiceError

            raise InvalidChoiceError("index type", index_type, list(kinds))
        n = self._count_passages()
        if n < 256:
            raise SentvecError(
                f"collection {self.name!r} has {n} passages; an approximate index "
                "needs at least 256 (exact search is fast at this size)."
            )
        hnsw = "HNSW" in index_type
        start = time.perf_counter()
        if hnsw:
            parts = num_partitions or max(1, round(n / 1_000_000))
        else:
            parts = num_partitions or max(2, min(4096, round(n**0.5)))
        graph: dict[str, int] = {}
        if hnsw and m is not None:
            graph["m"] = int(m)
        if hnsw and ef_construction is not None:
            graph["ef_construction"] = int(ef_construction)
        config = kinds[index_type](distance_type=self.meta["metric"], num_partitions=parts, **graph)
        with self._write_lock():
            self.table.create_index("vector", config=config, replace=True)
        self.meta["index"] = {
            "type": index_type,
            "partitions": parts,
            "nprobes": nprobes or (parts if hnsw else min(NPROBES, parts)),
            "refine_factor": refine_factor,
            "rows": n,
            "build_seconds": round(time.perf_counter() - start, 2),
        }
        if hnsw:
            self.meta["index"].update(ef=ef, **graph)
        recall = self.measure_recall(sample)
        self.meta["index"].update(
            recall_at_10=recall, recall_queries=sample, built=time.strftime("%Y-%m-%dT%H:%M:%S")
        )
        self._save_meta()
        return dict(self.meta["index"])

    def _sync_index_meta(self) -> None:
        """After a restore: forget an index record the restored version does not have."""
        table = self.table
        has = table is not None and any(
            i.index_type != "FTS" for i in table.list_indices() if "vector" in i.columns
        )
        if not has and self.meta.get("index") is not None:
            self.meta["index"] = None
            self._save_meta()

    # -- reading --------------------------------------------------------------------------------

    def _count(self, node: flt.Node | None) -> int:
        if self.table is None:
            return 0
        if node is None:
            return int(self.table.count_rows("passage = 0"))
        return len(self._matching_docs(node))

    def _count_passages(self) -> int:
        return 0 if self.table is None else int(self.table.count_rows())

    def state_token(self) -> Any:
        """The table's version (every commit makes a new one)."""
        table = self.table
        if table is None:
            return None
        table.checkout_latest()
        return int(table.version)

    def _vector_search(
        self, vector: np.ndarray, k: int, node: flt.Node | None, exact: bool | None
    ) -> list[Hit]:
        if self.table is None:
            return []
        q = (
            self.table.search(vector, vector_column_name="vector")
            .distance_type(self.meta["metric"])
            .limit(k)
        )
        index = self.meta.get("index")
        if exact or index is None:
            q = q.bypass_vector_index()
        else:
            q = q.nprobes(int(index.get("nprobes", NPROBES)))
            if index.get("ef"):
                q = q.ef(max(int(index["ef"]), k))
            if index.get("refine_factor"):
                q = q.refine_factor(int(index["refine_factor"]))
        if node is not None:
            q = q.where(flt.to_lance(node), prefilter=True)
        rows = self._run(q, node, "_distance")
        if self.meta["metric"] == "cosine":
            return [self._hit(r, 1.0 - float(r["_distance"])) for r in rows]
        return [self._hit(r, -float(r["_distance"])) for r in rows]

    def _text_search(self, text: str, k: int, node: flt.Node | None) -> list[Hit]:
        if self.table is None or not text.strip():
            return []
        have = {c for i in self.table.list_indices() if i.index_type == "FTS" for c in i.columns}
        if not have >= {"text", "title"}:
            self.refresh_indexes(auto_index_rows=None)
        q = self.table.search(text, query_type="fts", fts_columns=["title", "text"]).limit(k)
        if node is not None:
            q = q.where(flt.to_lance(node), prefilter=True)
        return [self._hit(r, float(r["_score"])) for r in self._run(q, node, "_score")]

    def _run(self, query: Any, node: flt.Node | None, score: str) -> list[dict[str, Any]]:
        try:
            return query.select([*_HIT_COLUMNS, score]).to_arrow().to_pylist()
        except (ValueError, RuntimeError, OSError) as e:
            if node is not None:
                raise FilterError(flt.to_lance(node), self.columns(), str(e)) from None
            raise

    @staticmethod
    def _hit(row: dict[str, Any], score: float) -> Hit:
        return Hit(
            row["id"],
            row["text"] or "",
            score,
            json.loads(row["meta"] or "{}"),
            title=row["title"] or "",
            passage=int(row["passage"]),
            start=int(row["char_start"]),
            end=int(row["char_end"] if row["char_end"] is not None else len(row["text"] or "")),
            pid=row["pid"],
        )

    def _documents(self, ids: Sequence[str]) -> list[Hit]:
        if self.table is None:
            return []
        cond = flt.to_lance(("and", [flt.ids_node(ids), ("cmp", "passage", "=", 0)]))
        cols = ["pid", "id", "title", "document", "meta"]
        rows = self.table.search().where(cond).select(cols).limit(None).to_arrow().to_pylist()
        return [
            Hit(
                r["id"],
                r["document"] or "",
                1.0,
                json.loads(r["meta"] or "{}"),
                title=r["title"] or "",
                end=len(r["document"] or ""),
                pid=r["pid"],
            )
            for r in rows
        ]

    def _vectors(self, pids: Sequence[str]) -> dict[str, np.ndarray]:
        if self.table is None or not pids:
            return {}
        cond = flt.to_lance(("in", "pid", [str(i) for i in pids], False))
        got = self.table.search().where(cond).select(["pid", "vector"]).limit(None).to_arrow()
        return dict(
            zip(got.column("pid").to_pylist(), _matrix(got.column("vector"), self.meta["dim"]))
        )

    def _scan(self, batch_size: int = 65536) -> Iterator[tuple[list[str], np.ndarray]]:
        if self.table is None:
            return
        for b in self.table.search().select(["pid", "vector"]).limit(None).to_batches(batch_size):
            yield b.column("pid").to_pylist(), _matrix(b.column("vector"), self.meta["dim"])

    # -- versions and housekeeping ---------------------------------------------------------------

    def versions(self) -> list[dict[str, Any]]:
        """Every kept version of the table: number, time and row count, oldest first."""
        table = self.table
        if table is None:
            return []
        table.checkout_latest()
        out = []
        view = self._db.open_table(self.name)
        for v in table.list_versions():
            number = int(v["version"])
            view.checkout(number)
            stamp = v.get("timestamp")
            out.append(
                {
                    "version": number,
                    "timestamp": stamp.isoformat(timespec="seconds") if stamp else None,
                    "passages": int(view.count_rows()),
                    "documents": int(view.count_rows("passage = 0"))
                    if "passage" in view.schema.names
                    else int(view.count_rows()),
                }
            )
        return out

    @_writes("restoring a version")
    def restore(self, version: int) -> None:
        """Make an earlier version the current one (a new version, so it can be undone too)."""
        table = self.table
        known = [v["version"] for v in self.versions()]
        if table is None or int(version) not in known:
            shown = ", ".join(map(str, known[-10:])) or "none"
            raise SentvecError(
                f"collection {self.name!r} has no version {version} (kept versions: {shown}). "
                f"Fix: pick one from `sentvec index versions {self.name}`."
            )
        _retry(lambda: table.restore(int(version)), f"restoring {self.name!r}")
        self._sync_columns()
        self._sync_index_meta()

    def info(self) -> dict[str, Any]:
        """Name, path, size, model, metric, chunking, filter columns and the index."""
        table = self.table
        indices = [] if table is None else [i.index_type for i in table.list_indices()]
        return {
            "name": self.name,
            "backend": self.backend,
            "path": str(self.root / f"{self.name}.lance"),
            "documents": len(self),
            "passages": self._count_passages(),
            "dim": self.meta["dim"],
            "model": self.meta["model"],
            "fingerprint": self.meta["fingerprint"],
            "metric": self.meta["metric"],
            "chunking": self.meta.get("chunking"),
            "min_score": self.meta.get("min_score"),
            "filter_columns": self.columns(),
            "full_text_index": "FTS" in indices,
            "vector_index": self.meta.get("index"),
            "search": "approximate" if self.meta.get("index") else "exact",
            "version": None if table is None else int(table.version),
            "created": self.meta.get("created"),
            "disk_bytes": _folder_size(self.root / f"{self.name}.lance"),
        }

    @_writes("dropping the collection")
    def drop(self) -> None:
        """Delete the collection and its files."""
        if self.name in self._db.list_tables().tables:
            self._db.drop_table(self.name)
        (self.root / f"{self.name}.sentvec.json").unlink(missing_ok=True)
        (self.root / f".{self.name}.write.lock").unlink(missing_ok=True)
        self._table = None


def _folder_size(path: Path) -> int:
    """Bytes of every file under a folder (0 if it does not exist)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


__all__ = ["NPROBES", "LanceCollection", "list_lance"]
