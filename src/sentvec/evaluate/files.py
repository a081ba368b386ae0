"""Read evaluation files: picked columns of CSV/TSV/JSONL rows, with file:line errors."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from sentvec.errors import SentvecError
from sentvec.io import InputFileError


def read_columns(
    path: str | Path, columns: Sequence[str | int], header: bool = True
) -> list[list[str]]:
    """The given columns of every row of a CSV, TSV or JSONL file.

    :param path: the file (format from the suffix; anything else is read as TSV).
    :param columns: column names (headed CSV/TSV, JSONL keys) or 0-based indices (no header).
    :param header: False when a CSV/TSV file has no header row.
    :return: one list of strings per row, in ``columns`` order.
    :raises InputFileError: naming file, line and the missing or empty column.
    """
    path = Path(path)
    if not path.exists():
        raise SentvecError(f"evaluation file {str(path)!r} does not exist. Fix: check the path.")
    out = []
    for line, row in _rows(path, header):
        values = []
        for c in columns:
            try:
                value = row[c]
            except (KeyError, IndexError, TypeError):
                have = sorted(row) if isinstance(row, dict) else f"{len(row)} columns"
                raise InputFileError(
                    path, line, f"no column {c!r} (row has {have}). Fix: name the right columns"
                ) from None
            if value is None or str(value).strip() == "":
                raise InputFileError(path, line, f"column {c!r} is empty")
            values.append(str(value))
        out.append(values)
    return out


def _rows(path: Path, header: bool) -> Iterator[tuple[int, Any]]:
    suffix = path.suffix.lower()
    with open(path, encoding="utf-8-sig", newline="") as f:
        if suffix in (".jsonl", ".ndjson"):
            for n, text in enumerate(f, start=1):
                if text.strip():
                    try:
                        yield n, json.loads(text)
                    except json.JSONDecodeError as e:
                        raise InputFileError(path, n, f"not valid JSON ({e.msg})") from None
            return
        tabbed = "\t" in f.readline()  # a .csv that is really tab-separated reads as TSV
        f.seek(0)
        delimiter = "," if suffix == ".csv" and not tabbed else "\t"
        quoting: Literal[0, 1, 2, 3] = csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE
        reader = csv.reader(f, delimiter=delimiter, quoting=quoting)
        names = next(reader, None) if header else None
        for row in reader:
            if row:
                yield reader.line_num, dict(zip(names, row, strict=False)) if names else row
