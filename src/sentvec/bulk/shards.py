"""Encode a corpus larger than memory into shards, resumably.

The input is streamed with :func:`sentvec.io.iter_records`; every ``shard_size`` records are
encoded and written as ``shard-00000.npy`` (float32 vectors) plus ``shard-00000.ids.jsonl``
(their ids, one JSON string a line). ``manifest.json`` lists the finished shards with row
ranges, sha256 checksums of the vectors and of the input rows they came from (ids and
texts), and is rewritten (temp file + rename) after each shard, so a killed run leaves only
whole shards behind and the next run skips their rows, after checking that those rows of
the input are still the same (an edit anywhere in the file is caught).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sentvec.bulk.atomic import write_json_atomic, write_text_atomic
from sentvec.errors import SentvecError
from sentvec.io import Record, check_input_file, iter_records

if TYPE_CHECKING:
    from sentvec.encoder import Encoder

FORMAT = "sentvec-shards/2"
MANIFEST = "manifest.json"
DEFAULT_SHARD_SIZE = 10_000


class ShardError(SentvecError, ValueError):
    """An output folder holds shards that do not belong to this run, or are damaged."""

    def __init__(self, folder: Path, problem: str, fix: str) -> None:
        self.folder = folder
        super().__init__(f"cannot use shard folder {str(folder)!r}: {problem}. Fix: {fix}.")


@dataclass
class BulkResult:
    """What a bulk run did."""

    folder: Path
    rows: int  # rows in the folder now
    resumed_from: int  # rows that were already done when this run started
    shards: int


def encode_to_shards(
    encoder: Encoder,
    path: str | Path,
    out: str | Path,
    *,
    text_field: str | None = None,
    id_field: str | None = None,
    fmt: str | None = None,
    header: bool = True,
    shard_size: int = DEFAULT_SHARD_SIZE,
    batch_size: int = 32,
    max_tokens: int | None = None,
    normalize: bool = False,
    show_progress: bool = True,
) -> BulkResult:
    """Stream ``path`` through ``encoder`` into shard files under ``out``; resume if stopped.

    Memory holds one shard's texts and vectors at a time, whatever the corpus size.

    :param encoder: the encoder.
    :param path: a .txt/.jsonl/.csv/.tsv file (see :func:`sentvec.io.iter_records`).
    :param out: the output folder (created).
    :param text_field: JSONL key / CSV column of the text.
    :param id_field: JSONL key / CSV column of the id.
    :param fmt: force the input format.
    :param header: False for a CSV/TSV file without a header row (fields are then indices).
    :param shard_size: records per shard.
    :param batch_size: most texts per forward pass.
    :param max_tokens: token budget per forward pass (see :meth:`Encoder.encode`).
    :param normalize: L2-normalise the vectors.
    :param show_progress: show a progress bar with rate and ETA.
    :return: rows and shards in the folder, and where this run started.
    :raises ShardError: the folder belongs to another model, input or setting.
    """
    from tqdm.auto import tqdm

    if (
        isinstance(shard_size, bool)
        or not isinstance(shard_size, int)
        or not 1 <= shard_size <= 10**9
    ):
        raise SentvecError(
            f"shard_size must be between 1 and 1,000,000,000, got {shard_size}. "
            "Fix: pass a size such as 10000."
        )
    check_input_file(path)
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ShardError(folder, "it is a file, not a folder", "pass a folder path to --out")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(".*.tmp"):  # left by a run killed mid-write
        stale.unlink()
    head = _header(encoder, Path(path), shard_size, normalize, text_field, id_field)
    head["input"]["header"] = header
    manifest = _start_manifest(folder, head)
    done = start = int(manifest["rows"])
    records = iter_records(path, text_field, id_field, fmt, header)
    _verify_done(folder, records, manifest["shards"])
    total = _estimate_rows(Path(path))
    with tqdm(
        total=total,
        initial=min(done, total),
        unit="text",
        desc="encode",
        smoothing=0.1,
        disable=not show_progress,
    ) as bar:
        for chunk in _chunks(records, shard_size):
            vectors = encoder.encode(
                [r.text for r in chunk],
                batch_size=batch_size,
                max_tokens=max_tokens,
                normalize=normalize,
                show_progress=False,
            )  # (n, dim)
            index = len(manifest["shards"])
            entry = _write_shard(folder, index, done, vectors, [r.id for r in chunk])
            entry["input_sha256"] = _records_sha256(chunk)
            manifest["shards"].append(entry)
            done += len(chunk)
            manifest["rows"] = done
            write_json_atomic(folder / MANIFEST, manifest)
            bar.total = max(bar.total or 0, done)
            bar.update(len(chunk))
    if done == 0:
        from sentvec.io import EmptyInputError

        raise EmptyInputError(path, "texts")
    manifest["complete"] = True
    write_json_atomic(folder / MANIFEST, manifest)
    return BulkResult(folder, done, start, len(manifest["shards"]))


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a shard folder.

    :param folder: the folder.
    :return: the manifest as a dict.
    """
    root = Path(folder)
    path = root / MANIFEST
    if not path.exists():
        raise ShardError(root, "no manifest.json", "run `sentvec encode FILE --out DIR` first")
    try:
        manifest = json.loads(path.read_text(encoding="utf8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ShardError(
            root,
            f"manifest.json is corrupt ({e})",
            "delete the folder (or its manifest.json and shard files) and run the encode again",
        ) from None
    if not _manifest_ok(manifest):
        raise ShardError(
            root,
            "manifest.json is not a sentvec shard manifest (fields missing or of the wrong type)",
            "delete the folder and run the encode again",
        )
    return manifest


def _manifest_ok(m: Any) -> bool:
    if not isinstance(m, dict) or not isinstance(m.get("shards"), list):
        return False
    if not isinstance(m.get("rows"), int) or m["rows"] < 0:
        return False
    need = {"file": str, "ids": str, "start": int, "stop": int, "rows": int, "sha256": str}
    for e in m["shards"]:
        if not isinstance(e, dict) or any(not isinstance(e.get(k), t) for k, t in need.items()):
            return False
        if "/" in e["file"] or "/" in e["ids"] or e["file"].startswith("."):
            return False
    return sum(e["rows"] for e in m["shards"]) == m["rows"]


def iter_shards(folder: str | Path, verify: bool = True) -> Iterator[tuple[np.ndarray, list[str]]]:
    """Yield each finished shard's vectors (memory-mapped) and ids, in row order.

    :param folder: a shard folder.
    :param verify: check each shard's sha256 against the manifest first.
    :return: an iterator of (vectors (n, dim), ids).
    :raises ShardError: a shard is missing or its checksum does not match.
    """
    root = Path(folder)
    for entry in read_manifest(root)["shards"]:
        file = root / entry["file"]
        if not file.exists():
            raise ShardError(root, f"{entry['file']} is missing", "re-run the encode to rebuild it")
        if verify and _sha256(file) != entry["sha256"]:
            raise ShardError(
                root,
                f"{entry['file']} does not match its checksum",
                "delete it and its manifest entry, then re-run the encode",
            )
        ids = [
            json.loads(line)
            for line in (root / entry["ids"]).read_text(encoding="utf8").splitlines()
        ]
        yield np.load(file, mmap_mode="r"), ids


def load_shards(folder: str | Path, verify: bool = True) -> tuple[np.ndarray, list[str]]:
    """All vectors and ids of a shard folder in one array (for folders that fit in memory).

    :param folder: a shard folder.
    :param verify: check checksums.
    :return: vectors (rows, dim) float32 and the ids.
    """
    parts = list(iter_shards(folder, verify))
    if not parts:
        return np.zeros((0, 0), dtype=np.float32), []
    return (np.concatenate([np.asarray(v) for v, _ in parts]), [i for _, ids in parts for i in ids])


# -- internals -----------------------------------------------------------------------------


def _header(
    encoder: Encoder,
    path: Path,
    shard_size: int,
    normalize: bool,
    text_field: str | None,
    id_field: str | None,
) -> dict[str, Any]:
    if not path.exists():
        raise SentvecError(f"input file {str(path)!r} does not exist")
    return {
        "format": FORMAT,
        "input": {
            "path": str(path.resolve()),
            "text_field": text_field,
            "id_field": id_field,
        },
        "model": {
            "name": encoder.name,
            "fingerprint": encoder.fingerprint,
            "backend": encoder.backend.name,
            "dim": encoder.dim,
            "normalize": normalize,
        },
        "shard_size": shard_size,
    }


def _start_manifest(folder: Path, header: dict[str, Any]) -> dict[str, Any]:
    """A fresh manifest, or the existing one when it belongs to the same run settings."""
    path = folder / MANIFEST
    if not path.exists():
        manifest = {**header, "rows": 0, "complete": False, "shards": []}
        write_json_atomic(path, manifest)
        return manifest
    manifest = read_manifest(folder)
    for key in ("format", "input", "model", "shard_size"):
        if manifest.get(key) != header[key]:
            raise ShardError(
                folder,
                f"its manifest was written for a different {key} "
                f"({manifest.get(key)!r}, now {header[key]!r})",
                "pass another --out folder, or delete this one to start over",
            )
    for entry in manifest["shards"]:
        if not (folder / entry["file"]).exists():
            raise ShardError(
                folder, f"{entry['file']} is listed but missing", "delete the folder to start over"
            )
    manifest["complete"] = False
    return manifest


def _write_shard(
    folder: Path, index: int, start: int, vectors: np.ndarray, ids: list[str]
) -> dict[str, Any]:
    name = f"shard-{index:05d}"
    npy, id_file = folder / f"{name}.npy", folder / f"{name}.ids.jsonl"
    tmp = folder / f".{name}.npy.tmp"
    with open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(vectors, dtype=np.float32))
        f.flush()
        os.fsync(f.fileno())
    write_text_atomic(id_file, "".join(json.dumps(i) + "\n" for i in ids))
    os.replace(tmp, npy)
    return {
        "file": npy.name,
        "ids": id_file.name,
        "start": start,
        "stop": start + len(ids),
        "rows": len(ids),
        "sha256": _sha256(npy),
    }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _records_sha256(records: list[Record]) -> str:
    """sha256 of a shard's input rows: every id and text, unambiguously separated."""
    h = hashlib.sha256()
    for r in records:
        h.update(json.dumps([r.id, r.text], ensure_ascii=False).encode("utf8", "surrogatepass"))
        h.update(b"\n")
    return h.hexdigest()


def _verify_done(folder: Path, records: Iterator[Record], shards: list[dict[str, Any]]) -> None:
    """Read past the rows already encoded, checking each shard's rows are unchanged."""
    for entry in shards:
        chunk = list(islice(records, entry["rows"]))
        if len(chunk) < entry["rows"] or _records_sha256(chunk) != entry.get("input_sha256"):
            raise ShardError(
                folder,
                f"the input changed since {entry['file']} was written "
                f"(rows {entry['start'] + 1}-{entry['stop']} differ"
                f"{', the file is shorter now' if len(chunk) < entry['rows'] else ''})",
                "pass another --out folder, or delete this one to encode the file again",
            )


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    while chunk := list(islice(records, size)):
        yield chunk


def _estimate_rows(path: Path) -> int:
    """Line count (a fast upper estimate of the records, for the progress bar's ETA)."""
    n = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            n += block.count(b"\n")
    return max(n, 1)
