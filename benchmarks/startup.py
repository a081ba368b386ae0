"""Start-up time of model-loading CLI commands, after first use (caches warm), per backend.

Each command runs ``--runs`` times in a fresh process, commands interleaved round by round;
prints the median wall time and the median CPU time (user + system of the child, which stays
meaningful when other processes share the cores), plus the time to import lancedb and open
the knowledge-base collection that ``sentvec search`` uses::

    PYTHONPATH=src python benchmarks/startup.py --runs 7
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "similarity (default backend)": ["similarity", "a cat", "a dog"],
    "similarity --backend onnx-int8": ["similarity", "a cat", "a dog", "--backend", "onnx-int8"],
    "similarity --backend torch": ["similarity", "a cat", "a dog", "--backend", "torch"],
    "search (default backend)": ["search", "x"],
    "search --backend torch": ["search", "x", "--backend", "torch"],
    "--version (no model)": ["--version"],
}
KB_OPEN = """
import time; t0 = time.perf_counter()
import lancedb; t1 = time.perf_counter()
from sentvec.cli._options import load_encoder
enc = load_encoder(None); t2 = time.perf_counter()
from sentvec.store.kb import knowledge_base_collection
from sentvec.cli.search import knowledge_base_path
col = knowledge_base_collection(enc, knowledge_base_path()); t3 = time.perf_counter()
col.search("x", 5, encoder=enc); t4 = time.perf_counter()
print(t1 - t0, t3 - t2, t4 - t3)
"""


def run_once(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one ``python -m sentvec ARGS`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sentvec", *args], capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"sentvec {' '.join(args)} failed: {proc.stderr[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", help="comma-separated substrings of command labels")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    commands = {
        k: v
        for k, v in COMMANDS.items()
        if not args.only or any(s in k for s in args.only.split(","))
    }
    for argv in commands.values():  # first use: exports, builds the kb collection
        run_once(argv, env)
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in commands}
    for _ in range(args.runs):
        for label, argv in commands.items():
            times[label].append(run_once(argv, env))
    print(f"{args.runs} runs each, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print("| command | wall s (median) | CPU s (median) | wall runs |")
    print("|---|---|---|---|")
    for label, rows in times.items():
        walls = [w for w, _ in rows]
        print(
            f"| sentvec {label} | {statistics.median(walls):.2f} | "
            f"{statistics.median(c for _, c in rows):.2f} | "
            f"{', '.join(f'{w:.2f}' for w in walls)} |"
        )
    proc = subprocess.run(
        [sys.executable, "-c", KB_OPEN], capture_output=True, text=True, env=env, check=True
    )
    imp, opened, search = (float(x) for x in proc.stdout.split())
    print(
        f"\nlancedb import {imp:.2f} s; open (or check) the knowledge-base collection "
        f"{opened:.2f} s; one search {search:.3f} s (wall, one run)"
    )


if __name__ == "__main__":
    main()
