"""Ray's overhead on one machine: `sentvec encode FILE --out DIR` (one process, resumable shards)
against `encode_dataset` on a local Ray cluster (2 actors x 1 thread), same backend, same input,
in the same run, alternating which goes first. Both sides run in fresh subprocesses::

    PYTHONPATH=src python benchmarks/ray_encode.py --n 200000 --rounds 1 --backend onnx-int8

The input is the 11,914 lines of ../shared/data/wiki-sentences repeated until ``--n`` lines,
shuffled with a fixed seed (repeats cost the same to encode as new text: nothing is cached).
Prints wall times, the overhead ratio and the per-CPU rate used for the 1-billion projection in
BENCHMARKS.md, and checks that both outputs hold the same ids and vectors.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_path, machine

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "out" / "ray_encode"

RAY_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import ray
from sentvec.bulk import encode_dataset
ray.init(num_cpus={cpus}, include_dashboard=False, log_to_driver=False)
t1 = time.perf_counter()
r = encode_dataset({src!r}, {out!r}, backend={backend!r}, num_actors={actors},
                   cpus_per_actor={cpus} // {actors}, block_rows={block_rows}, show_progress=False)
t2 = time.perf_counter()
import psutil
procs = [psutil.Process(), *psutil.Process().children(recursive=True)]
cpu = 0.0
for p in procs:
    try:
        t = p.cpu_times()
        cpu += t.user + t.system
    except psutil.Error:
        pass
ray.shutdown()
print(json.dumps({{"rows": r.rows, "start_s": t1 - t0, "encode_s": t2 - t1, "cpu_s": cpu}}))
"""


def build_input(n: int, seed: int = 0) -> Path:
    """``n`` wiki sentences (the file repeated as needed), shuffled, one per line."""
    path = WORK / f"wiki-{n}.txt"
    if path.exists():
        return path
    lines = [
        x
        for x in data_path("wiki-sentences", "wiki1m-excerpt.txt")
        .read_text(encoding="utf8")
        .splitlines()
        if x.strip()
    ]
    rows = (lines * (n // len(lines) + 1))[:n]
    random.Random(seed).shuffle(rows)
    WORK.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n", encoding="utf8")
    return path


def run_single(src: Path, backend: str) -> tuple[float, float]:
    """Wall and CPU seconds of `sentvec encode SRC --out DIR` (model load included)."""
    out = WORK / "single"
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [
        sys.executable,
        "-m",
        "sentvec",
        "encode",
        str(src),
        "--out",
        str(out),
        "--backend",
        backend,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def run_ray(src: Path, backend: str, actors: int, cpus: int, block_rows: int) -> dict:
    """Wall seconds of the Ray side: whole child, cluster start-up, and the encode itself."""
    out = WORK / f"ray{actors}"
    shutil.rmtree(out, ignore_errors=True)
    # Ray starts workers at nice 15 by default; the single-process side runs at nice 0
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "RAY_worker_niceness": "0"}
    code = RAY_CHILD.format(
        src=str(src), out=str(out), backend=backend, actors=actors, cpus=cpus, block_rows=block_rows
    )
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["total_s"] = time.perf_counter() - t
    return result


def compare_outputs(actors: int) -> dict:
    """Largest |difference| and lowest cosine between the single-process and Ray vectors (ids
    must match exactly). int8 quantizes activations per batch, so a row's vector depends a
    little on its batch-mates; fp32 backends agree to ~1e-7."""
    import numpy as np

    from sentvec.bulk import load_shards, read_output

    a, ids_a = load_shards(WORK / "single")
    b, ids_b = read_output(WORK / f"ray{actors}")
    if ids_a != ids_b:
        raise SystemExit("the two outputs hold different ids")
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return {"max_abs_diff": float(np.abs(a - b).max()), "min_cosine": float(cos.min())}


def main() -> None:
    """Run the rounds and print one JSON summary."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--backend", default="onnx-int8")
    p.add_argument("--actors", default="2", help="Ray sides to run: actor counts, e.g. 2,1")
    p.add_argument("--cpus", type=int, default=2)
    p.add_argument("--block-rows", type=int, default=10_000)
    args = p.parse_args()
    src = build_input(args.n)
    sides = ["single", *(int(a) for a in args.actors.split(","))]
    single: list[float] = []
    single_cpu: list[float] = []
    ray_runs: dict[int, list[dict]] = {a: [] for a in sides[1:]}  # type: ignore[misc]
    for r in range(args.rounds):
        for side in sides if r % 2 == 0 else sides[::-1]:
            print("load", [round(v, 2) for v in os.getloadavg()], flush=True)
            if side == "single":
                wall, cpu = run_single(src, args.backend)
                single.append(wall)
                single_cpu.append(cpu)
                print("single", round(wall, 1), "cpu", round(cpu, 1), flush=True)
            else:
                a = int(side)
                ray_runs[a].append(run_ray(src, args.backend, a, args.cpus, args.block_rows))
                print(f"ray {a} actors", ray_runs[a][-1], flush=True)
    s = statistics.median(single)
    summary: dict = {
        "machine": machine(),
        "n": args.n,
        "backend": args.backend,
        "rounds": args.rounds,
        "single_s": [round(x, 1) for x in single],
        "median_single_s": round(s, 1),
        "single_rate_per_cpu": round(args.n / s / args.cpus, 1),
        "single_cpu_s": [round(x, 1) for x in single_cpu],
        "single_rate_per_cpu_second": round(args.n / statistics.median(single_cpu), 1),
        "load_end": [round(v, 2) for v in os.getloadavg()],
    }
    for a, runs in ray_runs.items():
        total = statistics.median(x["total_s"] for x in runs)
        encode = statistics.median(x["encode_s"] for x in runs)
        summary[f"ray_{a}x{args.cpus // a}"] = {
            "runs": runs,
            "median_total_s": round(total, 1),
            "median_start_s": round(statistics.median(x["start_s"] for x in runs), 1),
            "median_encode_s": round(encode, 1),
            "overhead_total": round(total / s - 1, 3),
            "overhead_without_cluster_start": round(encode / s - 1, 3),
            "rate_per_cpu": round(args.n / encode / args.cpus, 1),
            "median_cpu_s": round(statistics.median(x["cpu_s"] for x in runs), 1),
            "rate_per_cpu_second": round(args.n / statistics.median(x["cpu_s"] for x in runs), 1),
            "cpu_overhead": round(
                statistics.median(x["cpu_s"] for x in runs) / statistics.median(single_cpu) - 1,
                3,
            ),
            **compare_outputs(a),
        }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
