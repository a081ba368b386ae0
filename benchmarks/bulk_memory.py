"""Peak RSS of `sentvec encode BIG_FILE --out DIR` against corpus size.

Builds corpora of N lines by sampling and recombining the sentences in ../shared/data
(wiki sentences, STSb, MS MARCO passages split into sentences, AG News descriptions), writes
them under out/bulk/, runs the streaming encoder on each in a fresh subprocess and reads
its peak RSS (VmHWM, polled from /proc every 0.2 s while it runs)::

    PYTHONPATH=src python benchmarks/bulk_memory.py --sizes 100000,300000 --backend onnx-int8
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
WORK = ROOT / "out" / "bulk"


def source_sentences() -> list[str]:
    """Real sentences from the shared data sets."""
    out: list[str] = []
    wiki = DATA / "wiki-sentences" / "wiki1m-excerpt.txt"
    out += [x.strip() for x in wiki.read_text(encoding="utf8").splitlines() if x.strip()]
    with open(DATA / "stsb" / "sts-train.csv", encoding="utf8") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            out += row[5:7]
    with open(DATA / "msmarco-subset" / "corpus.jsonl", encoding="utf8") as f:
        for line in f:
            out += re.split(r"(?<=[.!?])\s+", json.loads(line)["text"])
    return [s for s in out if 3 <= len(s.split()) <= 60]


def build_corpus(n: int, seed: int = 0) -> Path:
    """N lines; each a real sentence, or the head of one joined to the tail of another."""
    path = WORK / f"corpus-{n}.txt"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pool = source_sentences()
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf8") as f:
        for _ in range(n):
            a = rng.choice(pool)
            if rng.random() < 0.5:
                b = rng.choice(pool).split()
                a = " ".join(a.split()[: max(2, len(a.split()) // 2)] + b[len(b) // 2 :])
            f.write(a.replace("\n", " ") + "\n")
    os.replace(tmp, path)
    return path


def run(n: int, backend: str, extra: list[str]) -> dict[str, float]:
    """Encode the N-line corpus in a fresh process; return its peak RSS and rate."""
    corpus = build_corpus(n)
    out = WORK / f"shards-{n}-{backend}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "sentvec",
        "encode",
        str(corpus),
        "--out",
        str(out),
        "--backend",
        backend,
        *extra,
    ]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    peak = 0.0
    while proc.poll() is None:  # VmHWM only grows; the last reading is the peak up to then
        peak = max(peak, _vm_hwm_mb(proc.pid))
        time.sleep(0.2)
    if proc.returncode:
        raise SystemExit(f"{cmd} failed with exit code {proc.returncode}")
    seconds = time.perf_counter() - t
    size = sum(p.stat().st_size for p in out.glob("shard-*.npy")) / 2**20
    shutil.rmtree(out, ignore_errors=True)
    return {
        "sentences": n,
        "peak_rss_mib": peak,
        "seconds": seconds,
        "rate": n / seconds,
        "vectors_mib": size,
    }


def _vm_hwm_mb(pid: int) -> float:
    """Peak RSS (MiB) of a running process, from /proc/PID/status (0 once it has exited).

    ``getrusage(RUSAGE_CHILDREN)`` is not used: Linux carries the parent's RSS at fork time
    into the child's ``ru_maxrss`` across exec.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,300000")
    parser.add_argument("--backend", default="onnx-int8")
    parser.add_argument("extra", nargs="*", help="more `sentvec encode` options, after --")
    args = parser.parse_args()
    rows = []
    for n in sorted(int(x) for x in args.sizes.split(",")):
        rows.append(run(n, args.backend, args.extra))
        print(json.dumps(rows[-1]), flush=True)
    print("| sentences | peak RSS MiB | vectors written MiB | seconds | sentences/s |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['sentences']:,} | {r['peak_rss_mib']:.0f} | {r['vectors_mib']:.0f} | "
            f"{r['seconds']:.0f} | {r['rate']:.0f} |"
        )


if __name__ == "__main__":
    main()
