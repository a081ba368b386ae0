"""Real `sentvec index add` processes on both backends: one killed with SIGKILL half-way
(the re-run stores every row exactly once), and two adding the same file to a new
collection at the same time (each id stored once)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sentvec

from paced import paced_sentvec
from store_backends import location, pg_server  # noqa: F401  (fixtures)

pytest.importorskip("lancedb")


def _cmd(store: str, model: Path, file: Path, batch: int = 20, paced: bool = False) -> list[str]:
    # paced: 50 ms a batch, so the killed run's 50 batches last at least 2.5 s
    return [
        *(paced_sentvec(0.05) if paced else [sys.executable, "-m", "sentvec"]),
        "index",
        "add",
        "c",
        str(file),
        "--store",
        store,
        "--model",
        str(model),
        "--batch-size",
        str(batch),
    ]


def _env() -> dict[str, str]:
    src = str(Path(sentvec.__file__).parents[1])
    return {
        **os.environ,
        "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "HF_HUB_OFFLINE": "1",
    }


def _ids(store: str) -> list[str]:
    from sentvec.store import Collection, list_collections

    if "c" not in list_collections(store):
        return []
    with Collection.open(store, "c") as col:
        try:
            return [i for ids, _ in col._scan() for i in ids]
        except Exception:  # LanceDB: listed mid-creation
            return []


def _rows(store: str) -> int:
    from sentvec.store import Collection, list_collections

    if "c" not in list_collections(store):
        return 0
    with Collection.open(store, "c") as col:
        try:
            return len(col)
        except Exception:
            return 0


def _write(file: Path, n: int) -> None:
    words = ["alpha", "beta", "gamma", "delta", "horse", "violin", "market", "weather"]
    file.write_text(
        "".join(
            f'{{"id": "row{i}", "text": "{words[i % 8]} {words[(i // 8) % 8]} number {i}"}}\n'
            for i in range(n)
        ),
        encoding="utf8",
    )


@pytest.mark.slow
def test_killed_ingest_resumes_without_duplicates(location, tmp_path, make_st_model):  # noqa: F811
    model = make_st_model("mean", normalize=True)
    n = 1000
    file = tmp_path / "rows.jsonl"
    _write(file, n)
    proc = subprocess.Popen(
        _cmd(location, model, file, paced=True),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and _rows(location) < 50:
        time.sleep(0.05)
    assert proc.poll() is None, (
        "ingest finished before it could be killed: " + proc.stderr.read().decode()[-500:]  # type: ignore[union-attr]
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _rows(location)
    assert 0 < partial < n
    done = subprocess.run(
        _cmd(location, model, file), env=_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert f"{partial} skipped" in done.stderr
    ids = _ids(location)
    assert len(ids) == n and set(ids) == {f"row{i}" for i in range(n)}


@pytest.mark.slow
def test_two_writers_store_each_id_once(location, tmp_path, make_st_model):  # noqa: F811
    model = make_st_model("mean", normalize=True)
    n = 600
    file = tmp_path / "rows.jsonl"
    _write(file, n)
    procs = [
        subprocess.Popen(
            _cmd(location, model, file, batch=50),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    ids = _ids(location)
    assert sorted(ids) == sorted(f"row{i}" for i in range(n))  # each id exactly once
    added = [int(e.rsplit(" added", 1)[0].rsplit(" ", 1)[-1]) for e in errors]
    assert sum(added) == n  # every row counted as added by exactly one of the two
