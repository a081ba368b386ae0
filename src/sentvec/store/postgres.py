"""The server backend: a collection in PostgreSQL with pgvector (``pip install
'sentvec[postgres]'``), chosen by a ``postgresql://`` location.

Each collection is one table ``sv_NAME``, one row per passage: the columns of
:mod:`sentvec.store.columns` (``pid`` the primary key, ``id`` the document, indexed),
``vector`` (pgvector), ``meta`` (jsonb), a generated ``tsv`` (``tsvector`` of title and
passage, GIN index) for full-text search, and one typed column per scalar metadata field of
the first rows. The settings live in the table ``sentvec_collections``. Every batch of whole
documents is one transaction holding the collection's advisory lock (which documents are
stored is checked inside it), so an ingest is idempotent by document id, safe with
concurrent writers, a killed one resumes and never leaves half a document, and an upsert
replaces every passage of a document at once; a failed ingest is undone from per-ingest undo
tables. The
approximate index is HNSW (cosine or inner product), built past ``AUTO_INDEX_ROWS`` rows or on
request, with its recall measured like LanceDB's. Filters are always bound parameters.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from sentvec.documents import Passage
from sentvec.errors import SentvecError
from sentvec.extras import import_extra
from sentvec.store import filters as flt
from sentvec.store.base import AUTO_INDEX_ROWS, Collection
from sentvec.store.columns import CORE_COLUMNS, LAYOUT, coerce, define_columns
from sentvec.store.errors import CollectionNotFoundError, FilterError
from sentvec.store.hits import Hit

META_TABLE = "sentvec_collections"
TEXT_CONFIG = "english"  # PostgreSQL text search configuration (stemming, stop words)
# HNSW graph and search (BENCHMARKS.md, 1M vectors): m=32, ef_construction=128, ef_search 400
# gave recall@10 0.994 at 4.6 ms p50 (pgvector's m=16/64 graph: 0.967 at 400, 0.981 at most)
EF_SEARCH = 400
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 128
MAINTENANCE_WORK_MEM = "4GB"  # session memory for the HNSW build
BUILD_WORKERS = 2  # parallel workers for the HNSW build
_SQL_TYPE = {"bool": "boolean", "int64": "bigint", "float64": "double precision", "string": "text"}
_KIND = {"boolean": "bool", "bigint": "int64", "double precision": "float64", "text": "string"}
_COPY_TYPE = {"bool": "bool", "int64": "int8", "float64": "float8", "string": "text"}
_MAX_NAME = 50
_HIT_COLUMNS = "pid, id, passage, text, title, char_start, char_end, meta"
_TSV = (
    f"tsv tsvector GENERATED ALWAYS AS (to_tsvector('{TEXT_CONFIG}', "
    "coalesce(title, '') || ' ' || coalesce(text, ''))) STORED"
)
# the most words of a text query (PostgreSQL refuses a tsquery past about 1 MB)
MAX_QUERY_WORDS = 1000


def _psycopg() -> Any:
    psycopg = import_extra("psycopg", "postgres")
    return psycopg


def mask(uri: str) -> str:
    """The URI with any password replaced by ``***`` (for messages)."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", uri)


def _connect(uri: str) -> Any:
    """A connection (autocommit; transactions are explicit) with pgvector types registered."""
    psycopg = _psycopg()
    register_vector = import_extra("pgvector.psycopg", "postgres", "pgvector").register_vector
    try:
        conn = psycopg.connect(uri, autocommit=True)
    except psycopg.OperationalError as e:
        reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise SentvecError(
            f"cannot connect to PostgreSQL at {mask(uri)!r}: {reason}. Fix: check the "
            "server is running and the URI (postgresql://USER:PASSWORD@HOST:PORT/DB)."
        ) from None
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('sentvec-setup'))")
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.Error as e:
            raise SentvecError(
                f"PostgreSQL at {mask(uri)!r} has no pgvector extension ({e}). Fix: install "
                "pgvector on the server (https://github.com/pgvector/pgvector)."
            ) from None
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {META_TABLE} (name text PRIMARY KEY, meta jsonb NOT NULL)"
        )
    register_vector(conn)
    return conn


def list_postgres(uri: str) -> list[str]:
    """Names of the collections in the database at ``uri``."""
    with _connect(uri) as conn:
        return [r[0] for r in conn.execute(f"SELECT name FROM {META_TABLE} ORDER BY name")]


def _vec(value: Any) -> np.ndarray:
    """A vector from the database (numpy array, or pgvector's ``Vector`` from binary cursors)."""
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    return np.asarray(value, dtype=np.float32)


def _ident(name: str) -> str:
    """A double-quoted identifier (names are checked to hold no quote)."""
    if '"' in name or "\x00" in name:
        raise SentvecError(f"invalid identifier {name!r}")
    return f'"{name}"'


class PostgresCollection(Collection):
    """A collection in PostgreSQL + pgvector. Open it through :class:`Collection`."""

    backend = "postgresql"

    def __init__(self, uri: str, name: str, meta: dict[str, Any], conn: Any) -> None:
        self.location, self.name, self.meta = uri, name, meta
        self.root = uri  # kept for code that reads ``col.root``
        self.table_name = _ident(f"sv_{name}")
        # one connection per thread (its transactions, session settings and scratch tables
        # are its own), so threads can share a collection and search at the same time
        self._local = threading.local()
        self._local.conn, self._local.undo_ready = conn, False
        self._conns = [conn]
        self._conns_lock = threading.Lock()

    @property
    def conn(self) -> Any:
        """This thread's connection (opened on first use in a thread)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.location)
            with self._conns_lock:
                self._conns.append(conn)
            self._local.conn, self._local.undo_ready = conn, False
        return conn

    @property
    def _undo_ready(self) -> bool:
        """Whether this thread's connection holds the ingest's scratch tables."""
        return bool(getattr(self._local, "undo_ready", False))

    @_undo_ready.setter
    def _undo_ready(self, value: bool) -> None:
        self._local.undo_ready = value

    def close(self) -> None:
        """Close the database connections (every thread's)."""
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()

    # -- opening --------------------------------------------------------------------------------

    @classmethod
    def _create(
        cls, location: Any, name: str, meta: dict[str, Any], exist_ok: bool
    ) -> PostgresCollection:
        if len(name) > _MAX_NAME:
            raise SentvecError(
                f"collection name {name!r} is too long for PostgreSQL ({len(name)} > "
                f"{_MAX_NAME} characters). Fix: use a shorter name."
            )
        uri = str(location)
        conn = _connect(uri)
        with conn.transaction():
            row = conn.execute(
                f"SELECT meta FROM {META_TABLE} WHERE name = %s FOR UPDATE", (name,)
            ).fetchone()
            if row is None:
                conn.execute(
                    f"INSERT INTO {META_TABLE} (name, meta) VALUES (%s, %s) "
                    "ON CONFLICT (name) DO NOTHING",
                    (name, json.dumps(meta)),
                )
                row = conn.execute(
                    f"SELECT meta FROM {META_TABLE} WHERE name = %s", (name,)
                ).fetchone()
            elif not exist_ok:
                conn.close()
                raise SentvecError(
                    f"collection {name!r} already exists in {mask(uri)!r}. "
                    f"Fix: add to it, or drop it first (`sentvec index drop {name}`)."
                )
        col = cls(uri, name, row[0], conn)
        col._sync_columns()
        return col

    @classmethod
    def _open(cls, location: Any, name: str) -> PostgresCollection:
        uri = str(location)
        conn = _connect(uri)
        row = conn.execute(f"SELECT meta FROM {META_TABLE} WHERE name = %s", (name,)).fetchone()
        if row is None:
            have = [r[0] for r in conn.execute(f"SELECT name FROM {META_TABLE} ORDER BY name")]
            conn.close()
            raise CollectionNotFoundError(name, mask(uri), have)
        col = cls(uri, name, row[0], conn)
        if col.meta.get("layout", 1) < LAYOUT:
            col._migrate()
        col._sync_columns()
        return col

    def _migrate(self) -> None:
        """Give a collection made before documents (one row per text) the passage columns:
        each stored text becomes a one-passage document with the same id."""
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.table_name,))
            has_pid = self.conn.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = "
                "current_schema() AND table_name = %s AND column_name = 'pid'",
                (f"sv_{self.name}",),
            ).fetchone()
            if self._table_exists() and not has_pid:
                t = self.table_name
                pkey = self.conn.execute(
                    "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
                    "AND contype = 'p'",
                    (t,),
                ).fetchone()
                self.conn.execute(
                    f"ALTER TABLE {t} ADD COLUMN pid text, "
                    "ADD COLUMN passage int NOT NULL DEFAULT 0, ADD COLUMN title text, "
                    "ADD COLUMN char_start int NOT NULL DEFAULT 0, ADD COLUMN char_end int, "
                    "ADD COLUMN document text"
                )
                self.conn.execute(
                    f"UPDATE {t} SET pid = id || '#0', char_end = length(text), document = text"
                )
                if pkey:
                    self.conn.execute(f"ALTER TABLE {t} DROP CONSTRAINT {_ident(pkey[0])}")
                self.conn.execute(f"ALTER TABLE {t} ADD PRIMARY KEY (pid)")
                self.conn.execute(f"CREATE INDEX ON {t} (id)")
                self.conn.execute(f"ALTER TABLE {t} DROP COLUMN IF EXISTS tsv")
                self.conn.execute(f"ALTER TABLE {t} ADD COLUMN {_TSV}")
                self.conn.execute(f"CREATE INDEX ON {t} USING gin (tsv)")
            self.meta["layout"] = LAYOUT
            self.meta.setdefault("chunking", None)
            self._save_meta()

    def _table_exists(self) -> bool:
        row = self.conn.execute("SELECT to_regclass(%s)", (self.table_name,)).fetchone()
        return row[0] is not None

    def _sync_columns(self) -> None:
        """Take the typed columns from the table itself (another writer may have made it)."""
        rows = self.conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            (f"sv_{self.name}",),
        ).fetchall()
        if not rows:
            return
        cols = {c: _KIND[t] for c, t in rows if c not in (*CORE_COLUMNS, "tsv") and t in _KIND}
        if cols != self.meta["columns"]:
            self.meta["columns"] = cols
            self._save_meta()

    def _save_meta(self) -> None:
        self.conn.execute(
            f"UPDATE {META_TABLE} SET meta = %s WHERE name = %s",
            (json.dumps(self.meta), self.name),
        )

    def _create_table(self, passages: list[Passage]) -> None:
        """The table, its indexes and the undo tables, made once (under a lock)."""
        import psycopg

        try:
            with self.conn.transaction():
                self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.table_name,))
                if not self._table_exists():
                    self.meta["columns"] = define_columns(
                        p.metadata for p in passages if p.index == 0
                    )
                    typed = "".join(
                        f", {_ident(c)} {_SQL_TYPE[k]}" for c, k in self.meta["columns"].items()
                    )
                    t = self.table_name
                    self.conn.execute(
                        f"CREATE TABLE {t} (pid text PRIMARY KEY, id text NOT NULL, "
                        "passage int NOT NULL, text text, title text, char_start int NOT NULL, "
                        f"char_end int, document text, vector vector({int(self.meta['dim'])}), "
                        f"meta jsonb{typed}, {_TSV})"
                    )
                    self.conn.execute(f"CREATE INDEX ON {t} (id)")
                    self.conn.execute(f"CREATE INDEX ON {t} USING gin (tsv)")
        except (psycopg.errors.DuplicateTable, psycopg.errors.UniqueViolation):
            pass  # another writer created it between our check and our CREATE: use theirs
        self._sync_columns()
        self._save_meta()

    def _cols(self) -> list[str]:
        return [c for c in CORE_COLUMNS if c != "meta"] + ["meta", *self.meta["columns"]]

    # -- writing --------------------------------------------------------------------------------

    def _prepare_undo(self) -> None:
        """Per-connection scratch tables: the staged batch, the ids this ingest inserted and
        the old rows it replaced (to put back if the ingest fails)."""
        if self._undo_ready:
            return
        cols = ", ".join(_ident(c) for c in self._cols())
        for tmp in ("_sv_stage", "_sv_old"):
            self.conn.execute(f"DROP TABLE IF EXISTS {tmp}")
            self.conn.execute(
                f"CREATE TEMP TABLE {tmp} AS SELECT {cols} FROM {self.table_name} WITH NO DATA"
            )
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS _sv_new (pid text PRIMARY KEY)")
        self.conn.execute("TRUNCATE _sv_new")
        self.conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS _sv_old_pid ON _sv_old (pid)")
        self._undo_ready = True

    def _write(
        self, passages: list[Passage], vectors: np.ndarray, upsert: bool
    ) -> tuple[int, int, int]:
        from psycopg.types.json import Jsonb

        vectors = self._prepare(passages, vectors)
        if not self._table_exists():
            self._create_table(passages)
            for p in passages:
                self._check_passages([p])
        self._prepare_undo()
        cols = self._cols()
        names = ", ".join(_ident(c) for c in cols)
        kinds = list(self.meta["columns"].items())
        types = ["text", "text", "int4", "text", "text", "int4", "int4", "text", "vector"]
        types += ["jsonb"] + [_COPY_TYPE[k] for _, k in kinds]
        docs = list(dict.fromkeys(p.doc_id for p in passages))
        t = self.table_name
        with self.conn.transaction(), self.conn.cursor() as cur:
            # one writer at a time per collection: which documents are stored cannot change
            # between this check and the insert
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (t,))
            cur.execute(f"SELECT id FROM {t} WHERE passage = 0 AND id = ANY(%s)", (docs,))
            stored = {r[0] for r in cur.fetchall()}
            if not upsert:
                keep = [j for j, p in enumerate(passages) if p.doc_id not in stored]
                passages, vectors = [passages[j] for j in keep], vectors[keep]
            if not passages:
                return 0, 0, 0
            cur.execute("TRUNCATE _sv_stage")
            with cur.copy(f"COPY _sv_stage ({names}) FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for p, v in zip(passages, vectors, strict=True):
                    extra = [coerce(p.doc_id, p.metadata, c, k) for c, k in kinds]
                    copy.write_row(
                        [
                            p.id,
                            p.doc_id,
                            p.index,
                            p.text,
                            p.title or None,
                            p.start,
                            p.end,
                            p.document,
                            v,
                            Jsonb(p.metadata),
                            *extra,
                        ]
                    )
            replaced = sorted(stored) if upsert else []
            if replaced:  # keep the passages about to be replaced, once per ingest; drop them
                old = ", ".join("t." + _ident(c) for c in cols)
                cur.execute(
                    f"INSERT INTO _sv_old ({names}) SELECT {old} FROM {t} t "
                    "WHERE t.id = ANY(%s) AND NOT EXISTS "
                    "(SELECT 1 FROM _sv_new n WHERE n.pid = t.pid) ON CONFLICT (pid) DO NOTHING",
                    (replaced,),
                )
                cur.execute(f"DELETE FROM {t} WHERE id = ANY(%s)", (replaced,))
            cur.execute(
                f"WITH done AS (INSERT INTO {t} ({names}) SELECT {names} FROM _sv_stage "
                "ON CONFLICT (pid) DO NOTHING RETURNING pid), "
                "noted AS (INSERT INTO _sv_new (pid) SELECT pid FROM done "
                "ON CONFLICT DO NOTHING) SELECT count(*) FROM done"
            )
            written = int(cur.fetchone()[0])
        return len([d for d in docs if d not in stored]), len(replaced), written

    def _begin_ingest(self) -> Any:
        existed = self._table_exists()
        self._undo_ready = False
        if existed:
            self._prepare_undo()
        return existed

    def _undo_ingest(self, state: Any) -> None:
        if not self._undo_ready:
            return
        cols = ", ".join(_ident(c) for c in self._cols())
        sets = ", ".join(f"{_ident(c)} = EXCLUDED.{_ident(c)}" for c in self._cols()[1:])
        with self.conn.transaction():
            self.conn.execute(
                f"DELETE FROM {self.table_name} WHERE pid IN (SELECT pid FROM _sv_new)"
            )
            self.conn.execute(
                f"INSERT INTO {self.table_name} ({cols}) SELECT {cols} FROM _sv_old "
                f"ON CONFLICT (pid) DO UPDATE SET {sets}"
            )
            self.conn.execute("TRUNCATE _sv_new")
            self.conn.execute("TRUNCATE _sv_old")
        if not state and self._count(None) == 0:  # the failed ingest made the table: remove it
            self.conn.execute(f"DROP TABLE IF EXISTS {self.table_name}")
            self._undo_ready = False
            self.meta["columns"] = {}
            self._save_meta()

    def _stored_docs(self) -> set[str]:
        if not self._table_exists():
            return set()
        q = f"SELECT id FROM {self.table_name} WHERE passage = 0"
        return {r[0] for r in self.conn.execute(q)}

    def _where(self, node: flt.Node | None) -> tuple[str, list[Any]]:
        if node is None:
            return "", []
        cond, params = flt.to_postgres(node)
        return f" WHERE {cond}", params

    def _execute(self, query: str, params: Sequence[Any], node: flt.Node | None) -> Any:
        psycopg = _psycopg()
        try:
            return self.conn.execute(query, params)
        except psycopg.errors.DataError as e:
            raise FilterError(
                flt.to_postgres(node)[0] if node else "", self.columns(), str(e)
            ) from None

    def _delete(self, node: flt.Node) -> int:
        if not self._table_exists():
            return 0
        cond, params = self._where(node)
        t = self.table_name
        with self.conn.transaction():  # every passage of each matching document
            docs = self._execute(
                f"DELETE FROM {t} WHERE id IN (SELECT id FROM {t}{cond}) RETURNING id",
                params,
                node,
            ).fetchall()
        return len({d[0] for d in docs})

    # -- indexes --------------------------------------------------------------------------------

    def refresh_indexes(self, auto_index_rows: int | None = AUTO_INDEX_ROWS) -> None:
        """After writes: the text index is kept by PostgreSQL; the HNSW index is built once the
        collection reaches ``auto_index_rows`` rows."""
        if (
            auto_index_rows is not None
            and self.meta.get("index") is None
            and self._table_exists()
            and self._count_passages() >= auto_index_rows
        ):
            self.build_index()

    def build_index(
        self,
        m: int = HNSW_M,
        ef_construction: int = HNSW_EF_CONSTRUCTION,
        ef_search: int = EF_SEARCH,
        sample: int = 100,
        maintenance_work_mem: str = MAINTENANCE_WORK_MEM,
        workers: int = BUILD_WORKERS,
        **_: Any,
    ) -> dict[str, Any]:
        """Build the HNSW index (pgvector) and measure its recall@10 against exact search.

        :param m: graph neighbours per node (more: better recall, bigger index).
        :param ef_construction: candidates while building.
        :param ef_search: candidates per query from now on (more: slower, higher recall).
        :param sample: queries used to measure recall.
        :param maintenance_work_mem: memory for this build (PostgreSQL setting, this session
            only); the build is much slower once the graph outgrows it (about 2.5 GB per
            million 384-d rows at ``m`` 16).
        :param workers: parallel maintenance workers for this build (this session only).
        :return: the index record kept in the collection's settings.
        """
        n = self._count_passages()
        if n < 256:
            raise SentvecError(
                f"collection {self.name!r} has {n} passages; an approximate index "
                "needs at least 256 (exact search is fast at this size)."
            )
        ops = "vector_cosine_ops" if self.meta["metric"] == "cosine" else "vector_ip_ops"
        index = _ident(f"sv_{self.name}_hnsw")
        start = time.perf_counter()
        if not re.fullmatch(r"\d+\s*(kB|MB|GB)", maintenance_work_mem):
            raise SentvecError(
                f"maintenance_work_mem {maintenance_work_mem!r} is not a PostgreSQL size. "
                "Fix: give a number with kB, MB or GB, e.g. '4GB'."
            )
        self.conn.execute(
            "SELECT set_config('maintenance_work_mem', %s, false)", (maintenance_work_mem,)
        )
        self.conn.execute(
            "SELECT set_config('max_parallel_maintenance_workers', %s, false)", (str(int(workers)),)
        )
        self.conn.execute(f"DROP INDEX IF EXISTS {index}")
        self.conn.execute(
            f"CREATE INDEX {index} ON {self.table_name} USING hnsw (vector {ops}) "
            f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)})"
        )
        self.meta["index"] = {
            "type": "HNSW",
            "m": int(m),
            "ef_construction": int(ef_construction),
            "ef_search": int(ef_search),
            "rows": n,
            "build_seconds": round(time.perf_counter() - start, 2),
        }
        recall = self.measure_recall(sample)
        self.meta["index"].update(
            recall_at_10=recall, recall_queries=sample, built=time.strftime("%Y-%m-%dT%H:%M:%S")
        )
        self._save_meta()
        return dict(self.meta["index"])

    # -- reading --------------------------------------------------------------------------------

    def _count(self, node: flt.Node | None) -> int:
        if not self._table_exists():
            return 0
        t = self.table_name
        if node is None:
            return int(
                self.conn.execute(f"SELECT count(*) FROM {t} WHERE passage = 0").fetchone()[0]
            )
        cond, params = self._where(node)
        q = f"SELECT count(DISTINCT id) FROM {t}{cond}"
        return int(self._execute(q, params, node).fetchone()[0])

    def state_token(self) -> Any:
        """Passages and a checksum of their keys and texts (changes on every write)."""
        if not self._table_exists():
            return None
        q = (
            "SELECT count(*), coalesce(sum(hashtext(pid || coalesce(text, ''))), 0) "
            f"FROM {self.table_name}"
        )
        return tuple(self.conn.execute(q).fetchone())

    def _count_passages(self) -> int:
        if not self._table_exists():
            return 0
        return int(self.conn.execute(f"SELECT count(*) FROM {self.table_name}").fetchone()[0])

    def _vector_search(
        self, vector: np.ndarray, k: int, node: flt.Node | None, exact: bool | None
    ) -> list[Hit]:
        if not self._table_exists():
            return []
        q = self._normalise(np.asarray(vector, dtype=np.float32))
        op = "<=>" if self.meta["metric"] == "cosine" else "<#>"
        cond, params = self._where(node)
        index = self.meta.get("index")
        with self.conn.transaction():
            if exact or index is None:
                self.conn.execute("SELECT set_config('enable_indexscan', 'off', true)")
            else:
                ef = str(max(int(index.get("ef_search", EF_SEARCH)), k))
                self.conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (ef,))
                if node is not None:
                    self.conn.execute(
                        "SELECT set_config('hnsw.iterative_scan', 'strict_order', true)"
                    )
            rows = self._execute(
                f"SELECT {_HIT_COLUMNS}, vector {op} %s AS d FROM {self.table_name}{cond} "
                f"ORDER BY vector {op} %s LIMIT %s",
                [q, *params, q, k],
                node,
            ).fetchall()
        if self.meta["metric"] == "cosine":
            return [_hit(r, 1.0 - float(r[-1])) for r in rows]
        return [_hit(r, -float(r[-1])) for r in rows]

    def _text_search(self, text: str, k: int, node: flt.Node | None) -> list[Hit]:
        if not self._table_exists() or not text.strip():
            return []
        cond, params = self._where(node)
        cond = cond.replace(" WHERE ", " AND ", 1)
        words = " ".join(text.split()[:MAX_QUERY_WORDS])
        rows = self._execute(
            f"SELECT {_HIT_COLUMNS}, ts_rank_cd(tsv, q) AS s FROM {self.table_name}, "
            f"(SELECT replace(plainto_tsquery('{TEXT_CONFIG}', %s)::text, '&', '|')::tsquery"
            f" AS q) AS query WHERE tsv @@ q{cond} ORDER BY s DESC, pid LIMIT %s",
            [words, *params, k],
            node,
        ).fetchall()
        return [_hit(r, float(r[-1])) for r in rows]

    def _documents(self, ids: Sequence[str]) -> list[Hit]:
        if not self._table_exists():
            return []
        rows = self.conn.execute(
            f"SELECT pid, id, title, document, meta FROM {self.table_name} "
            "WHERE id = ANY(%s) AND passage = 0",
            (list(ids),),
        ).fetchall()
        return [
            Hit(i, d or "", 1.0, m or {}, title=t or "", end=len(d or ""), pid=p)
            for p, i, t, d, m in rows
        ]

    def _vectors(self, pids: Sequence[str]) -> dict[str, np.ndarray]:
        if not self._table_exists() or not pids:
            return {}
        rows = self.conn.execute(
            f"SELECT pid, vector FROM {self.table_name} WHERE pid = ANY(%s)", (list(pids),)
        ).fetchall()
        return {i: _vec(v) for i, v in rows}

    def _scan(self, batch_size: int = 65536) -> Iterator[tuple[list[str], np.ndarray]]:
        if not self._table_exists():
            return
        with self.conn.transaction(), self.conn.cursor(name="sentvec_scan") as cur:
            cur.itersize = batch_size
            cur.execute(f"SELECT pid, vector FROM {self.table_name}")
            while rows := cur.fetchmany(batch_size):
                ids = [r[0] for r in rows]
                yield ids, np.stack([_vec(r[1]) for r in rows])

    # -- versions and housekeeping ---------------------------------------------------------------

    def versions(self) -> list[dict[str, Any]]:
        """PostgreSQL collections keep no versions of their own (use the server's backups)."""
        return []

    def restore(self, version: int) -> None:
        """Not available on PostgreSQL: the server's backups (pg_dump, point-in-time recovery)
        are the way back."""
        raise SentvecError(
            f"collection {self.name!r} is in PostgreSQL, which keeps no collection versions. "
            "Fix: restore from the server's backups (pg_dump, point-in-time recovery), or use "
            "a LanceDB folder (the default store) for versioned collections."
        )

    def info(self) -> dict[str, Any]:
        """Name, location, size, model, metric, filter columns and the index with its recall."""
        return {
            "name": self.name,
            "backend": self.backend,
            "path": f"{mask(self.location)} table {self.table_name}",
            "documents": len(self),
            "passages": self._count_passages(),
            "dim": self.meta["dim"],
            "model": self.meta["model"],
            "fingerprint": self.meta["fingerprint"],
            "metric": self.meta["metric"],
            "chunking": self.meta.get("chunking"),
            "min_score": self.meta.get("min_score"),
            "filter_columns": self.columns(),
            "full_text_index": self._table_exists(),
            "vector_index": self.meta.get("index"),
            "search": "approximate" if self.meta.get("index") else "exact",
            "version": None,
            "created": self.meta.get("created"),
            "disk_bytes": self._disk_bytes(),
        }

    def _disk_bytes(self) -> int:
        if not self._table_exists():
            return 0
        row = self.conn.execute("SELECT pg_total_relation_size(%s)", (self.table_name,))
        return int(row.fetchone()[0])

    def drop(self) -> None:
        """Delete the collection's table and settings."""
        with self.conn.transaction():
            self.conn.execute(f"DROP TABLE IF EXISTS {self.table_name}")
            self.conn.execute(f"DELETE FROM {META_TABLE} WHERE name = %s", (self.name,))
        self._undo_ready = False


def _hit(row: Sequence[Any], score: float) -> Hit:
    """A passage hit from a row of ``_HIT_COLUMNS`` (and the score last)."""
    pid, doc, passage, text, title, start, end, meta = row[:8]
    return Hit(
        doc,
        text or "",
        score,
        meta or {},
        title=title or "",
        passage=int(passage),
        start=int(start),
        end=int(end if end is not None else len(text or "")),
        pid=pid,
    )


__all__ = ["EF_SEARCH", "PostgresCollection", "list_postgres", "mask"]
