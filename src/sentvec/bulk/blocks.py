"""Block planning for bulk engines: the input cut into blocks of about ``block_rows``
records (a newline scan for text and JSONL, row groups for Parquet), each read back with the
readers and checks of :mod:`sentvec.io`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sentvec.errors import SentvecError
from sentvec.io import iter_parquet_records, iter_range_records

if TYPE_CHECKING:
    import pyarrow as pa

DEFAULT_BLOCK_ROWS = 10_000
SUFFIXES = {".txt": "txt", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


@dataclass(frozen=True)
class Block:
    """One unit of work and of resumption: a byte range of a text/JSONL file (starting at line
    ``first_line``) or one row group of a Parquet file (``start`` = row group, ``first_line`` =
    its first row number)."""

    index: int
    path: str
    kind: str  # txt, jsonl or parquet
    start: int
    stop: int
    first_line: int


def plan_blocks(path: str | Path, fmt: str | None, block_rows: int) -> list[Block]:
    """Cut the input into blocks of about ``block_rows`` records each, in input order.

    :param path: a file or a folder of .txt/.jsonl/.parquet files (taken in name order).
    :param fmt: force the format of every file.
    :param block_rows: lines (text, JSONL) or rows per block; Parquet blocks are row groups.
    :return: the blocks.
    """
    root = Path(path)
    if not root.exists():
        raise SentvecError(f"input {str(root)!r} does not exist. Fix: check the path.")
    if root.is_dir():
        files = sorted(p for p in root.iterdir() if p.suffix.lower() in SUFFIXES)
        if not files:
            raise SentvecError(
                f"folder {str(root)!r} has no {', '.join(SUFFIXES)} files. Fix: pass a file "
                "or a folder holding such files."
            )
    else:
        files = [root]
    blocks: list[Block] = []
    for file in files:
        kind = fmt or SUFFIXES.get(file.suffix.lower(), "txt")
        if kind not in ("txt", "jsonl", "parquet"):
            raise SentvecError(
                f"format {kind!r} is not read by the ray engine. Fix: use txt, jsonl or parquet."
            )
        ranges = _parquet_ranges(file) if kind == "parquet" else _line_ranges(file, block_rows)
        for start, stop, first in ranges:
            blocks.append(Block(len(blocks), str(file.resolve()), kind, start, stop, first))
    return blocks


_SCAN_BYTES = 1 << 22  # read size of the newline scan


def _line_ranges(file: Path, block_rows: int) -> Iterator[tuple[int, int, int]]:
    """Byte ranges of ``block_rows`` lines each: (start byte, stop byte, first line number)."""
    size = file.stat().st_size
    start, first, lines, offset = 0, 1, 0, 0
    with open(file, "rb") as f:
        for chunk in iter(lambda: f.read(_SCAN_BYTES), b""):
            ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10) + offset + 1
            while lines + len(ends) >= block_rows:
                cut = int(ends[block_rows - lines - 1])
                yield start, cut, first
                ends = ends[block_rows - lines :]
                start, first, lines = cut, first + block_rows, 0
            lines += len(ends)
            offset += len(chunk)
    if start < size:
        yield start, size, first


def _parquet_ranges(file: Path) -> Iterator[tuple[int, int, int]]:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(file).metadata
    first = 1
    for group in range(meta.num_row_groups):
        rows = meta.row_group(group).num_rows
        yield group, group + 1, first
        first += rows


def read_block(block: Block, text_field: str | None, id_field: str | None) -> pa.Table:
    """The records of one block as a table (block, id, text), ids as ``sentvec encode`` gives;
    a block without records gives one row whose id and text are null.

    :param block: the block.
    :param text_field: key/column of the text.
    :param id_field: key/column of the id.
    :return: a pyarrow table.
    """
    import pyarrow as pa

    ids: list[str | None] = []
    texts: list[str | None] = []
    for record in block_records(block, text_field, id_field):
        ids.append(record.id)
        texts.append(record.text)
    if not ids:  # only blank lines: one null row, so the block still reaches an actor
        ids, texts = [None], [None]
    return pa.table(
        {
            "block": pa.array([block.index] * len(ids), pa.int64()),
            "id": pa.array(ids, pa.string()),
            "text": pa.array(texts, pa.string()),
        }
    )


def block_records(block: Block, text_field: str | None, id_field: str | None) -> Iterator:
    """The records of one block, read by :mod:`sentvec.io`."""
    if block.kind == "parquet":
        return iter_parquet_records(block.path, block.start, block.first_line, text_field, id_field)
    return iter_range_records(
        block.path, block.kind, block.start, block.stop, block.first_line, text_field, id_field
    )


__all__ = ["DEFAULT_BLOCK_ROWS", "SUFFIXES", "Block", "block_records", "plan_blocks", "read_block"]
