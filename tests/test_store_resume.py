"""Real `sentvec index add` processes on both backends, with documents that span many
passages (a few longer than a whole commit batch): one killed with SIGKILL half-way (no
document is left half stored, and the re-run stores every document exactly once, whole),
and two adding the same file to a new collection at the same time (each document stored
once, whole)."""

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
    """Every stored passage key."""
    from sentvec.store import list_collections, open_collection

    if "c" not in list_collections(store):
        return []
    with open_collection(store, "c") as col:
        try:
            return [i for ids, _ in col._scan() for i in ids]
        except Exception:  # LanceDB: listed mid-creation
            return []


def _expected(model: Path, file: Path) -> dict[str, list[str]]:
    """Each document's passage keys, as the chunker cuts them (the reference)."""
    from sentvec.documents import Chunker
    from sentvec.io import iter_records

    enc = sentvec.load(model)
    chunker = Chunker(enc.tokenizer, enc.max_seq_length)
    return {r.id: [p.id for p in chunker.passages(r)] for r in iter_records(file)}


def _check_whole(stored: list[str], expected: dict[str, list[str]]) -> set[str]:
    """Assert no passage is stored twice and every stored document has all its passages;
    return the stored documents."""
    assert len(stored) == len(set(stored)), "a passage stored twice"
    docs = {pid.rsplit("#", 1)[0] for pid in stored}
    for d in docs:
        have = sorted(p for p in stored if p.rsplit("#", 1)[0] == d)
        assert have == sorted(expected[d]), f"document {d} half stored: {have}"
    return docs


def _rows(store: str) -> int:
    from sentvec.store import list_collections, open_collection

    if "c" not in list_collections(store):
        return 0
    with open_collection(store, "c") as col:
        try:
            return len(col)
        except Exception:
            return 0


def _write(file: Path, n: int) -> None:
    """n documents of about 4 passages each for the tiny model (32-token windows); every
    50th about 30 passages, longer than a commit batch of 20."""
    words = ["alpha", "beta", "gamma", "delta", "horse", "violin", "market", "weather"]
    lines = []
    for i in range(n):
        sentences = 60 if i % 50 == 7 else 8
        text = " ".join(
            f"The {words[(i + j) % 8]} {words[(i // 8 + j) % 8]} number {i} part {j}."
            for j in range(sentences)
        )
        lines.append(f'{{"id": "row{i}", "title": "Doc {i}", "text": "{text}"}}\n')
    file.write_text("".join(lines), encoding="utf8")


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
    expected = _expected(model, file)
    assert sum(len(v) > 20 for v in expected.values()) >= 10  # some span several batches' worth
    partial = _rows(location)
    assert 0 < partial < n
    assert len(_check_whole(_ids(location), expected)) == partial  # killed: nothing half stored
    done = subprocess.run(
        _cmd(location, model, file), env=_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert f"{partial} skipped" in done.stderr
    ids = _ids(location)
    assert _check_whole(ids, expected) == set(expected)
    assert len(ids) == sum(map(len, expected.values()))


@pytest.mark.slow
def test_two_writers_store_each_document_once(location, tmp_path, make_st_model):  # noqa: F811
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
    expected = _expected(model, file)
    ids = _ids(location)
    assert _check_whole(ids, expected) == set(expected)  # each document once, whole
    assert sorted(ids) == sorted(p for v in expected.values() for p in v)
    added = [int(e.rsplit(" added", 1)[0].rsplit(" ", 1)[-1]) for e in errors]
    assert sum(added) == n  # every row counted as added by exactly one of the two
