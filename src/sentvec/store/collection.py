"""A persistent, named collection of texts, ids, metadata and vectors, on LanceDB.

On disk a collection is two things under its root folder: ``NAME.lance`` (the LanceDB table:
``id``, ``text``, ``vector``, ``meta`` (all metadata as JSON) and one typed column per scalar
metadata field of the first rows, so filters read ``category = 'billing'``) and
``NAME.sentvec.json`` (which model made the vectors, the metric, the approximate index and
its measured recall). Every batch is one LanceDB commit, so a killed ingest loses at most the
batch in flight, and re-running it skips the ids already stored.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sentvec.errors import InvalidChoiceError, MissingExtraError, SentvecError
from sentvec.io import Record
from sentvec.store.errors import (
    CollectionNotFoundError,
    FilterError,
    MetadataTypeError,
    ModelMismatchError,
)

if TYPE_CHECKING:
    from sentvec.encoder import Encoder

CORE_COLUMNS = ("id", "text", "vector", "meta")
SEARCH_MODES = ("vector", "text", "hybrid")
METRICS = ("cosine", "dot")
# Past this many rows an approximate index is built after ingest. Measured (BENCHMARKS.md,
# 2-core CPU, 384-d): exact top-10 takes ~20 ms at 20k rows and ~125-220 ms at 100k; the IVF
# index answers in ~3 ms at 100k and builds in ~10 s.
AUTO_INDEX_ROWS = 50_000
NPROBES = 32  # IVF cells probed per query (measured: BENCHMARKS.md)
RRF_K = 60  # reciprocal rank fusion constant (Cormack et al. 2009)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_TYPES = {bool: "bool", int: "int64", float: "float64", str: "string"}


def sentvec_home() -> Path:
    """The user's sentvec folder: ``$SENTVEC_HOME``, else ``~/.cache/sentvec``."""
    env = os.environ.get("SENTVEC_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "sentvec"


def default_root() -> Path:
    """Where named collections live by default: ``sentvec_home()/collections``."""
    return sentvec_home() / "collections"


@dataclass
class Hit:
    """One search result."""

    id: str
    text: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class IngestReport:
    """What an ingest did: rows inserted, rows replaced, rows skipped (id already stored)."""

    added: int = 0
    updated: int = 0
    skipped: int = 0


def _lancedb() -> Any:
    try:
        import lancedb
    except ImportError:
        raise MissingExtraError("lancedb", "store") from None
    return lancedb


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise SentvecError(
            f"invalid collection name {name!r}. Fix: use letters, digits, '_', "
            "'-' or '.', starting with a letter or digit (at most 100)."
        )
    return name


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def list_collections(root: str | Path | None = None) -> list[str]:
    """Names of the collections under ``root`` (default :func:`default_root`)."""
    folder = Path(root) if root is not None else default_root()
    return sorted(p.name[: -len(".sentvec.json")] for p in folder.glob("*.sentvec.json"))


class Collection:
    """A named, persistent collection; open with :meth:`open`, make with :meth:`create`.

    >>> col = Collection.create("./db", "faq", dim=384, model="all-MiniLM-L6-v2", fingerprint=fp)
    >>> col.add(records, encoder)               # idempotent: stored ids are skipped
    >>> col.search("reset password", encoder=encoder, k=3, where="category = 'account'")
    """

    def __init__(self, root: Path, name: str, meta: dict[str, Any]) -> None:
        self.root, self.name, self.meta = root, name, meta
        self._db = _lancedb().connect(str(root))
        self._table: Any = None

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        root: str | Path,
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

        :param root: folder holding collections.
        :param name: the collection's name.
        :param dim: vector length.
        :param model: name of the model that makes the vectors (shown in errors).
        :param fingerprint: the model's :attr:`Encoder.fingerprint`; other fingerprints are refused.
        :param metric: ``cosine`` or ``dot``.
        :param extra: more settings to record (e.g. the hash of the source file).
        :param exist_ok: open an existing collection instead of failing.
        :return: the collection.
        """
        root = Path(root)
        if metric not in METRICS:
            raise InvalidChoiceError("collection metric", metric, METRICS)
        if (root / f"{_check_name(name)}.sentvec.json").exists():
            if not exist_ok:
                raise SentvecError(
                    f"collection {name!r} already exists in {str(root)!r}. "
                    "Fix: add to it, or delete its folder first."
                )
            col = cls.open(root, name)
            col._check_fingerprint(model, fingerprint)
            return col
        root.mkdir(parents=True, exist_ok=True)
        meta = {
            "name": name,
            "model": model,
            "fingerprint": fingerprint,
            "dim": int(dim),
            "metric": metric,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "columns": {},
            "index": None,
            **(extra or {}),
        }
        col = cls(root, name, meta)
        col._save_meta()
        return col

    @classmethod
    def open(cls, root: str | Path, name: str) -> Collection:
        """Open an existing collection.

        :raises CollectionNotFoundError: naming the collections that do exist.
        """
        root = Path(root)
        path = root / f"{_check_name(name)}.sentvec.json"
        if not path.exists():
            raise CollectionNotFoundError(name, str(root), list_collections(root))
        return cls(root, name, json.loads(path.read_text(encoding="utf8")))

    @classmethod
    def for_encoder(cls, root: str | Path, name: str, encoder: Encoder) -> Collection:
        """Open the collection, or create it for this encoder; refuse another model's vectors."""
        return cls.create(
            root,
            name,
            dim=encoder.dim,
            model=encoder.name,
            fingerprint=encoder.fingerprint,
            metric=_metric(encoder),
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

    @property
    def table(self) -> Any:
        """The LanceDB table (created on first write, from the first rows' metadata)."""
        if self._table is None and self.name in self._db.list_tables().tables:
            try:
                self._table = self._db.open_table(self.name)
            except ValueError:  # a kill during creation leaves a folder with no committed version
                return None
        return self._table

    def __len__(self) -> int:
        return 0 if self.table is None else int(self.table.count_rows())

    # -- writing -------------------------------------------------------------------------------

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
        twice, or re-running a killed ingest, stores every row once and encodes it once.

        :param records: the rows (e.g. :func:`sentvec.io.iter_records`); streamed.
        :param encoder: the model; must be the collection's own.
        :param upsert: replace rows whose id is stored (text, metadata and vector).
        :param batch_size: rows encoded and committed together.
        :param total: number of records, for the progress bar.
        :param show_progress: progress bar; default on from 1,000 rows.
        :return: counts of added, updated and skipped rows.
        """
        from tqdm.auto import tqdm

        from sentvec.apps.search import _prompt

        self.check_model(encoder)
        report = IngestReport()
        stored = self._ids()
        show = show_progress if show_progress is not None else (total or 0) >= 1000
        with tqdm(total=total, unit="row", desc=f"index {self.name}", disable=not show) as bar:
            for batch in _batches(records, batch_size):
                rows = _unique(batch, keep_last=upsert)
                if not upsert:
                    rows = [r for r in rows if r.id not in stored]
                report.skipped += len(batch) - len(rows)
                if rows:
                    vectors = encoder.encode(
                        [r.text for r in rows], batch_size=64, prompt=_prompt(encoder, "document")
                    )
                    n_old = sum(r.id in stored for r in rows)
                    self._write(rows, vectors, upsert)
                    report.updated += n_old
                    report.added += len(rows) - n_old
                    stored.update(r.id for r in rows)
                bar.update(len(batch))
        self.refresh_indexes()
        return report

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
        :return: rows written.
        """
        texts = texts if texts is not None else [""] * len(ids)
        metas = metadata if metadata is not None else [{} for _ in ids]
        rows = [Record(t, str(i), dict(m)) for i, t, m in zip(ids, texts, metas, strict=True)]
        # one row per id: the last one for upsert; else the first, and none already stored
        seen: set[str] = set() if upsert else self._ids()
        keep = []
        for j in range(len(rows) - 1, -1, -1) if upsert else range(len(rows)):
            if rows[j].id not in seen:
                seen.add(rows[j].id)
                keep.append(j)
        keep.sort()
        rows, vectors = [rows[j] for j in keep], np.asarray(vectors)[keep]
        if rows:
            self._write(rows, np.asarray(vectors, dtype=np.float32), upsert)
        if refresh:
            self.refresh_indexes()
        return len(rows)

    def delete(self, ids: Sequence[str] | None = None, where: str | None = None) -> int:
        """Delete rows by id, or by a filter.

        :param ids: ids to delete. :param where: an SQL condition (e.g. ``category = 'old'``).
        :return: rows deleted.
        """
        if self.table is None or (not ids and not where):
            return 0
        cond = where or f"id IN ({', '.join(_quote(str(i)) for i in ids or [])})"
        before = len(self)
        try:
            self.table.delete(cond)
        except (ValueError, RuntimeError, OSError) as e:
            raise FilterError(cond, self.columns(), str(e)) from None
        return before - len(self)

    def _write(self, rows: list[Record], vectors: np.ndarray, upsert: bool) -> None:
        import pyarrow as pa

        if vectors.shape != (len(rows), self.meta["dim"]):
            raise SentvecError(
                f"vectors of shape {vectors.shape} for {len(rows)} rows of a "
                f"{self.meta['dim']}-d collection. Fix: use the collection's model."
            )
        if self.meta["metric"] == "cosine":
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        if self.table is None:
            self._define_columns(rows)
        cols = self.meta["columns"]
        data: dict[str, Any] = {
            "id": pa.array([r.id for r in rows], pa.string()),
            "text": pa.array([r.text for r in rows], pa.string()),
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(vectors.astype(np.float32).ravel()), self.meta["dim"]
            ),
            "meta": pa.array(
                [json.dumps(r.metadata, ensure_ascii=False, default=str) for r in rows], pa.string()
            ),
        }
        for col, kind in cols.items():
            data[col] = pa.array([_coerce(r, col, kind) for r in rows], _arrow_type(kind))
        batch = pa.table(data, schema=self._schema())
        if self.table is None:
            self._table = self._db.create_table(self.name, schema=self._schema())
        if upsert:
            (
                self.table.merge_insert("id")
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute(batch)
            )
        else:
            self.table.add(batch)

    def _define_columns(self, rows: list[Record]) -> None:
        """Typed filter columns from the scalar metadata fields of the first rows."""
        kinds: dict[str, str] = {}
        for r in rows:
            for key, value in r.metadata.items():
                if key in CORE_COLUMNS or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
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
        self.meta["columns"] = {k: v for k, v in kinds.items() if v not in ("", "json")}
        self._save_meta()

    def _schema(self) -> Any:
        import pyarrow as pa

        fields = [
            pa.field("id", pa.string(), nullable=False),
            pa.field("text", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), self.meta["dim"])),
            pa.field("meta", pa.string()),
        ]
        fields += [pa.field(c, _arrow_type(k)) for c, k in self.meta["columns"].items()]
        return pa.schema(fields)

    def _ids(self) -> set[str]:
        if self.table is None:
            return set()
        ids = self.table.to_lance().to_table(columns=["id"]).column("id")
        return set(ids.to_pylist())

    # -- indexes -------------------------------------------------------------------------------

    def refresh_indexes(self, auto_index_rows: int | None = AUTO_INDEX_ROWS) -> None:
        """After writes: full-text index made or updated, files compacted, and an approximate
        vector index built once the collection reaches ``auto_index_rows`` rows."""
        from lancedb.index import FTS

        table = self.table
        if table is None:
            return
        names = {i.index_type for i in table.list_indices()}
        if "FTS" not in names:
            table.create_index("text", config=FTS(with_position=False), replace=True)
        else:
            table.optimize()
        if (
            auto_index_rows is not None
            and self.meta.get("index") is None
            and len(self) >= auto_index_rows
        ):
            self.build_index()

    def build_index(
        self, num_partitions: int | None = None, nprobes: int = NPROBES, sample: int = 100
    ) -> dict[str, Any]:
        """Build the approximate vector index (IVF with full vectors in each cell, so the only
        loss is from cells not probed) and measure its recall@10 against exact search.

        :param num_partitions: IVF cells (default: about the square root of the rows).
        :param nprobes: cells searched per query from now on (more: slower, higher recall).
        :param sample: queries used to measure recall.
        :return: the index record kept in the collection's settings (``info()['vector_index']``).
        """
        from lancedb.index import IvfFlat

        n = len(self)
        if n < 256:
            raise SentvecError(
                f"collection {self.name!r} has {n} rows; an approximate index "
                "needs at least 256 (exact search is fast at this size)."
            )
        start = time.perf_counter()
        parts = num_partitions or max(2, min(4096, round(n**0.5)))
        config = IvfFlat(distance_type=self.meta["metric"], num_partitions=parts)
        self.table.create_index("vector", config=config, replace=True)
        built_s = time.perf_counter() - start
        self.meta["index"] = {
            "type": "IVF_FLAT",
            "partitions": parts,
            "nprobes": nprobes,
            "rows": n,
            "build_seconds": round(built_s, 2),
        }
        recall = self.measure_recall(sample)
        self.meta["index"].update(
            recall_at_10=recall, recall_queries=sample, built=time.strftime("%Y-%m-%dT%H:%M:%S")
        )
        self._save_meta()
        return dict(self.meta["index"])

    def measure_recall(self, sample: int = 100, k: int = 10, seed: int = 0) -> float:
        """Recall@k of the approximate index against exact search (one scan of the stored
        vectors). Queries are the normalised means of two random stored vectors: near the
        data, but not in it."""
        rng = np.random.default_rng(seed)
        n = len(self)
        pick = rng.choice(n, size=(sample, 2), replace=n < 2 * sample)
        rows = sorted(set(pick.ravel().tolist()))
        got = self.table.to_lance().take(rows, columns=["vector"]).column("vector")
        lookup = dict(zip(rows, _matrix(got, self.meta["dim"]), strict=True))
        queries = np.stack([lookup[a] + lookup[b] for a, b in pick])
        queries /= np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        exact = self.exact_top_ids(queries, k)
        hits = sum(
            len({h.id for h in self.search(q, k=k, exact=False)} & set(e))
            for q, e in zip(queries, exact, strict=True)
        )
        return round(hits / (sample * min(k, n)), 4)

    def exact_top_ids(self, queries: np.ndarray, k: int = 10) -> list[list[str]]:
        """Exact top-k ids for many queries in one pass over the stored vectors (numpy)."""
        q = np.asarray(queries, dtype=np.float32)
        if self.meta["metric"] == "cosine":
            q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        best_s = np.full((len(q), 0), -np.inf, dtype=np.float32)
        best_i = np.empty((len(q), 0), dtype=object)
        for batch in self.table.to_lance().to_batches(columns=["id", "vector"], batch_size=65536):
            v = _matrix(batch.column("vector"), self.meta["dim"])  # (b, d)
            ids = np.asarray(batch.column("id").to_pylist(), dtype=object)
            s = np.concatenate([best_s, q @ v.T], axis=1)
            i = np.concatenate([best_i, np.broadcast_to(ids, (len(q), len(ids)))], axis=1)
            kk = min(k, s.shape[1])
            top = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
            top_s = np.take_along_axis(s, top, 1)
            order = np.argsort(-top_s, axis=1, kind="stable")
            best_s = np.take_along_axis(top_s, order, 1)
            best_i = np.take_along_axis(np.take_along_axis(i, top, 1), order, 1)
        return [list(row) for row in best_i]

    # -- reading -------------------------------------------------------------------------------

    def search(
        self,
        query: str | np.ndarray,
        k: int = 10,
        *,
        where: str | None = None,
        mode: str = "vector",
        encoder: Encoder | None = None,
        exact: bool | None = None,
    ) -> list[Hit]:
        """Top-k rows for one query.

        :param query: text (needs ``encoder`` for vector/hybrid), or a query vector.
        :param k: hits.
        :param where: SQL filter on id, text and the metadata columns.
        :param mode: ``vector`` (similarity of meaning), ``text`` (BM25 full-text) or
            ``hybrid`` (both, fused by reciprocal rank).
        :param encoder: the collection's model, to embed a text query.
        :param exact: force exact (True) or approximate (False) vector search; default: the
            index when one is built.
        :return: hits, best first; ``score`` is cosine (or dot) similarity for vector search,
            BM25 for text search, and the fused RRF score for hybrid.
        """
        if mode not in SEARCH_MODES:
            raise InvalidChoiceError("search mode", mode, SEARCH_MODES)
        if self.table is None:
            return []
        if mode == "text":
            return self._text_search(_need_text(query, mode), k, where)
        vector = self._query_vector(query, encoder)
        if mode == "vector":
            return self._vector_search(vector, k, where, exact)
        depth = max(50, 5 * k)
        lists = [
            self._vector_search(vector, depth, where, exact),
            self._text_search(_need_text(query, mode), depth, where),
        ]
        return rrf(lists, k)

    def _query_vector(self, query: str | np.ndarray, encoder: Encoder | None) -> np.ndarray:
        if not isinstance(query, str):
            return np.asarray(query, dtype=np.float32).reshape(-1)
        if encoder is None:
            raise SentvecError(
                "a text query needs the collection's encoder. "
                "Fix: pass encoder=sentvec.load(...) (or mode='text')."
            )
        from sentvec.apps.search import _prompt

        self.check_model(encoder)
        return encoder.encode([query], prompt=_prompt(encoder, "query"))[0]

    def _vector_search(
        self, vector: np.ndarray, k: int, where: str | None, exact: bool | None
    ) -> list[Hit]:
        q = (
            self.table.search(vector, vector_column_name="vector")
            .distance_type(self.meta["metric"])
            .limit(k)
        )
        if exact or (exact is None and self.meta.get("index") is None):
            q = q.bypass_vector_index()
        else:
            q = q.nprobes(int(self.meta["index"].get("nprobes", NPROBES)))
        if where:
            q = q.where(where, prefilter=True)
        rows = self._run(q, where, "_distance")
        return [self._hit(r, 1.0 - float(r["_distance"])) for r in rows]

    def _text_search(self, text: str, k: int, where: str | None) -> list[Hit]:
        q = self.table.search(text, query_type="fts", fts_columns="text").limit(k)
        if where:
            q = q.where(where, prefilter=True)
        return [self._hit(r, float(r["_score"])) for r in self._run(q, where, "_score")]

    def _run(self, query: Any, where: str | None, score: str) -> list[dict[str, Any]]:
        cols = ["id", "text", "meta", score]
        try:
            return query.select(cols).to_arrow().to_pylist()
        except (ValueError, RuntimeError, OSError) as e:
            if where:
                raise FilterError(where, self.columns(), str(e)) from None
            raise

    @staticmethod
    def _hit(row: dict[str, Any], score: float) -> Hit:
        return Hit(row["id"], row["text"], score, json.loads(row["meta"] or "{}"))

    def get(self, ids: Sequence[str]) -> list[Hit]:
        """The stored rows with these ids (any order; missing ids are left out)."""
        if self.table is None or not ids:
            return []
        cond = f"id IN ({', '.join(_quote(str(i)) for i in ids)})"
        rows = self.table.search().where(cond).select(["id", "text", "meta"]).limit(None)
        return [self._hit(r, 1.0) for r in rows.to_arrow().to_pylist()]

    def columns(self) -> list[str]:
        """Columns a filter can use."""
        return ["id", "text", *self.meta["columns"]]

    def info(self) -> dict[str, Any]:
        """Name, path, size, model, metric, filter columns and the index with its recall."""
        table = self.table
        indices = [] if table is None else [i.index_type for i in table.list_indices()]
        return {
            "name": self.name,
            "path": str(self.root / f"{self.name}.lance"),
            "rows": len(self),
            "dim": self.meta["dim"],
            "model": self.meta["model"],
            "fingerprint": self.meta["fingerprint"],
            "metric": self.meta["metric"],
            "filter_columns": self.columns(),
            "full_text_index": "FTS" in indices,
            "vector_index": self.meta.get("index"),
            "search": "approximate" if self.meta.get("index") else "exact",
            "version": None if table is None else table.version,
            "created": self.meta.get("created"),
        }

    def update_meta(self, **values: Any) -> None:
        """Record more settings with the collection (saved at once)."""
        self.meta.update(values)
        self._save_meta()

    def _save_meta(self) -> None:
        """Write the settings atomically (a temporary file renamed over the old one)."""
        path = self.root / f"{self.name}.sentvec.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.meta, indent=2), encoding="utf8")
        os.replace(tmp, path)

    def drop(self) -> None:
        """Delete the collection and its files."""
        if self.name in self._db.list_tables().tables:
            self._db.drop_table(self.name)
        (self.root / f"{self.name}.sentvec.json").unlink(missing_ok=True)
        self._table = None


def rrf(lists: Sequence[Sequence[Hit]], k: int, constant: int = RRF_K) -> list[Hit]:
    """Reciprocal rank fusion: each id scores sum(1 / (constant + rank)) over the lists.

    :param lists: ranked hit lists (rank 1 first). :param k: hits to return.
    :param constant: the RRF constant (60 in the original paper).
    :return: fused hits, best first, with the fused score.
    """
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for hits in lists:
        for rank, hit in enumerate(hits, start=1):
            scores[hit.id] = scores.get(hit.id, 0.0) + 1.0 / (constant + rank)
            first.setdefault(hit.id, hit)
    order = sorted(scores, key=lambda i: -scores[i])[:k]
    return [Hit(i, first[i].text, scores[i], first[i].metadata) for i in order]


def _matrix(column: Any, dim: int) -> np.ndarray:
    """A fixed-size-list vector column as an (n, dim) float32 array."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return np.asarray(column.flatten().to_numpy(zero_copy_only=False), dtype=np.float32).reshape(
        -1, dim
    )


def _metric(encoder: Encoder) -> str:
    sim = encoder.spec.similarity
    return sim if sim in METRICS else "cosine"


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


def _arrow_type(kind: str) -> Any:
    import pyarrow as pa

    return {
        "bool": pa.bool_(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "string": pa.string(),
    }[kind]


def _coerce(record: Record, column: str, kind: str) -> Any:
    value = record.metadata.get(column)
    if value is None:
        return None
    if kind == "float64" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if _TYPES.get(type(value)) != kind:
        raise MetadataTypeError(record.id, column, value, kind)
    return value


__all__ = [
    "AUTO_INDEX_ROWS",
    "Collection",
    "Hit",
    "IngestReport",
    "default_root",
    "list_collections",
    "rrf",
    "sentvec_home",
]
