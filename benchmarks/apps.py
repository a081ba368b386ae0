"""Applications benchmark: the collection, dedup, clustering, zero-shot labels, retrieval.

    PYTHONPATH=src python benchmarks/apps.py [--parts collection,dedup,cluster,classify,retrieval]
                                             [--sizes 100000,1000000]

Text embeddings (all-MiniLM-L6-v2) are cached in cache/bench-apps/ (git-ignored). The
collection part uses synthetic 384-d unit vectors (a mixture of 2,000 Gaussian clusters):
encoding a million sentences is out of reach on the 2-core benchmark machine. Every other
figure is on real text from ../shared/data. Prints one JSON line per figure and a summary.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / "cache" / "bench-apps"
RESULTS: list[dict[str, Any]] = []
ST_SAMPLE = 1000  # AG News texts also encoded by sentence-transformers (the reference)


def report(**row: Any) -> None:
    """Print and keep one figure."""
    RESULTS.append(row)
    print(json.dumps(row), flush=True)


def need(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"missing data: {path} (the shared data folder of the project workspace)")
    return path


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def encoder() -> Any:
    import sentvec

    if not hasattr(encoder, "cached"):
        encoder.cached = sentvec.load()  # type: ignore[attr-defined]
    return encoder.cached  # type: ignore[attr-defined]


def embed(name: str, texts: list[str], prompt: str | None = None) -> np.ndarray:
    """Sentvec vectors of texts, cached as cache/bench-apps/NAME.npy."""
    path = CACHE / f"{name}.npy"
    if path.exists():
        v = np.load(path)
        if len(v) == len(texts):
            return v
    CACHE.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    v = encoder().encode(texts, batch_size=64, prompt=prompt, show_progress=True)
    report(
        part="encode",
        what=name,
        texts=len(texts),
        texts_per_s=round(len(texts) / (time.perf_counter() - start), 1),
    )
    np.save(path, v)
    return v


def peak(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run fn; return (result, seconds, peak traced memory in MB)."""
    tracemalloc.start()
    start = time.perf_counter()
    out = fn()
    secs = time.perf_counter() - start
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, secs, top / 2**20


# -- collection ---------------------------------------------------------------------------


def synthetic(n: int, dim: int = 384, clusters: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    x = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        x[s : s + m] = centres[rng.integers(0, clusters, m)] + 0.8 * rng.standard_normal(
            (m, dim), dtype=np.float32
        )
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def real_derived(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str] | None:
    """n vectors from the cached real sentence vectors (MSRP+STSb, AG News, MS MARCO
    passages) plus perturbed copies of them (cosine ~0.75-0.97 to their source), and 100
    real held-out queries (AG News texts left out of the base); None if nothing is cached."""
    names = ("msrp_stsb_sentences", "msmarco_corpus", "ag_news")
    if not all((CACHE / f"{m}.npy").exists() for m in names):
        return None
    parts = [np.load(CACHE / f"{m}.npy") for m in names]
    rng = np.random.default_rng(seed)
    ag = parts[2][rng.permutation(len(parts[2]))]
    queries, base = ag[:100], np.concatenate([parts[0], parts[1], ag[100:]])
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    real = min(n, len(base))
    out[:real] = base[:real]
    for s in range(real, n, 100_000):
        m = min(100_000, n - s)
        noise = rng.standard_normal((m, base.shape[1]), dtype=np.float32)
        noise *= rng.uniform(0.25, 0.9, (m, 1)).astype(np.float32) / np.sqrt(base.shape[1])
        out[s : s + m] = base[rng.integers(0, len(base), m)] + noise
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    return out, queries, f"{real} real MiniLM vectors + {n - real} perturbed copies"


def bench_collection(n: int) -> None:
    from sentvec.store import create_collection

    made = real_derived(n)
    if made is None:
        x = synthetic(n)
        rng = np.random.default_rng(1)
        pick = rng.integers(0, n, (100, 2))
        queries = x[pick[:, 0]] + x[pick[:, 1]]
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        kind = "synthetic Gaussian-mixture unit vectors"
    else:
        x, queries, kind = made
    report(part="collection", n=n, vectors=kind, queries=len(queries))
    with tempfile.TemporaryDirectory(dir=CACHE) as root:
        col = create_collection(root, "bench", dim=384, model="synthetic", fingerprint="synthetic")
        ids = [f"doc{i}" for i in range(n)]
        start = time.perf_counter()
        batch = 100_000
        for s in range(0, n, batch):
            col.add_vectors(ids[s : s + batch], x[s : s + batch], refresh=False)
        ingest = time.perf_counter() - start
        again = time.perf_counter()
        skipped = col.add_vectors(ids[:batch], x[:batch], refresh=False)
        reingest = time.perf_counter() - again
        report(
            part="collection",
            n=n,
            ingest_s=round(ingest, 2),
            rows_per_s=round(n / ingest),
            rows=len(col),
            re_add_first_100k_s=round(reingest, 2),
            re_added=skipped,
        )
        exact_ms, exact_ids = _latency(col, queries, exact=True)
        report(
            part="collection",
            n=n,
            search="exact",
            k=10,
            p50_ms=_pct(exact_ms, 50),
            p99_ms=_pct(exact_ms, 99),
            queries=len(queries),
        )
        start = time.perf_counter()
        built = col.build_index()
        report(
            part="collection",
            n=n,
            index=built["type"],
            partitions=built["partitions"],
            build_s=round(time.perf_counter() - start, 1),
            recall_at_10_info=built["recall_at_10"],
        )
        for probes, refine in ((8, None), (16, None), (32, None), (64, None)):
            ann_ms, ann_ids = _latency(col, queries, exact=False, nprobes=probes, refine=refine)
            recall = np.mean(
                [len(set(a) & set(e)) / 10 for a, e in zip(ann_ids, exact_ids, strict=True)]
            )
            report(
                part="collection",
                n=n,
                search="approximate",
                nprobes=probes,
                k=10,
                p50_ms=_pct(ann_ms, 50),
                p99_ms=_pct(ann_ms, 99),
                recall_at_10=round(float(recall), 4),
                queries=len(queries),
            )
        where_ms, _ = _latency(col, queries[:20], exact=False, where="id < 'doc5'")
        report(
            part="collection",
            n=n,
            search="approximate+filter",
            p50_ms=_pct(where_ms, 50),
            p99_ms=_pct(where_ms, 99),
            rss_peak_mb=round(rss_mb()),
        )


def _latency(
    col: Any,
    queries: np.ndarray,
    exact: bool,
    nprobes: int = 20,
    where: str | None = None,
    refine: int | None = None,
) -> tuple[list[float], list[list[str]]]:
    times, ids = [], []
    col.search(queries[0], k=10, exact=exact)  # warm
    for q in queries:
        start = time.perf_counter()
        tq = col.table.search(q).distance_type("cosine").limit(10)
        tq = tq.bypass_vector_index() if exact else tq.nprobes(nprobes)
        if refine and not exact:
            tq = tq.refine_factor(refine)
        if where:
            tq = tq.where(where, prefilter=True)
        rows = tq.select(["id", "_distance"]).to_arrow()
        times.append(1000 * (time.perf_counter() - start))
        ids.append(rows.column("id").to_pylist())
    return times, ids


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


# -- dedup -------------------------------------------------------------------------------


def paraphrase_sentences() -> list[str]:
    seen: dict[str, None] = {}
    for split in ("train", "val", "test"):
        with open(need(DATA / "msrp" / f"msr-para-{split}.tsv"), encoding="utf-8-sig") as f:
            for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                if len(row) >= 5 and row[0] in ("0", "1"):
                    seen.update({row[3]: None, row[4]: None})
    for split in ("train", "dev", "test"):
        with open(need(DATA / "stsb" / f"sts-{split}.csv"), encoding="utf8") as f:
            for line in f:
                cols = line.rstrip("\n").split("\t")
                if len(cols) >= 7:
                    seen.update({cols[5]: None, cols[6]: None})
    return [s for s in seen if s.strip()]


def bench_dedup(threshold: float) -> None:
    import torch
    from sentence_transformers.util import paraphrase_mining_embeddings

    from sentvec.apps.dedup import find_duplicates

    texts = paraphrase_sentences()
    v = embed("msrp_stsb_sentences", texts)
    n = len(v)
    ours, secs, mem = peak(
        lambda: find_duplicates(vectors=v, threshold=threshold, k=10, exact=True)
    )
    ours_pairs = {(a, b) for a, b, _ in ours.pairs}
    st_out, st_secs, st_mem = peak(
        lambda: paraphrase_mining_embeddings(torch.from_numpy(v), top_k=10, max_pairs=10_000_000)
    )
    st_pairs = {(min(i, j), max(i, j)) for s, i, j in st_out if s >= threshold}
    inter = len(ours_pairs & st_pairs)
    report(
        part="dedup",
        data="MSRP+STSb unique sentences",
        n=n,
        threshold=threshold,
        sentvec_s=round(secs, 2),
        sentvec_peak_mb=round(mem),
        st_paraphrase_mining_s=round(st_secs, 2),
        st_peak_mb=round(st_mem),
        sentvec_pairs=len(ours_pairs),
        st_pairs=len(st_pairs),
        agreement_jaccard=round(inter / max(1, len(ours_pairs | st_pairs)), 4),
        groups=len(ours.groups),
    )
    approx, asecs, amem = peak(
        lambda: find_duplicates(vectors=v, threshold=threshold, k=10, exact=False)
    )
    report(
        part="dedup",
        n=n,
        mode="approximate (IVF)",
        seconds=round(asecs, 2),
        peak_mb=round(amem),
        pair_recall_vs_exact=round(
            len({(a, b) for a, b, _ in approx.pairs} & ours_pairs) / max(1, len(ours_pairs)), 4
        ),
    )
    _dedup_100k(v, threshold)


def _dedup_100k(v: np.ndarray, threshold: float) -> None:
    """100,000 vectors: the real ones plus perturbed copies (near-duplicates by design)."""
    from sentvec.apps.dedup import find_duplicates

    rng = np.random.default_rng(0)
    extra = 100_000 - len(v)
    src = rng.integers(0, len(v), extra)
    noise = rng.standard_normal((extra, v.shape[1])).astype(np.float32)
    noise *= rng.uniform(0.05, 0.6, (extra, 1)).astype(np.float32) / np.sqrt(v.shape[1])
    unit_v = v / np.linalg.norm(v, axis=1, keepdims=True)
    x = np.concatenate([unit_v, unit_v[src] + noise])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    got, secs, mem = peak(lambda: find_duplicates(vectors=x, threshold=threshold, k=10))
    found = {(a, b) for a, b, _ in got.pairs}
    sample = rng.choice(len(x), 2000, replace=False)  # exact all-pairs rows for a sample
    sims = x[sample] @ x.T
    want = {
        (min(int(i), int(j)), max(int(i), int(j)))
        for r, i in enumerate(sample)
        for j in np.flatnonzero(sims[r] >= threshold)
        if j != i
    }
    report(
        part="dedup",
        n=len(x),
        data="MSRP+STSb vectors + perturbed copies",
        mode="auto (IVF)",
        seconds=round(secs, 2),
        peak_mb=round(mem),
        pairs=len(found),
        groups=len(got.groups),
        sample_rows=len(sample),
        pair_recall_vs_all_pairs_on_sample=round(len(want & found) / max(1, len(want)), 4),
        rss_peak_mb=round(rss_mb()),
    )


# -- AG News: clustering and zero-shot ----------------------------------------------------


def ag_news() -> tuple[list[str], np.ndarray, list[str]]:
    texts, labels = [], []
    with open(need(DATA / "ag-news" / "test_full.csv"), encoding="utf8") as f:
        for row in csv.reader(f):
            labels.append(int(row[0]) - 1)
            texts.append(f"{row[1]}. {row[2]}".replace("\\", " "))
    names = need(DATA / "ag-news" / "classes.txt").read_text(encoding="utf8").split()
    return texts, np.asarray(labels), names


def bench_cluster() -> None:
    from sklearn.metrics import adjusted_rand_score, v_measure_score

    from sentvec.apps.cluster import cluster

    texts, labels, _ = ag_news()
    v = embed("ag_news", texts)
    for method, kw in (("kmeans", {"k": 4}), ("kmeans", {"k_max": 8})):
        got, secs, _ = peak(lambda m=method, kw=kw: cluster(texts, m, vectors=v, **kw))
        report(
            part="cluster",
            data="AG News test",
            n=len(texts),
            method=method,
            **kw,
            clusters=len(got.clusters),
            v_measure=round(v_measure_score(labels, got.labels), 4),
            ari=round(adjusted_rand_score(labels, got.labels), 4),
            seconds=round(secs, 1),
            keywords=[c.keywords[:4] for c in got.clusters[:4]],
            silhouette=got.silhouette or None,
        )


def bench_classify() -> None:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import cos_sim

    from sentvec.apps.classify import classify

    texts, labels, names = ag_news()
    v = embed("ag_news", texts)
    template = "This text is about {}."
    start = time.perf_counter()
    got = classify(None, names, template, vectors=v, encoder=encoder())
    acc = float(np.mean([names.index(g.label) == y for g, y in zip(got, labels, strict=True)]))
    secs = time.perf_counter() - start
    from sentvec import hub

    st = SentenceTransformer(str(hub.resolve(None)), device="cpu")  # the same packaged folder
    sample = np.random.default_rng(0).choice(len(texts), ST_SAMPLE, replace=False)
    start = time.perf_counter()
    st_v = st.encode([texts[i] for i in sample], batch_size=64, convert_to_tensor=True)
    st_l = st.encode([template.format(c) for c in names], convert_to_tensor=True)
    st_pred = torch.argmax(cos_sim(st_v, st_l), dim=1).numpy()
    st_secs = time.perf_counter() - start
    ours = np.asarray([names.index(got[i].label) for i in sample])
    report(
        part="classify",
        data="AG News test",
        n=len(texts),
        labels=names,
        template=template,
        sentvec_accuracy=round(acc, 4),
        sentvec_label_s=round(secs, 2),
        sample=ST_SAMPLE,
        sentvec_accuracy_on_sample=round(float(np.mean(ours == labels[sample])), 4),
        st_reference_accuracy_on_sample=round(float(np.mean(st_pred == labels[sample])), 4),
        same_prediction_on_sample=round(float(np.mean(st_pred == ours)), 4),
        st_encode_and_label_s=round(st_secs, 1),
        max_abs_vector_diff=float(np.abs(st_v.numpy() - v[sample]).max()),
    )
    multi = [*names, "Technology", "Science", "Politics", "Economy"]
    got = classify(
        None,
        multi,
        templates=[template, "A news article about {}.", "{} news"],
        vectors=v,
        encoder=encoder(),
    )
    mapping = {"Technology": 3, "Science": 3, "Politics": 0, "Economy": 2}
    pred = [mapping.get(g.label, names.index(g.label) if g.label in names else -1) for g in got]
    report(
        part="classify",
        data="AG News test",
        variant="8 labels mapped to 4, 3 templates",
        accuracy=round(float(np.mean(np.asarray(pred) == labels)), 4),
    )


# -- retrieval through the collection ------------------------------------------------------


def bench_retrieval() -> None:
    from sentvec.store import for_encoder

    base = need(DATA / "msmarco-subset")
    with open(base / "corpus.jsonl", encoding="utf8") as f:
        corpus = [json.loads(x) for x in f]
    with open(base / "queries.jsonl", encoding="utf8") as f:
        queries = [json.loads(x) for x in f]
    qrels: dict[str, dict[str, int]] = {}
    with open(base / "qrels" / "test.tsv", encoding="utf8") as f:
        for row in csv.reader(f, delimiter="\t"):
            if row[0] != "query-id":
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    queries = [q for q in queries if q["_id"] in qrels]
    texts = [(d.get("title", "") + " " + d["text"]).strip() for d in corpus]
    v = embed("msmarco_corpus", texts)
    enc = encoder()
    with tempfile.TemporaryDirectory(dir=CACHE) as root:
        col = for_encoder(root, "msmarco", enc)
        start = time.perf_counter()
        col.add_vectors([d["_id"] for d in corpus], v, texts)
        report(part="retrieval", ingest_5000_s=round(time.perf_counter() - start, 2))
        qv = enc.encode([q["text"] for q in queries])
        exact_ref = _ndcg_numpy(v, qv, [d["_id"] for d in corpus], queries, qrels)
        for mode in ("vector", "text", "hybrid"):
            start = time.perf_counter()
            runs = [
                [
                    h.id
                    for h in col.search(
                        q["text"], k=10, mode=mode, encoder=enc, min_score=0, highlight=False
                    )
                ]
                for q in queries
            ]
            ms = 1000 * (time.perf_counter() - start) / len(queries)
            report(
                part="retrieval",
                data="msmarco-subset (5000 passages)",
                mode=mode,
                queries=len(queries),
                ndcg_at_10=round(_ndcg(runs, queries, qrels), 4),
                ms_per_query_incl_encode=round(ms, 1),
            )
        report(part="retrieval", mode="numpy exact reference", ndcg_at_10=round(exact_ref, 4))


def _ndcg(
    runs: list[list[str]], queries: list[dict[str, Any]], qrels: dict[str, dict[str, int]]
) -> float:
    scores = []
    for run, q in zip(runs, queries, strict=True):
        rel = qrels[q["_id"]]
        dcg = sum(rel.get(d, 0) / np.log2(i + 2) for i, d in enumerate(run[:10]))
        ideal = sorted(rel.values(), reverse=True)[:10]
        idcg = sum(r / np.log2(i + 2) for i, r in enumerate(ideal))
        scores.append(dcg / idcg if idcg > 0 else 0.0)
    return float(np.mean(scores))


def _ndcg_numpy(
    v: np.ndarray,
    qv: np.ndarray,
    ids: list[str],
    queries: list[dict[str, Any]],
    qrels: dict[str, dict[str, int]],
) -> float:
    u = v / np.linalg.norm(v, axis=1, keepdims=True)
    q = qv / np.linalg.norm(qv, axis=1, keepdims=True)
    top = np.argsort(-(q @ u.T), axis=1)[:, :10]
    return _ndcg([[ids[i] for i in row] for row in top], queries, qrels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", default="retrieval,classify,cluster,dedup,collection")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--threshold", type=float, default=0.9)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    CACHE.mkdir(parents=True, exist_ok=True)
    parts = args.parts.split(",")
    print(f"# benchmarks/apps.py {' '.join(sys.argv[1:])}  ({os.cpu_count()} CPUs)", flush=True)
    if "retrieval" in parts:
        bench_retrieval()
    if "classify" in parts:
        bench_classify()
    if "cluster" in parts:
        bench_cluster()
    if "dedup" in parts:
        bench_dedup(args.threshold)
    if "collection" in parts:
        for n in (int(s) for s in args.sizes.split(",")):
            bench_collection(n)
    (CACHE / "results.jsonl").open("a", encoding="utf8").write(
        "".join(json.dumps(r) + "\n" for r in RESULTS)
    )


if __name__ == "__main__":
    main()
