"""Read texts (with optional ids and metadata) from text, JSONL and CSV/TSV files."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentvec.errors import SentvecError

TEXT_COLUMNS = ("text", "sentence", "content", "passage", "body", "question")


@dataclass
class Record:
    """One input row: its text, an id, and any other fields as metadata."""

    text: str
    id: str
    metadata: dict[str, Any] = field(default_factory=dict)


class InputFileError(SentvecError, ValueError):
    """A row of an input file cannot be read."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        self.path, self.line, self.problem = path, line, problem
        super().__init__(f"{path}:{line}: {problem}")


def _format(path: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    suffix = path.suffix.lower()
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv"}.get(suffix, "txt")


def iter_records(
    path: str | Path,
    text_field: str | None = None,
    id_field: str | None = None,
    fmt: str | None = None,
) -> Iterator[Record]:
    """Stream records from a file, one at a time (constant memory).

    :param path: a .txt (one text per line; blank lines skipped), .jsonl, .csv or .tsv file.
    :param text_field: the column/key holding the text (default: the first of
        text, sentence, content, passage, body, question that exists).
    :param id_field: the column/key holding the id (default: ``id`` if present, else the
        line number).
    :param fmt: force a format: txt, jsonl, csv or tsv.
    :return: an iterator of records.
    :raises InputFileError: naming file, line and problem for a malformed row.
    """
    path = Path(path)
    if not path.exists():
        raise SentvecError(f"input file {str(path)!r} does not exist")
    kind = _format(path, fmt)
    with open(path, encoding="utf8", newline="") as f:
        if kind == "txt":
            for n, line in enumerate(f, start=1):
                text = line.rstrip("\r\n")
                if text.strip():
                    yield Record(text, str(n))
            return
        if kind == "jsonl":
            rows: Iterator[tuple[int, dict[str, Any]]] = _jsonl_rows(path, f)
        else:
            reader = csv.DictReader(f, delimiter="\t" if kind == "tsv" else ",")
            rows = ((n, row) for n, row in enumerate(reader, start=2))
        for n, row in rows:
            yield _record(path, n, row, text_field, id_field)


def _jsonl_rows(path: Path, f: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    for n, line in enumerate(f, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputFileError(path, n, f"not valid JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise InputFileError(path, n, f"expected a JSON object, got {type(row).__name__}")
        yield n, row


def _record(
    path: Path, n: int, row: dict[str, Any], text_field: str | None, id_field: str | None
) -> Record:
    key = text_field or next((c for c in TEXT_COLUMNS if c in row), None)
    if key is None or key not in row:
        wanted = repr(text_field) if text_field else "one of " + ", ".join(TEXT_COLUMNS)
        raise InputFileError(
            path,
            n,
            f"no text field {wanted}; fields are {sorted(row)}. Fix: pass --text-field NAME",
        )
    text = row[key]
    if not isinstance(text, str):
        raise InputFileError(path, n, f"field {key!r} is {type(text).__name__}, not text")
    id_key = id_field or ("id" if "id" in row else ("_id" if "_id" in row else None))
    if id_field and id_field not in row:
        raise InputFileError(path, n, f"no id field {id_field!r}; fields are {sorted(row)}")
    rid = str(row[id_key]) if id_key else str(n)
    meta = {k: v for k, v in row.items() if k not in (key, id_key)}
    return Record(text, rid, meta)


def read_records(
    path: str | Path,
    text_field: str | None = None,
    id_field: str | None = None,
    fmt: str | None = None,
) -> list[Record]:
    """All records of a file in a list; see :func:`iter_records`."""
    return list(iter_records(path, text_field, id_field, fmt))
