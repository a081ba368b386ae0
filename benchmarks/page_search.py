"""Load test of the page's search route: ``POST /collections/NAME/search`` on a 10,000-document
collection, at concurrency 8, on 127.0.0.1 only, a fixed number of requests per scenario.

The collection: 5,000 msmarco-subset passages and 5,000 AG News articles (the category is
``msmarco`` or the AG class), indexed once with the packaged all-MiniLM-L6-v2 under
``out/page-search/`` (kept between runs). Queries: the msmarco-subset queries, cycled.
Scenarios: vector, hybrid, hybrid with a category facet, text; each reports p50 / p99
latency and requests/s, with the load average before the run.

    python benchmarks/page_search.py                 # 400 requests per scenario
    python benchmarks/page_search.py --requests 1000

Needs sentvec[server,store] and aiohttp (dev extra). Data: ../shared/data.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import free_port

from _common import data_path, machine

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "out" / "page-search"
NAME = "kb10k"
AG_CLASSES = {"1": "world", "2": "sports", "3": "business", "4": "science"}


def documents() -> list[dict]:
    docs = []
    with open(data_path("msmarco-subset", "corpus.jsonl"), encoding="utf8") as f:
        for line in f:
            row = json.loads(line)
            docs.append(
                {
                    "id": f"m{row['_id']}",
                    "text": row["text"],
                    "title": row.get("title") or None,
                    "category": "msmarco",
                }
            )
            if len(docs) == 5000:
                break
    with open(data_path("ag-news", "test_full.csv"), encoding="utf8") as f:
        for i, row in enumerate(csv.reader(f)):
            if len(docs) == 10_000:
                break
            label, title, text = row[0], row[1], row[2]
            if label not in AG_CLASSES:
                continue  # a header line
            docs.append(
                {"id": f"ag{i}", "text": text, "title": title, "category": AG_CLASSES[label]}
            )
    return docs


def build() -> int:
    """Index the collection once (skipped when it is there)."""
    import sentvec
    from sentvec.records import Record
    from sentvec.store import collection_exists, for_encoder

    if collection_exists(STORE, NAME):
        from sentvec.store import open_collection

        return len(open_collection(STORE, NAME))
    enc = sentvec.load()
    col = for_encoder(STORE, NAME, enc)
    records = [
        Record(
            d["text"],
            d["id"],
            {"category": d["category"], **({"title": d["title"]} if d["title"] else {})},
        )
        for d in documents()
    ]
    t0 = time.perf_counter()
    col.add(records, enc, show_progress=True)
    print(
        f"indexed {len(col)} documents ({col.count_passages()} passages) in "
        f"{time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
    )
    return len(col)


def queries() -> list[str]:
    with open(data_path("msmarco-subset", "queries.jsonl"), encoding="utf8") as f:
        return [json.loads(line)["text"] for line in f]


async def run(url: str, body_for, n: int, concurrency: int) -> dict:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    counter = iter(range(n))

    async def worker(session):
        nonlocal errors
        for i in counter:
            t0 = time.perf_counter()
            async with session.post(f"{url}/collections/{NAME}/search", json=body_for(i)) as r:
                await r.read()
                if r.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - t0)

    async with aiohttp.ClientSession() as s:
        for i in range(16):  # warm-up, not counted
            async with s.post(f"{url}/collections/{NAME}/search", json=body_for(i)) as r:
                await r.read()
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(s) for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    latencies.sort()
    return {
        "requests": n,
        "errors": errors,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "rps": n / wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument(
        "--answer-cache", type=int, default=20_000, help="sentvec serve --answer-cache (0: off)"
    )
    args = ap.parse_args()
    docs = build()
    qs = queries()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("SENTVEC_API_KEY", None)
    log = open(ROOT / "out" / "page-search-serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "sentvec", "serve", "--port", str(port)),
            *("--store", str(STORE), "--answer-cache", str(args.answer_cache)),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        load = os.getloadavg()[0]
        print(
            f"# {machine()}; {docs} documents; concurrency {args.concurrency}; "
            f"{args.requests} requests per scenario; --answer-cache {args.answer_cache}; "
            f"load average {load:.2f} before"
        )
        scenarios = {
            "vector": lambda i: {"query": qs[i % len(qs)], "mode": "vector", "k": 5},
            "hybrid": lambda i: {"query": qs[i % len(qs)], "mode": "hybrid", "k": 5},
            "hybrid + facet": lambda i: {
                "query": qs[i % len(qs)],
                "mode": "hybrid",
                "k": 5,
                "filters": {"category": "msmarco"},
            },
            "text": lambda i: {"query": qs[i % len(qs)], "mode": "text", "k": 5},
            "vector, no answer": lambda i: {  # the answer-sentence step's share
                "query": qs[i % len(qs)],
                "mode": "vector",
                "k": 5,
                "highlight": False,
            },
        }
        only = os.environ.get("SCENARIOS")
        if only:
            scenarios = {k: v for k, v in scenarios.items() if k in only.split(";")}
        print(f"{'scenario':18s} {'p50 ms':>8s} {'p99 ms':>8s} {'req/s':>7s} {'errors':>6s}")
        for name, body in scenarios.items():
            r = asyncio.run(run(url, body, args.requests, args.concurrency))
            print(
                f"{name:18s} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} {r['rps']:7.1f} {r['errors']:6d}"
            )
        print(f"# load average after: {os.getloadavg()[0]:.2f}")
    finally:
        proc.terminate()
        proc.wait(30)


if __name__ == "__main__":
    main()
