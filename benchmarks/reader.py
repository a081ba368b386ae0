"""Read speed of the shared file reader (sentvec.io) against the reader it replaced (the
commit before issue 8, fetched from git), side by side on the same files.

    PYTHONPATH=src python benchmarks/reader.py --rows 200000
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OLD_COMMIT = "e9dc000"  # the last commit with the utf8-only io.py


def _old_reader(tmp: Path):
    source = subprocess.run(
        ["git", "show", f"{OLD_COMMIT}:src/sentvec/io.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = tmp / "old_io.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_io", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["old_io"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import sentvec.io as new

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        old = _old_reader(tmp)
        text = "A man is riding a white horse on an enclosed ground, café 東京 {}."
        files = {
            "csv": ("id,text,tag\n", lambda i: f'{i},"{text.format(i)}",t{i % 7}\n'),
            "jsonl": ("", lambda i: f'{{"id": "{i}", "text": "{text.format(i)}", "tag": 1}}\n'),
            "txt": ("", lambda i: text.format(i) + "\n"),
        }
        print(f"{args.rows} rows per file, median of {args.repeats} runs (seconds)")
        print(f"{'format':8s} {'old':>8s} {'new':>8s} {'new/old':>8s}")
        for fmt, (head, row) in files.items():
            path = tmp / f"data.{fmt}"
            path.write_text(head + "".join(row(i) for i in range(args.rows)), encoding="utf8")
            times: dict[str, list[float]] = {"old": [], "new": []}
            for _ in range(args.repeats):
                for name, module in (("old", old), ("new", new)):
                    start = time.perf_counter()
                    n = sum(1 for _ in module.iter_records(path))
                    times[name].append(time.perf_counter() - start)
                    assert n == args.rows
            o, n_ = statistics.median(times["old"]), statistics.median(times["new"])
            print(f"{fmt:8s} {o:8.3f} {n_:8.3f} {n_ / o:8.2f}")


if __name__ == "__main__":
    main()
