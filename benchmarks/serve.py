"""Serving benchmark: `sentvec serve` vs infinity-emb vs a plain FastAPI endpoint that calls
sentence-transformers per request, side by side in one run, on 127.0.0.1 only.

A bounded load generator (a fixed number of requests per scenario, then it stops) sends
one-sentence requests at concurrency 1, 8, 32, 128 and 32-sentence requests at concurrency
1 and 8, and reports sentences/s and p50/p99 latency, plus the offline ``encode``
throughput of the same backend (the ceiling). All servers run at once, idle while another
is measured; each scenario runs every contender back to back, so machine load hits them alike.

    python benchmarks/serve.py                       # all contenders found
    python benchmarks/serve.py --infinity /work/sidevenvs/infinity/bin/infinity_emb
    python benchmarks/serve.py --only sentvec --soak 240   # bounded soak: errors, RSS growth

Needs sentvec[server], sentence-transformers and aiohttp (dev extra); infinity-emb lives in a
separate venv (it pins its own torch stack). Data: ../shared/data/wiki-sentences.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, run_child, wiki_sentences

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = [(1, 1), (1, 8), (1, 32), (1, 128), (32, 1), (32, 8)]  # (sentences/request, conc)
ST_SERVER = """
import sys
from typing import Union
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sentence_transformers import SentenceTransformer

model = SentenceTransformer(sys.argv[2], device="cpu")
app = FastAPI()

class Req(BaseModel):
    input: Union[str, list[str]]
    model: str = ""

@app.post("/v1/embeddings")
def embed(req: Req):  # what people write: a sync endpoint, one encode per request
    texts = [req.input] if isinstance(req.input, str) else req.input
    vecs = model.encode(texts)
    return {"data": [{"index": i, "embedding": v.tolist()} for i, v in enumerate(vecs)]}

@app.get("/health")
def health():
    return {"ok": True}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@dataclass
class Contender:
    """A server under test."""

    name: str
    url: str
    model: str
    proc: subprocess.Popen[bytes]
    ready_path: str
    results: dict[tuple[int, int], dict[str, float]] = field(default_factory=dict)


def loads(data: bytes) -> object:
    """Parse a response (orjson when installed: the load generator should take as little of
    the machine it shares with the servers as it can; the same parser for every contender)."""
    try:
        import orjson
    except ImportError:
        return json.loads(data)
    return orjson.loads(data)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def model_folder() -> str:
    """The packaged all-MiniLM-L6-v2 folder (the same files for every contender)."""
    import sentvec

    return str(sentvec.load().spec.transformer_path)


def start(name: str, cmd: list[str], port: int, model: str, ready: str) -> Contender:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TOKENIZERS_PARALLELISM": "false"}
    env.pop("SENTVEC_API_KEY", None)
    log = open(ROOT / "out" / f"serve-bench-{name}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    return Contender(name, f"http://127.0.0.1:{port}", model, proc, ready)


async def wait_ready(c: Contender, timeout: float = 300) -> None:
    import aiohttp

    deadline = time.time() + timeout
    async with aiohttp.ClientSession() as s:
        while time.time() < deadline:
            if c.proc.poll() is not None:
                raise SystemExit(f"{c.name} exited (see out/serve-bench-{c.name}.log)")
            try:
                async with s.get(c.url + c.ready_path) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
    raise SystemExit(f"{c.name} not ready after {timeout} s")


async def load(
    c: Contender, pool: list[str], per_request: int, concurrency: int, n_requests: int
) -> dict[str, float]:
    """Send ``n_requests`` requests of ``per_request`` sentences, ``concurrency`` at a time."""
    import aiohttp

    path = "/embeddings" if c.name == "infinity-emb" else "/v1/embeddings"
    latencies: list[float] = []
    errors = 0
    counter = itertools.count()
    conn = aiohttp.TCPConnector(limit=concurrency + 4)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=300)) as s:

        async def worker() -> None:
            nonlocal errors
            while (i := next(counter)) < n_requests:
                start = (i * per_request) % (len(pool) - per_request)
                body = {"input": pool[start : start + per_request], "model": c.model}
                t = time.perf_counter()
                async with s.post(c.url + path, json=body) as r:
                    data = await r.read()
                    if r.status != 200 or len(loads(data)["data"]) != per_request:
                        errors += 1
                latencies.append(time.perf_counter() - t)

        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
        client_cpu = time.process_time() - c0
    lat = sorted(latencies)
    return {
        "sentences_per_s": n_requests * per_request / wall,
        "p50_ms": 1000 * statistics.median(lat),
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "errors": errors,
        "requests": n_requests,
        # the load generator shares the 2 cores with the servers: its CPU per second of run
        "client_cpu_share": client_cpu / wall,
    }


async def batch_stats(c: Contender) -> tuple[float, float]:
    """(model calls, texts) so far, from sentvec's /metrics (zeros for other servers)."""
    import aiohttp

    if c.name != "sentvec":
        return 0.0, 0.0
    async with aiohttp.ClientSession() as s, s.get(c.url + "/metrics") as r:
        text = await r.text()
    values = {}
    for line in text.splitlines():
        if line.startswith(("sentvec_batch_texts_count", "sentvec_batch_texts_sum")):
            values[line.split("{")[0]] = float(line.split()[-1])
    return values.get("sentvec_batch_texts_count", 0.0), values.get("sentvec_batch_texts_sum", 0.0)


def n_requests(per_request: int, concurrency: int, scale: float) -> int:
    base = max(100, 6 * concurrency) if per_request == 1 else max(20, 5 * concurrency)
    return max(concurrency, int(base * scale))


def offline(backend: str, pool: list[str], n: int = 1000) -> tuple[float, float]:
    """Offline Encoder.encode throughput of the same backend, median of 3:
    (sentences/s, sentences per CPU-second)."""
    texts_file = ROOT / "out" / "serve-bench-texts.json"
    texts_file.write_text(json.dumps(pool[:n]))
    code = f"""
import json, statistics, time, sys
sys.path.insert(0, {str(ROOT / "src")!r})
import sentvec
enc = sentvec.load(backend={backend!r})
texts = json.loads(open({str(texts_file)!r}).read())
enc.encode(texts[:64])
runs, cpu = [], []
for _ in range(3):
    t, c = time.perf_counter(), time.process_time()
    enc.encode(texts, batch_size=32)
    runs.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
print(json.dumps({{"sps": len(texts) / statistics.median(runs),
                   "spc": len(texts) / statistics.median(cpu)}}))
"""
    out = run_child(code)
    return float(out["sps"]), float(out["spc"])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads, so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def soak(c: Contender, pool: list[str], seconds: float, concurrency: int = 32) -> dict:
    """Bounded soak: rounds of one-sentence requests at ``concurrency`` for ``seconds``."""
    await load(c, pool, 1, concurrency, 500)  # warm-up, then the baseline RSS
    rss = [rss_mb(c.proc.pid)]
    start, rounds, errors, sent = time.time(), 0, 0, 0.0
    p99s = []
    while time.time() - start < seconds:
        r = await load(c, pool, 1, concurrency, 1000)
        rounds += 1
        errors += int(r["errors"])
        sent += r["sentences_per_s"]
        p99s.append(r["p99_ms"])
        rss.append(rss_mb(c.proc.pid))
    return {
        "seconds": round(time.time() - start),
        "requests": rounds * 1000,
        "errors": errors,
        "mean_sentences_per_s": sent / max(rounds, 1),
        "worst_p99_ms": max(p99s, default=0.0),
        "rss_start_mb": rss[0],
        "rss_end_mb": rss[-1],
        "rss_max_mb": max(rss),
        "rss_growth_pct": 100 * (rss[-1] - rss[0]) / rss[0],
    }


def contenders(args: argparse.Namespace, folder: str) -> list[Contender]:
    out = []
    if "sentvec" in args.only:
        port = free_port()
        cmd = [sys.executable, "-m", "sentvec", "serve", "--port", str(port), "--model"]
        cmd += [f"minilm={folder}", "--backend", args.backend, *args.sentvec_args.split()]
        out.append(start("sentvec", cmd, port, "minilm", "/ready"))
    if "infinity" in args.only and args.infinity and Path(args.infinity).exists():
        port = free_port()
        cmd = [args.infinity, "v2", "--model-id", folder, "--port", str(port), "--host"]
        cmd += ["127.0.0.1", "--engine", "torch", "--device", "cpu", "--no-model-warmup"]
        cmd += ["--served-model-name", "minilm"]
        out.append(start("infinity-emb", cmd, port, "minilm", "/health"))
    elif "infinity" in args.only:
        print(f"infinity-emb not found at {args.infinity}: left out", file=sys.stderr)
    if "st" in args.only:
        port = free_port()
        cmd = [sys.executable, "-c", ST_SERVER, str(port), folder]
        out.append(start("fastapi+st", cmd, port, "minilm", "/health"))
    return out


async def main_async(args: argparse.Namespace) -> dict:
    folder = model_folder()
    pool = wiki_sentences(4000)
    (ROOT / "out").mkdir(exist_ok=True)
    servers = contenders(args, folder)
    try:
        for c in servers:
            await wait_ready(c)
        report: dict = {"machine": machine(), "backend": args.backend, "model": folder}
        report["sentvec_args"] = args.sentvec_args
        if args.soak:
            report["soak"] = await soak(servers[0], pool, args.soak)
            return report
        sps, spc = offline(args.backend, pool)
        report["offline_sentences_per_s"], report["offline_sentences_per_cpu_s"] = sps, spc
        print(f"offline encode ({args.backend}): {sps:.1f} sent/s, {spc:.1f} sent/cpu-s")
        for c in servers:  # warm-up: first requests pay for lazy initialisation
            await load(c, pool, 8, 4, 20)
        scenarios = [tuple(int(x) for x in sc.split("x")) for sc in args.scenarios.split(",")]
        for per, conc in scenarios:
            for c in servers:
                calls0, texts0 = await batch_stats(c)
                cpu0 = cpu_seconds(c.proc.pid)
                n = n_requests(per, conc, args.scale)
                r = await load(c, pool, per, conc, n)
                # sentences per CPU-second of the server: robust to the share of a loaded
                # machine the scheduler gives it (more runnable threads get more CPU)
                r["sentences_per_cpu_s"] = n * per / max(cpu_seconds(c.proc.pid) - cpu0, 1e-9)
                calls1, texts1 = await batch_stats(c)
                if calls1 > calls0:
                    r["mean_batch"] = (texts1 - texts0) / (calls1 - calls0)
                c.results[(per, conc)] = r
                batch = f"  batch {r['mean_batch']:.1f}" if "mean_batch" in r else ""
                print(
                    f"{per:>2} sent x c={conc:<3} {c.name:<13} {r['sentences_per_s']:8.1f} sent/s"
                    f"  p50 {r['p50_ms']:8.1f} ms  p99 {r['p99_ms']:8.1f} ms  err {r['errors']}"
                    f"  {r['sentences_per_cpu_s']:6.1f} sent/cpu-s{batch}"
                    f"  client {r['client_cpu_share']:.2f} cores",
                    flush=True,
                )
        report["results"] = {
            c.name: {f"{p}x{k}": v for (p, k), v in c.results.items()} for c in servers
        }
        return report
    finally:
        for c in servers:
            c.proc.terminate()
        for c in servers:
            try:
                c.proc.wait(20)
            except subprocess.TimeoutExpired:
                c.proc.kill()


def print_ratios(report: dict) -> None:
    res = report.get("results", {})
    off = report["offline_sentences_per_s"]
    print(f"\noffline encode ({report['backend']}): {off:.1f} sent/s")
    sv = res.get("sentvec", {}).get("1x32")
    if not sv:
        return
    off_cpu = report["offline_sentences_per_cpu_s"]
    print(
        f"sentvec 1-sentence c=32: {sv['sentences_per_s'] / off:.0%} of offline encode "
        f"throughput, {sv['sentences_per_cpu_s'] / off_cpu:.0%} of its CPU efficiency"
    )
    for other in ("infinity-emb", "fastapi+st"):
        o = res.get(other, {}).get("1x32")
        if o:
            print(
                f"sentvec / {other} at c=32: {sv['sentences_per_s'] / o['sentences_per_s']:.1f}x "
                f"throughput, {sv['sentences_per_cpu_s'] / o['sentences_per_cpu_s']:.1f}x "
                f"sentences per CPU-second, p99 {sv['p99_ms']:.0f} vs {o['p99_ms']:.0f} ms"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="torch", help="sentvec backend (torch/onnx/onnx-int8)")
    ap.add_argument("--infinity", default="/work/sidevenvs/infinity/bin/infinity_emb")
    ap.add_argument("--only", default="sentvec,infinity,st", help="contenders, comma-separated")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every request count")
    ap.add_argument(
        "--scenarios",
        default=",".join(f"{p}x{c}" for p, c in SCENARIOS),
        help="sentences-per-request x concurrency, comma-separated",
    )
    ap.add_argument("--sentvec-args", default="", help="extra `sentvec serve` options")
    ap.add_argument("--soak", type=float, default=0, help="soak sentvec for this many seconds")
    ap.add_argument("--out", default=str(ROOT / "out" / "bench_serve.json"))
    args = ap.parse_args()
    args.only = args.only.split(",")
    report = asyncio.run(main_async(args))
    Path(args.out).write_text(json.dumps(report, indent=2))
    if args.soak:
        print(json.dumps(report["soak"], indent=2))
    else:
        print_ratios(report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
