"""Long documents: truncation against passages, each aggregation rule, hybrid; ingest cost;
search latency on a 100k-passage collection.

The documents: the 5,000 msmarco-subset passages shuffled (seed 0) into documents of 8
passages each (625 documents of ~550 tokens: most answers lie past the model's 256 tokens).
A document's grade for a query is the highest grade among its passages. Scored: document
nDCG@10 and recall@10 over the judged queries.

    python benchmarks/long_docs.py                 # quality table (+ ingest cost)
    python benchmarks/long_docs.py --latency       # p50/p99 on 100k passages (time it alone)
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sentvec
from sentvec.documents import Chunking
from sentvec.evaluate.retrieval import ndcg_at_k, read_beir, recall_at_k
from sentvec.io import Record
from sentvec.store import for_encoder

from _common import data_path, machine

PER_DOC = 8


def build_documents(seed: int = 0) -> tuple[list[Record], dict[str, dict[str, int]], dict]:
    """The long documents, their qrels (max grade of their passages) and the queries."""
    data = read_beir(data_path("msmarco-subset"))
    ids = sorted(data.corpus)
    random.Random(seed).shuffle(ids)
    docs, owner = [], {}
    for n in range(0, len(ids), PER_DOC):
        doc_id = f"d{n // PER_DOC:04d}"
        part = ids[n : n + PER_DOC]
        docs.append(Record("\n\n".join(data.corpus[i] for i in part), doc_id, {}))
        owner.update({i: doc_id for i in part})
    qrels: dict[str, dict[str, int]] = {}
    for q, judged in data.qrels.items():
        for pid, grade in judged.items():
            if grade > 0 and pid in owner:
                d = owner[pid]
                qrels.setdefault(q, {})[d] = max(qrels.get(q, {}).get(d, 0), grade)
    queries = {q: data.queries[q] for q in qrels}
    return docs, qrels, queries


def score(rankings: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """Mean document nDCG@10 and recall@10 (x 100)."""
    nd = [ndcg_at_k(rankings[q], qrels[q], 10) for q in qrels]
    rc = [recall_at_k(rankings[q], qrels[q], 10) for q in qrels]
    return {
        "ndcg@10": round(100 * float(np.mean(nd)), 2),
        "recall@10": round(100 * float(np.mean(rc)), 2),
    }


def ingest(enc, docs, chunking: Chunking, root: Path, name: str) -> tuple[object, dict]:
    """Store the documents in a new LanceDB collection; time it; measure its size."""
    col = for_encoder(root, name, enc)
    start = time.perf_counter()
    report = col.add(docs, enc, chunking=chunking, show_progress=False)
    seconds = time.perf_counter() - start
    info = col.info()
    return col, {
        "documents": report.added,
        "passages": report.passages,
        "seconds": round(seconds, 1),
        "docs_per_s": round(report.added / seconds, 1),
        "passages_per_s": round(report.passages / seconds, 1),
        "disk_mb": round(info["disk_bytes"] / 2**20, 2),
    }


def aggregate_rankings(col, qvecs: np.ndarray, qids: list[str]) -> dict[str, dict[str, list[str]]]:
    """Document rankings by each aggregation rule, from exact passage scores (brute force)."""
    pids, parts = [], []
    for batch_ids, v in col._scan():
        pids.extend(batch_ids)
        parts.append(v)
    x = np.concatenate(parts)
    docs = np.array([p.rsplit("#", 1)[0] for p in pids])
    index = np.array([int(p.rsplit("#", 1)[1]) for p in pids])
    uniq, inv = np.unique(docs, return_inverse=True)
    q = qvecs / np.linalg.norm(qvecs, axis=1, keepdims=True)
    s = q @ x.T  # (queries, passages)
    rules: dict[str, dict[str, list[str]]] = {}

    def rank(values: np.ndarray) -> list[str]:
        return list(uniq[np.argsort(-values, kind="stable")][:10])

    for name in ("max", "mean", "top-2 mean", "top-3 sum", "max + 0.1 x rest", "first passage"):
        rules[name] = {}
    for qi, qid in enumerate(qids):
        row = s[qi]
        per_doc = [np.sort(row[inv == d])[::-1] for d in range(len(uniq))]
        first = np.full(len(uniq), -np.inf)
        first[inv[index == 0]] = row[index == 0]
        rules["max"][qid] = rank(np.array([p[0] for p in per_doc]))
        rules["mean"][qid] = rank(np.array([p.mean() for p in per_doc]))
        rules["top-2 mean"][qid] = rank(np.array([p[:2].mean() for p in per_doc]))
        rules["top-3 sum"][qid] = rank(np.array([p[:3].sum() for p in per_doc]))
        rules["max + 0.1 x rest"][qid] = rank(np.array([p[0] + 0.1 * p[1:].sum() for p in per_doc]))
        rules["first passage"][qid] = rank(first)
    return rules


def doc_level_hybrid(col, enc, text: str) -> list[str]:
    """The alternative to passage-level fusion: documents ranked by their best passage in the
    vector ranking and in the text ranking separately, the two document lists fused (RRF)."""
    from sentvec.store.fusion import RRF_K, group_documents

    q = enc.encode([text], role="query")[0]
    vec = group_documents(col._vector_search(q, 200, None, True), 50)
    txt = group_documents(col._text_search(text, 200, None), 50)
    scores: dict[str, float] = {}
    for hits in (vec, txt):
        for rank, h in enumerate(hits, 1):
            scores[h.id] = scores.get(h.id, 0.0) + 1 / (RRF_K + rank)
    return sorted(scores, key=lambda d: -scores[d])[:10]


def paired_bootstrap(
    a: dict[str, list[str]], b: dict[str, list[str]], qrels: dict, n: int = 2000
) -> tuple[float, float, float]:
    """nDCG@10 of b minus a (x 100), with a 95% interval from resampling the queries."""
    qs = list(qrels)
    d = np.array([ndcg_at_k(b[q], qrels[q], 10) - ndcg_at_k(a[q], qrels[q], 10) for q in qs])
    rng = np.random.default_rng(0)
    means = [d[rng.integers(0, len(d), len(d))].mean() for _ in range(n)]
    lo, hi = np.percentile(means, [2.5, 97.5])
    return round(100 * d.mean(), 2), round(100 * lo, 2), round(100 * hi, 2)


def quality(args: argparse.Namespace) -> None:
    enc = sentvec.load(args.model, backend=args.backend)
    docs, qrels, queries = build_documents()
    qids = list(queries)
    tokens = [len(ids) for ids in enc.tokenizer.content_ids([d.text for d in docs])]
    print(f"# {machine()}")
    print(
        f"# {len(docs)} documents, median {statistics.median(tokens):.0f} tokens "
        f"({sum(t > enc.max_seq_length for t in tokens)} over the model's {enc.max_seq_length}); "
        f"{len(qids)} judged queries"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        col, cost = ingest(enc, docs, Chunking(enabled=False), root, "whole")
        hits = {
            q: [h.id for h in col.search(queries[q], 10, encoder=enc, min_score=0, highlight=False)]
            for q in qids
        }
        rows.append(
            {"method": "truncation (one passage per document)", **score(hits, qrels), **cost}
        )
        whole_cost, truncated = cost, hits
        compare = []
        qvecs = enc.encode([queries[q] for q in qids], role="query")
        for tokens_, overlap in args.sizes:
            spec = Chunking(tokens=tokens_, overlap=overlap)
            col, cost = ingest(enc, docs, spec, root, f"c{tokens_}-{overlap}")
            label = f"passages {col.meta['chunking']['tokens']}/{col.meta['chunking']['overlap']}"
            for rule, ranking in aggregate_rankings(col, qvecs, qids).items():
                rows.append({"method": f"{label}, {rule}", **score(ranking, qrels), **cost})
            lib = {
                q: [
                    h.id
                    for h in col.search(queries[q], 10, encoder=enc, min_score=0, highlight=False)
                ]
                for q in qids
            }
            rows.append({"method": f"{label}, library search (max)", **score(lib, qrels)})
            hyb = {
                q: [
                    h.id
                    for h in col.search(
                        queries[q], 10, encoder=enc, mode="hybrid", min_score=0, highlight=False
                    )
                ]
                for q in qids
            }
            rows.append({"method": f"{label}, hybrid", **score(hyb, qrels)})
            doc_hyb = {q: doc_level_hybrid(col, enc, queries[q]) for q in qids}
            rows.append({"method": f"{label}, hybrid fused per document", **score(doc_hyb, qrels)})
            compare.append((f"{label} vs truncation", paired_bootstrap(truncated, lib, qrels)))
            compare.append((f"{label}: hybrid vs vector", paired_bootstrap(lib, hyb, qrels)))
    print("| method | nDCG@10 | recall@10 | passages | ingest docs/s | passages/s | disk MB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['method']} | {r['ndcg@10']} | {r['recall@10']} | {r.get('passages', '')} | "
            f"{r.get('docs_per_s', '')} | {r.get('passages_per_s', '')} | {r.get('disk_mb', '')} |"
        )
    print("\n| difference (nDCG@10, paired over the queries) | mean | 95% interval |")
    print("|---|---|---|")
    for name, (mean, lo, hi) in compare:
        print(f"| {name} | {mean:+.2f} | {lo:+.2f} .. {hi:+.2f} |")
    print(json.dumps({"rows": rows, "whole": whole_cost, "compare": compare}))


def latency(args: argparse.Namespace) -> None:
    """Search p50/p99 on a collection of ``--passages`` passages (8 per document): vectors of
    real msmarco passages, repeated with small noise, written with add_passages."""
    from sentvec.documents import Passage

    enc = sentvec.load(args.model, backend=args.backend)
    data = read_beir(data_path("msmarco-subset"))
    texts = list(data.corpus.values())
    base = enc.encode(texts, role="document", show_progress=True)
    rng = np.random.default_rng(0)
    n = args.passages
    with tempfile.TemporaryDirectory() as tmp:
        col = for_encoder(tmp, "big", enc)
        start = time.perf_counter()
        for a in range(0, n, 8000):
            idx = np.arange(a, min(a + 8000, n))
            vecs = base[idx % len(base)] + 0.05 * rng.standard_normal((len(idx), base.shape[1]))
            passages = [
                Passage(
                    f"d{i // 8}", i % 8, texts[i % len(texts)][:200], 0, 200, "", {"n": int(i % 7)}
                )
                for i in idx
            ]
            col.add_passages(passages, vecs.astype(np.float32), refresh=False)
        col.refresh_indexes()
        print(
            f"# {machine()}; {n} passages written and indexed in "
            f"{time.perf_counter() - start:.0f} s; index {col.meta.get('index')}"
        )
        queries = enc.encode(list(data.queries.values()), role="query")
        qs = np.concatenate([queries, queries + 0.02 * rng.standard_normal(queries.shape)]).astype(
            np.float32
        )
        for label, kw in [("documents (grouped)", {}), ("passages", {"passages": True})]:
            for q in qs[:10]:
                col.search(vector=q, k=10, min_score=0, **kw)  # warm the caches
            times = []
            for q in qs:
                t = time.perf_counter()
                col.search(vector=q, k=10, min_score=0, **kw)
                times.append(1000 * (time.perf_counter() - t))
            times.sort()
            p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99) - 1]
            print(f"| {label} | {len(times)} queries | p50 {p50:.1f} ms | p99 {p99:.1f} ms |")


def ingest_cost(args: argparse.Namespace) -> None:
    """Ingest the long documents whole (cut at 256 tokens) and as passages (the default),
    ``--repeat`` times each, alternating; median documents/s, passages/s and disk size."""
    enc = sentvec.load(args.model, backend=args.backend)
    docs, _, _ = build_documents()
    runs: dict[str, list[dict]] = {"whole (truncated)": [], "passages (default 128/32)": []}
    specs = {"whole (truncated)": Chunking(enabled=False), "passages (default 128/32)": None}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            for label, spec in specs.items():
                name = f"i{r}-{len(runs[label])}-{label[:5]}"
                _, cost = ingest(enc, docs, spec or Chunking(), Path(tmp), name)
                runs[label].append(cost)
    print(f"# {machine()}; {len(docs)} documents; medians of {args.repeat} alternating runs")
    print("| stored as | passages | seconds | documents/s | passages/s | disk MB |")
    print("|---|---|---|---|---|---|")
    for label, costs in runs.items():
        med = {k: statistics.median(c[k] for c in costs) for k in costs[0]}
        print(
            f"| {label} | {med['passages']:.0f} | {med['seconds']:.1f} | {med['docs_per_s']:.1f} | "
            f"{med['passages_per_s']:.1f} | {med['disk_mb']:.2f} |"
        )


def help_centre(args: argparse.Namespace) -> None:
    """The example help centre (10 articles) and its 24 questions: how often the right article
    is first, for truncation and each passage size."""
    from sentvec.io import read_records

    root = Path(__file__).resolve().parents[1]
    enc = sentvec.load(args.model, backend=args.backend)
    records = read_records(root / "examples" / "help-centre")
    rows = [
        json.loads(x)
        for x in (root / "benchmarks" / "queries" / "help_centre.jsonl").read_text().splitlines()
    ]
    specs = [("truncation", Chunking(enabled=False))]
    specs += [(f"passages {t}/{o}", Chunking(tokens=t, overlap=o)) for t, o in args.sizes]
    print("| help centre (24 questions) | right article first | in the top 3 | MRR@10 |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n, (label, spec) in enumerate(specs):
            col = for_encoder(tmp, f"h{n}", enc)
            col.add(records, enc, chunking=spec, show_progress=False)
            for mode in ("vector", "hybrid"):
                first = top3 = 0
                rr = []
                for r in rows:
                    hits = col.search(
                        r["query"], 10, mode=mode, encoder=enc, min_score=0, highlight=False
                    )
                    ids = [h.id for h in hits]
                    first += ids[:1] == [r["answer"]]
                    top3 += r["answer"] in ids[:3]
                    rr.append(1 / (ids.index(r["answer"]) + 1) if r["answer"] in ids else 0.0)
                print(
                    f"| {label}, {mode} | {first}/{len(rows)} | {top3}/{len(rows)} | "
                    f"{100 * np.mean(rr):.1f} |"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None)
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--latency", action="store_true")
    parser.add_argument("--help-centre", action="store_true")
    parser.add_argument("--ingest", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument(
        "--sizes",
        type=lambda s: [tuple(int(x) for x in part.split("/")) for part in s.split(",")],
        default=[(64, 16), (96, 24), (128, 0), (128, 32), (192, 48), (254, 64)],
        help="passage tokens/overlap pairs, e.g. 128/32,254/64",
    )
    args = parser.parse_args()
    if args.latency:
        latency(args)
    elif args.help_centre:
        help_centre(args)
    elif args.ingest:
        ingest_cost(args)
    else:
        quality(args)


if __name__ == "__main__":
    main()
