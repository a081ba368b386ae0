"""The shipped knowledge base as a collection, built in the user's cache on first use and
rebuilt when the model or the knowledge base file changes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from sentvec.errors import SentvecError
from sentvec.io import Record, read_records
from sentvec.store import Collection, for_encoder, sentvec_home

if TYPE_CHECKING:
    from sentvec.encoder import Encoder

KB_NAME = "knowledge_base"


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes (first 16 hex digits)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def kb_records(path: Path) -> list[Record]:
    """Knowledge-base rows (id, category, question, answer) as documents: the question is
    the title (embedded with the text, shown above it), the answer the text."""
    records = read_records(path, text_field="answer")
    for r in records:
        r.metadata["title"] = r.metadata.pop("question", "")
    return records


def knowledge_base_collection(encoder: Encoder, path: Path, home: Path | None = None) -> Collection:
    """The knowledge base's collection for this encoder, (re)built if needed.

    It lives in ``home/kb/`` (default :func:`sentvec_home`), one collection per model, and is
    rebuilt when the file's content hash changes; a killed build resumes on the next call.

    :param encoder: the model.
    :param path: the knowledge base JSONL (fields id, category, question, answer).
    :param home: the sentvec folder.
    :return: the collection, holding every row of the file.
    """
    if not path.exists():
        raise SentvecError(
            f"the knowledge base {str(path)!r} is missing. Fix: reinstall "
            "sentvec, or search your own file with --file."
        )
    root = (home or sentvec_home()) / "kb"
    name = f"{KB_NAME}-{encoder.fingerprint}"
    digest = file_hash(path)
    col = for_encoder(root, name, encoder)
    if col.meta.get("source_hash") not in (None, digest) or col.meta.get("kb_layout") != 2:
        col.drop()  # the file (or how it is stored) changed: start again
        col = for_encoder(root, name, encoder)
        col.update_meta(kb_layout=2)
    if col.meta.get("complete") != digest:  # new, changed, or a build was killed: resume
        col.update_meta(source_hash=digest)
        col.add(kb_records(path), encoder)
        col.update_meta(complete=digest)
    return col
