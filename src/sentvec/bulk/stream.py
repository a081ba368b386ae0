"""Encode a stream of records into one ``.npy`` or JSONL output in bounded memory.

Records are read and encoded ``chunk_size`` at a time, and each chunk's vectors are written
before the next is read, so memory holds one chunk whatever the input size. A file target
is written under a temporary name beside it (:func:`sentvec.bulk.atomic.atomic_path`) and
renamed over it at the end: a Ctrl-C or an error between chunks removes the temporary file
and leaves any previous target untouched. The ``.npy`` header is rewritten with the row
count at the end; numpy pads it so that its length does not depend on the count, and the
file is byte for byte what :func:`numpy.save` writes for the whole array.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from sentvec.bulk.atomic import atomic_path
from sentvec.records import EmptyInputError, Record

if TYPE_CHECKING:
    from sentvec.encoder import Encoder

CHUNK_SIZE = 4096  # records read, encoded and written at a time


@dataclass
class StreamResult:
    """What a streamed encode wrote."""

    rows: int
    dim: int


def encode_records(
    encoder: Encoder,
    records: Iterable[Record],
    out: Path | None,
    *,
    source: str | Path = "the input",
    total: int | None = None,
    batch_size: int = 32,
    max_tokens: int | None = None,
    chunk_size: int | None = None,
    show_progress: bool = True,
) -> StreamResult:
    """Encode ``records`` into ``out`` (``.npy``: float32 rows; else JSONL ``{"id", "vector"}``
    lines; None: JSONL on stdout), one chunk at a time.

    :param encoder: the encoder.
    :param records: the records, read lazily (e.g. :func:`sentvec.io.iter_records`).
    :param out: the target file, or None for stdout.
    :param source: the input's name, for the error when it holds no records.
    :param total: how many records to expect (an upper bound is fine), for the progress bar.
    :param batch_size: most texts per forward pass.
    :param max_tokens: token budget per forward pass (see :meth:`Encoder.encode`).
    :param chunk_size: records held at a time (default :data:`CHUNK_SIZE`).
    :param show_progress: show a progress bar on stderr.
    :return: the rows written and their dimension.
    :raises EmptyInputError: ``records`` is empty (no target is written).
    """
    from tqdm.auto import tqdm

    chunks = _chunks(iter(records), chunk_size or CHUNK_SIZE)
    bar = tqdm(total=total, unit="text", desc="encode", smoothing=0.1, disable=not show_progress)
    with bar:
        vectors = _vectors(encoder, chunks, batch_size, max_tokens, bar)
        if out is None:
            result = _write_jsonl(vectors, sys.stdout, source)
        else:
            with atomic_path(out) as tmp:
                if out.suffix.lower() == ".npy":
                    with open(tmp, "wb") as f:
                        result = _write_npy(vectors, f, source)
                else:
                    with open(tmp, "w", encoding="utf8") as text:
                        result = _write_jsonl(vectors, text, source)
        bar.total = result.rows
        bar.refresh()
    return result


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    while chunk := list(islice(records, size)):
        yield chunk


def _vectors(
    encoder: Encoder,
    chunks: Iterator[list[Record]],
    batch_size: int,
    max_tokens: int | None,
    bar: Any,
) -> Iterator[tuple[list[str], np.ndarray]]:
    """Each chunk's ids and vectors (n, dim); a warning the encoder gives is shown once (its
    first chunk's), not once per chunk."""
    seen: set[tuple[type[Warning], str, int]] = set()
    for chunk in chunks:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            vectors = encoder.encode(
                [r.text for r in chunk],
                batch_size=batch_size,
                max_tokens=max_tokens,
                show_progress=False,
            )  # (n, dim)
        for w in caught:
            key = (w.category, w.filename, w.lineno)
            if key not in seen:
                seen.add(key)
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        yield [r.id for r in chunk], vectors
        bar.update(len(chunk))


def _write_npy(
    vectors: Iterator[tuple[list[str], np.ndarray]], f: IO[bytes], source: str | Path
) -> StreamResult:
    rows = dim = 0
    header = 0
    for _, v in vectors:
        v = np.ascontiguousarray(v, dtype=np.float32)
        if rows == 0:
            dim = v.shape[1]
            header = _npy_header(f, 0, dim)  # a placeholder of the final length
        f.write(v.tobytes())
        rows += len(v)
    if rows == 0:
        raise EmptyInputError(source, "texts")
    f.seek(0)
    if _npy_header(f, rows, dim) != header:  # numpy pads the header to a fixed length
        raise RuntimeError("the .npy header changed length; cannot rewrite it in place")
    f.flush()
    return StreamResult(rows, dim)


def _npy_header(f: IO[bytes], rows: int, dim: int) -> int:
    """Write the header np.save writes for a float32 (rows, dim) array; return its length."""
    start = f.tell()
    header: dict[str, Any] = {
        "descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
        "fortran_order": False,
        "shape": (rows, dim),
    }
    np.lib.format.write_array_header_1_0(f, header)
    return f.tell() - start


def _write_jsonl(
    vectors: Iterator[tuple[list[str], np.ndarray]], stream: IO[str], source: str | Path
) -> StreamResult:
    rows = dim = 0
    for ids, v in vectors:
        stream.write(
            "".join(
                json.dumps({"id": i, "vector": [round(x, 7) for x in row]}) + "\n"
                for i, row in zip(ids, v.tolist())
            )
        )
        stream.flush()
        rows += len(ids)
        dim = v.shape[1]
    if rows == 0:
        raise EmptyInputError(source, "texts")
    return StreamResult(rows, dim)


__all__ = ["CHUNK_SIZE", "StreamResult", "encode_records"]
