"""A real ingest subprocess killed with SIGKILL half-way; the re-run stores every row once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sentvec

pytest.importorskip("lancedb")


def _cmd(root: Path, model: Path, file: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "sentvec",
        "index",
        "add",
        "c",
        str(file),
        "--root",
        str(root),
        "--model",
        str(model),
        "--batch-size",
        "20",
    ]


def _env() -> dict[str, str]:
    src = str(Path(sentvec.__file__).parents[1])
    return {
        **os.environ,
        "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "HF_HUB_OFFLINE": "1",
    }


def _rows(root: Path) -> int:
    import lancedb

    db = lancedb.connect(str(root))
    try:
        return db.open_table("c").count_rows()
    except (ValueError, FileNotFoundError):  # not created yet, or listed mid-creation
        return 0


@pytest.mark.slow
def test_killed_ingest_resumes_without_duplicates(tmp_path, make_st_model):
    model = make_st_model("mean", normalize=True)
    n = 1000
    file = tmp_path / "rows.jsonl"
    words = ["alpha", "beta", "gamma", "delta", "horse", "violin", "market", "weather"]
    file.write_text(
        "".join(
            f'{{"id": "row{i}", "text": "{words[i % 8]} {words[(i // 8) % 8]} number {i}"}}\n'
            for i in range(n)
        ),
        encoding="utf8",
    )
    root = tmp_path / "db"
    proc = subprocess.Popen(
        _cmd(root, model, file), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and _rows(root) < 50:
        time.sleep(0.05)
    assert proc.poll() is None, (
        "ingest finished before it could be killed: " + proc.stderr.read().decode()[-500:]
    )  # type: ignore[union-attr]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _rows(root)
    assert 0 < partial < n
    done = subprocess.run(
        _cmd(root, model, file), env=_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert f"{partial} skipped" in done.stderr
    import lancedb

    ids = (
        lancedb.connect(str(root))
        .open_table("c")
        .to_lance()
        .to_table(columns=["id"])
        .column("id")
        .to_pylist()
    )
    assert len(ids) == n and set(ids) == {f"row{i}" for i in range(n)}
