"""Issue 21, defect 11: a full disk or a read-only store is a user error (``StorageError``;
CLI: one ``error:`` line, exit 2; HTTP: 507 with OpenAI's envelope) and changes nothing.

The reference is a real, small filesystem: a 2 MB tmpfs mounted by the test (skipped with
the reason where it cannot be mounted), really filled to ENOSPC, or remounted read-only."""

from __future__ import annotations

import errno
import os
import subprocess
import warnings
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sentvec.errors import StorageError
from sentvec.server import Settings, create_app
from sentvec.store import for_encoder, open_collection

from sentvec_cli_runner import run_cli

DOCS = [
    ("a1", "How do I reset my password?"),
    ("a2", "Where can I download my invoices?"),
    ("a3", "The cat sits on the mat."),
]
NEW = [("b1", "A man is riding a horse."), ("b2", "Weather is sunny and warm.")]
QUERY = "reset password"


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@pytest.fixture()
def small_fs(tmp_path):
    """A 2 MB tmpfs at tmp_path/fs, unmounted at the end whatever happens."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    root = tmp_path / "fs"
    root.mkdir()
    got = _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(root))
    if got.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {got.stderr.strip()}")
    try:
        yield root
    finally:
        _mount("-o", "remount,rw", str(root))
        if subprocess.run(["umount", str(root)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(root)], capture_output=True)


def _fill(root: Path) -> Path:
    """Write a filler file until the filesystem answers ENOSPC; return it."""
    filler = root / "filler"
    with open(filler, "wb", buffering=0) as f:
        for block in (65536, 4096, 512, 1):
            while True:
                try:
                    f.write(b"\0" * block)
                except OSError as e:
                    assert e.errno == errno.ENOSPC, e
                    break
    return filler


def _records(rows):
    from sentvec.records import Record

    return [Record(text, doc_id) for doc_id, text in rows]


def _state(store: Path, encoder) -> tuple[int, list[str], list[tuple[str, ...]]]:
    col = open_collection(store, "faq")
    hits = col.search(encoder.encode([QUERY])[0], k=10)
    return len(col), [h.id for h in hits], sorted(os.listdir(store / "faq.lance"))


def _collection(store: Path, encoder):
    col = for_encoder(store, "faq", encoder)
    col.add(_records(DOCS), encoder)
    return col


def _files(store: Path) -> list[str]:
    return sorted(str(p.relative_to(store)) for p in store.rglob("*") if p.name != "filler")


def _cli_add(store: Path, file: Path, monkeypatch, encoder) -> tuple[int, str]:
    import sentvec.cli.index as cli_index

    monkeypatch.setattr(cli_index, "load_encoder", lambda model, backend=None: encoder)
    return run_cli(["index", "add", "faq", str(file), "--store", str(store)])


def _assert_one_error_line(code: int, output: str, store: Path, words: str) -> None:
    assert code == 2, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    assert str(store) in errors[0] and words in errors[0] and "Fix:" in errors[0], errors[0]
    assert "Traceback" not in output and "unexpected" not in output, output


def _server(store: Path, encoder) -> TestClient:
    return TestClient(
        create_app(Settings(models={"tiny": None}, collections=store), encoders={"tiny": encoder})
    )


def _assert_507(r, store: Path, words: str, kind: str) -> None:
    assert r.status_code == 507, (r.status_code, r.text)
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}, err
    assert str(store) in err["message"] and words in err["message"], err
    assert "Fix:" in err["message"] and err["code"] == kind, err


def test_full_disk_refuses_adds_and_changes_nothing(small_fs, tiny_encoder, monkeypatch, tmp_path):
    store = small_fs
    _collection(store, tiny_encoder)
    before = _state(store, tiny_encoder)
    files = _files(store)
    filler = _fill(store)
    try:
        # the Python API
        col = open_collection(store, "faq")
        with pytest.raises(StorageError) as caught:
            col.add(_records(NEW), tiny_encoder)
        assert caught.value.errno == errno.ENOSPC and str(store) in str(caught.value)
        assert "disk is full" in str(caught.value)
        # an add with nothing new succeeds: the optimise step is skipped with a warning
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            report = col.add(_records(DOCS), tiny_encoder)
        assert report.added == 0 and report.skipped == len(DOCS)
        # (whether the optimise step needs to write depends on the table's files; if it
        # did and met the full disk, it was skipped with this warning, not failed)
        assert all("skipped optimising" in str(w.message) for w in seen), [
            str(w.message) for w in seen if "skipped optimising" not in str(w.message)
        ]
        _cli_and_http_refuse(
            store, tiny_encoder, tmp_path, monkeypatch, "disk is full", "disk_full"
        )
        assert _files(store) == files  # no temporary file left behind
    finally:
        filler.unlink()
    assert _state(store, tiny_encoder) == before


def test_read_only_store_refuses_writes_and_still_searches(
    small_fs, tiny_encoder, monkeypatch, tmp_path
):
    store = small_fs
    _collection(store, tiny_encoder)
    before = _state(store, tiny_encoder)
    got = _mount("-o", "remount,ro", str(store))
    if got.returncode != 0:
        pytest.skip(f"cannot remount the tmpfs read-only: {got.stderr.strip()}")
    # reads work
    assert _state(store, tiny_encoder) == before
    col = open_collection(store, "faq")
    with pytest.raises(StorageError) as caught:
        col.add(_records(NEW), tiny_encoder)
    assert caught.value.errno == errno.EROFS and "read-only" in str(caught.value)
    with pytest.raises(StorageError):
        col.delete(ids=["a1"])
    _cli_and_http_refuse(store, tiny_encoder, tmp_path, monkeypatch, "read-only", "read_only")
    assert _mount("-o", "remount,rw", str(store)).returncode == 0
    assert _state(store, tiny_encoder) == before


def _cli_and_http_refuse(store, encoder, tmp_path, monkeypatch, words: str, code: str) -> None:
    """`index add` exits 2 with one error line and POST .../documents answers 507; search
    over HTTP still answers with hits."""
    file = tmp_path / "new.txt"
    file.write_text("".join(t + "\n" for _, t in NEW), encoding="utf8")
    rc, output = _cli_add(store, file, monkeypatch, encoder)
    _assert_one_error_line(rc, output, store, words)
    with _server(store, encoder) as c:
        body = {"documents": [{"id": i, "text": t} for i, t in NEW]}
        _assert_507(c.post("/collections/faq/documents", json=body), store, words, code)
        r = c.post("/collections/faq/search", json={"query": QUERY})
        assert r.status_code == 200, r.text
        assert r.json()["hits"], r.json()
