"""Shared helpers for the side-by-side benchmarks."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path

DATA = Path(os.environ.get("SENTVEC_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def data_path(*parts: str) -> Path:
    """A file under ../shared/data, or exit with a clear message naming the missing path."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        sys.exit(f"benchmark data {path} is missing: set SENTVEC_DATA to the shared data folder")
    return path


def wiki_sentences(n: int) -> list[str]:
    """The first n lines of the Wikipedia sentences file (real text, varied lengths)."""
    with open(data_path("wiki-sentences", "wiki1m-excerpt.txt"), encoding="utf8") as f:
        lines = [line.strip() for line in f if line.strip()]
    return lines[:n]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    Reads VmHWM: ru_maxrss can carry the parent's high-water mark across fork + exec.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(code: str, env: dict[str, str] | None = None) -> dict:
    """Run python code in a fresh process; it must print one JSON object as its last line."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    """One line describing the machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"
