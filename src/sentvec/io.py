"""The one file reader: texts (with ids and metadata) or picked columns from .txt, .jsonl,
.csv and .tsv files, for the CLI, training and evaluation alike.

Every reader here streams (one row in memory at a time) and shares the same rules:

- **Encoding**: UTF-8 with or without a byte-order mark; UTF-16/UTF-32 when the file starts
  with their byte-order mark. Anything else that does not decode (Latin-1, binary) is refused
  with the file, line and byte offset, and how to re-save it.
- **Delimiter**: ``.tsv`` is tab-separated; a ``.csv`` whose first line has more tabs (or
  semicolons) than commas is read with that delimiter instead.
- **Header**: CSV/TSV files have a header row unless ``header=False``; then columns are
  picked by 0-based index.
- **Errors** name ``file:line`` and the fix: broken JSON, a row with too few columns, a lone
  surrogate (``"\\ud800"``) in JSON text, a folder given as a file, a missing file.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Literal

from sentvec.articles import ARTICLE_SUFFIXES
from sentvec.errors import InvalidChoiceError, SentvecError
from sentvec.records import EmptyInputError, InputFileError, Record  # noqa: F401  (re-exported)

TEXT_COLUMNS = ("text", "sentence", "content", "passage", "body", "question")
FORMATS = ("txt", "jsonl", "csv", "tsv")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv", ".txt": "txt"}
_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long passages are fine; memory is per row


def detect_format(path: str | Path, fmt: str | None = None, default: str = "txt") -> str:
    """The format to read ``path`` as: ``fmt`` if given, else from the suffix.

    :param path: the file. :param fmt: a forced format (txt, jsonl, csv, tsv).
    :param default: the format for unknown suffixes.
    :return: one of :data:`FORMATS`.
    """
    if fmt:
        if fmt not in FORMATS:
            from sentvec.errors import InvalidChoiceError

            raise InvalidChoiceError("input format", fmt, FORMATS)
        return fmt
    return _SUFFIXES.get(Path(path).suffix.lower(), default)


def check_input_file(path: str | Path, what: str = "input file") -> Path:
    """Refuse a missing path or a folder where a file is expected.

    :param path: the path. :param what: how to name it in the error.
    :return: the path.
    :raises SentvecError: naming the path and the fix.
    """
    path = Path(path)
    if path.is_dir():
        raise SentvecError(
            f"{what} {str(path)!r} is a folder. Fix: give a .txt, .jsonl, .csv or .tsv file."
        )
    if not path.exists():
        raise SentvecError(f"{what} {str(path)!r} does not exist. Fix: check the path.")
    return path


def check_input_path(path: str | Path, what: str = "input") -> Path:
    """Refuse a missing path; a folder is fine (a folder of Markdown/HTML articles).

    :raises SentvecError: naming the path and the fix.
    """
    path = Path(path)
    if not path.exists():
        raise SentvecError(f"{what} {str(path)!r} does not exist. Fix: check the path.")
    if path.is_dir():
        from sentvec.articles import article_files

        if not article_files(path):
            raise SentvecError(
                f"{what} {str(path)!r} is a folder with no .md, .markdown, .html or .htm "
                "articles. Fix: give a folder of articles, or a .txt/.jsonl/.csv/.tsv file."
            )
    return path


def count_records(path: str | Path) -> int | None:
    """How many records a file (its lines, a fast upper bound) or folder (its articles)
    holds, for a progress bar; None if it cannot be told cheaply."""
    path = Path(path)
    if path.is_dir() or path.suffix.lower() in ARTICLE_SUFFIXES:
        from sentvec.articles import article_files

        return len(article_files(path)) if path.is_dir() else 1
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return None


def iter_lines(path: str | Path, encoding: str | None = None) -> Iterator[str]:
    """The lines of a text file, line endings kept, decoded as described in the module
    docstring; streamed.

    :param path: the file (checked with :func:`check_input_file`).
    :param encoding: force an encoding (e.g. ``latin-1``) instead of detecting UTF-8/16/32.
    :return: an iterator of lines.
    :raises InputFileError: naming line and byte offset of undecodable bytes.
    """
    path = check_input_file(path)
    with open(path, "rb") as f:
        head = f.peek(4)[:4]
        detected = encoding or next((enc for bom, enc in _BOMS if head.startswith(bom)), None)
        if detected in (None, "utf-8-sig"):
            if detected:
                f.read(len(codecs.BOM_UTF8))
            yield from _utf8_lines(path, f)
            return
        text = codecs.getreader(detected)(f, "strict")
        done = 0  # lines decoded so far
        try:
            for line in _split_keepends(text):
                yield line
                done += 1
        except UnicodeDecodeError as e:
            raise InputFileError(
                path,
                done + 1,
                f"cannot decode as {detected} ({e.reason}). Fix: re-save it as UTF-8",
            ) from None
        except LookupError:
            from sentvec.errors import InvalidChoiceError

            raise InvalidChoiceError("encoding", detected, ["utf-8", "utf-16", "latin-1"]) from None


def _split_keepends(stream: Any) -> Iterator[str]:
    """Lines of a codecs stream reader, ending at ``\\n`` (kept), streamed."""
    rest = ""
    while chunk := stream.read(1 << 16):
        rest += chunk
        *lines, rest = rest.split("\n")
        for line in lines:
            yield line + "\n"
    if rest:
        yield rest


def _utf8_lines(path: Path, f: IO[bytes]) -> Iterator[str]:
    """Decode as strict UTF-8 at TextIOWrapper speed; on a bad byte, find its exact line and
    byte offset by scanning the file again (only on that error path)."""
    text = io.TextIOWrapper(f, encoding="utf-8", errors="strict", newline="")
    n = 0
    try:
        for line in text:
            n += 1
            if "\x00" in line:
                raise _bad_bytes(path, n)
            yield line
    except UnicodeDecodeError:
        raise _bad_bytes(path, n + 1) from None
    finally:
        text.detach()


def _bad_bytes(path: Path, after: int) -> InputFileError:
    """The error for the first undecodable (or NUL) byte, with its line and byte offset."""
    offset = 0
    try:
        with open(path, "rb") as f:
            if f.peek(3)[:3] == codecs.BOM_UTF8:
                offset = len(codecs.BOM_UTF8)
                f.read(offset)
            for n, raw in enumerate(f, start=1):
                nul = raw.find(b"\x00")
                if nul >= 0:
                    return InputFileError(
                        path,
                        n,
                        f"NUL byte at byte offset {offset + nul}: this is a binary file, "
                        "or UTF-16 without a byte-order mark. Fix: give a text file saved as UTF-8",
                    )
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    return InputFileError(
                        path,
                        n,
                        f"not UTF-8: byte {raw[e.start : e.start + 1]!r} at byte offset "
                        f"{offset + e.start} (column {e.start + 1}) cannot be decoded. "
                        "Fix: re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 IN > OUT`, "
                        "or 'CSV UTF-8' in a spreadsheet's Save as)",
                    )
                offset += len(raw)
    except OSError:
        pass
    return InputFileError(  # a pipe cannot be read twice: say where, roughly
        path, after, "not UTF-8 (at or after this line). Fix: re-save the file as UTF-8"
    )


def iter_rows(
    path: str | Path,
    fmt: str | None = None,
    header: bool = True,
    encoding: str | None = None,
    default_format: str = "txt",
) -> Iterator[tuple[int, Any]]:
    """``(line number, row)`` pairs of a file, streamed.

    Rows are: a one-item list for .txt (blank lines skipped); the parsed JSON value for .jsonl
    (blank lines skipped); a dict keyed by the header for CSV/TSV, or a list of columns with
    ``header=False`` (empty lines skipped).

    :param path: the file. :param fmt: force a format (see :data:`FORMATS`).
    :param header: CSV/TSV has a header row. :param encoding: see :func:`iter_lines`.
    :param default_format: the format of a file with an unknown suffix.
    :return: the rows.
    :raises InputFileError: naming file, line and the problem.
    """
    path = Path(path)
    kind = detect_format(path, fmt, default_format)
    lines = iter_lines(path, encoding)
    if kind == "txt":
        for n, line in enumerate(lines, start=1):
            text = line.rstrip("\r\n")
            if text.strip():
                yield n, [text]
    elif kind == "jsonl":
        yield from _jsonl_rows(path, lines)
    else:
        yield from _csv_rows(path, lines, kind, header)


def _jsonl_rows(
    path: Path,
    lines: Iterable[str],
    on_error: Callable[[InputFileError], None] | None = None,
    first: int = 1,
) -> Iterator[tuple[int, Any]]:
    for n, line in enumerate(lines, start=first):
        if not line.strip():
            continue
        if n == 1:
            line = line.lstrip("\ufeff")
        try:
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputFileError(
                    path, n, f"not valid JSON ({e.msg} at column {e.colno}). Fix: correct that line"
                ) from None
            except RecursionError:
                raise InputFileError(path, n, "JSON nested too deeply") from None
            if "\\u" in line and _SURROGATE_ESCAPE.search(line):
                _check_surrogates(path, n, row)
        except InputFileError as e:
            if on_error is None:
                raise
            on_error(e)
            continue
        yield n, row


def _check_surrogates(path: Path, n: int, row: Any) -> None:
    """Refuse JSON text holding an unpaired surrogate escape (not valid Unicode text)."""
    try:
        json.dumps(row, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as e:
        bad = e.object[e.start : e.end]
        raise InputFileError(
            path,
            n,
            f"JSON text holds a lone surrogate {bad!r} (half of a UTF-16 pair), which is not "
            "valid Unicode. Fix: write the whole character (or its \\uXXXX\\uXXXX pair), "
            "or remove it",
        ) from None


def sniff_delimiter(first_line: str, kind: str) -> str:
    """The delimiter of a CSV/TSV file from its first line.

    :param first_line: the first line. :param kind: ``csv`` or ``tsv``.
    :return: tab for TSV; for CSV the most frequent of comma, tab and semicolon outside
        quotes (comma on a tie).
    """
    if kind == "tsv":
        return "\t"
    unquoted = re.sub(r'"[^"]*"', "", first_line)
    counts = {d: unquoted.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] > 0 else ","


def _csv_rows(
    path: Path,
    lines: Iterator[str],
    kind: str,
    header: bool,
    on_error: Callable[[InputFileError], None] | None = None,
) -> Iterator[tuple[int, Any]]:
    first = next(lines, None)
    if first is None:
        return
    delimiter = sniff_delimiter(first.lstrip("\ufeff"), kind)
    quoting: Literal[0, 3] = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL

    def all_lines() -> Iterator[str]:
        yield first.lstrip("\ufeff")
        yield from lines

    reader = csv.reader(all_lines(), delimiter=delimiter, quoting=quoting, strict=True)
    names: list[str] | None = None
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if header and names is None:
                names = [c.strip() for c in row]
                continue
            if names is None:
                yield reader.line_num, row
                continue
            if len(row) > len(names):
                error = InputFileError(
                    path,
                    reader.line_num,
                    f"row has {len(row)} columns but the header has {len(names)}. "
                    f"Fix: quote values holding {_show(delimiter)}, or pass --no-header "
                    "if the first line is data",
                )
                if on_error is None:
                    raise error
                on_error(error)
                continue
            yield reader.line_num, dict(zip(names, row, strict=False))
    except csv.Error as e:
        raise InputFileError(
            path, reader.line_num, f"broken CSV ({e}). Fix: check quoting"
        ) from None


def _show(delimiter: str) -> str:
    return {"\t": "a tab", ",": "a comma", ";": "a semicolon"}.get(delimiter, repr(delimiter))


def iter_records(
    path: str | Path,
    text_field: str | int | None = None,
    id_field: str | int | None = None,
    fmt: str | None = None,
    header: bool = True,
    encoding: str | None = None,
    on_error: Callable[[InputFileError], None] | None = None,
) -> Iterator[Record]:
    """Stream records from a file, one at a time (constant memory).

    :param path: a .txt (one text per line; blank lines skipped), .jsonl, .csv or .tsv file;
        or a Markdown/HTML article, or a folder of them (see :mod:`sentvec.articles`).
    :param text_field: the column/key holding the text (default: the first of
        text, sentence, content, passage, body, question that exists); with ``header=False``
        a 0-based column index (default 0 for a one-column file).
    :param id_field: the column/key holding the id (default: ``id`` if present, else the
        line number).
    :param fmt: force a format: txt, jsonl, csv or tsv.
    :param header: False for CSV/TSV files without a header row.
    :param encoding: force an encoding instead of detecting UTF-8/16/32.
    :param on_error: given, a malformed row (or broken article) is passed to it and skipped,
        and reading goes on (an upload reports every bad line and stores the rest). Errors
        that end the file for any reader (undecodable bytes, broken CSV quoting) still raise.
    :return: an iterator of records.
    :raises InputFileError: naming file, line and problem for a malformed row.
    """
    path = Path(path)
    if fmt is None and (path.is_dir() or path.suffix.lower() in ARTICLE_SUFFIXES):
        from sentvec.articles import iter_articles

        yield from iter_articles(check_input_path(path), on_error)
        return
    kind = detect_format(path, fmt)
    if kind == "txt":  # the fast path: one text per line
        for n, line in enumerate(iter_lines(path, encoding), start=1):
            text = line.rstrip("\r\n")
            if text.strip():
                yield Record(text, str(n))
        return
    json_rows = kind == "jsonl"
    if json_rows:
        rows: Iterable[tuple[int, Any]] = _jsonl_rows(path, iter_lines(path, encoding), on_error)
    elif kind == "txt":
        rows = iter_rows(path, fmt, header, encoding)
    else:
        rows = _csv_rows(path, iter_lines(path, encoding), kind, header, on_error)
    yield from _row_records(path, rows, json_rows, text_field, id_field, on_error)


def _row_records(
    path: Path,
    rows: Iterable[tuple[int, Any]],
    json_rows: bool,
    text_field: str | int | None,
    id_field: str | int | None,
    on_error: Callable[[InputFileError], None] | None = None,
) -> Iterator[Record]:
    """Records of parsed rows: a JSON object or a CSV row (dict by header, or list)."""
    for n, row in rows:
        try:
            if isinstance(row, list) and not json_rows:
                yield _list_record(path, n, row, text_field, id_field)
            elif isinstance(row, dict):
                yield _record(path, n, row, text_field, id_field)
            else:
                raise InputFileError(
                    path,
                    n,
                    f"expected a JSON object, got {type(row).__name__}. Fix: write one "
                    '{"text": ...} object per line',
                )
        except InputFileError as e:
            if on_error is None:
                raise
            on_error(e)


def iter_range_records(
    path: str | Path,
    kind: str,
    start: int,
    stop: int,
    first_line: int,
    text_field: str | int | None = None,
    id_field: str | int | None = None,
) -> Iterator[Record]:
    """The records of one byte range of a .txt or .jsonl file (a bulk engine's block), read
    with the same rules as :func:`iter_records`: UTF-8 (a byte-order mark at the file's start
    skipped), NUL and undecodable bytes refused with their line, lone surrogate escapes
    refused, one JSON object per line, ids the line numbers unless the rows carry them.

    :param path: the file. :param kind: ``txt`` or ``jsonl``.
    :param start: first byte (a line start). :param stop: byte after the range (a line end).
    :param first_line: the line number of the range's first line.
    :raises InputFileError: naming file, line and problem.
    """
    path = Path(path)
    with open(path, "rb") as f:
        f.seek(start)
        raw = f.read(stop - start)
    if start == 0 and raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise InputFileError(
            path,
            first_line + raw.count(b"\n", 0, nul),
            "NUL byte: this is a binary file, or UTF-16 without a byte-order mark. "
            "Fix: give a text file saved as UTF-8",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputFileError(
            path,
            first_line + raw.count(b"\n", 0, e.start),
            f"not UTF-8: byte {raw[e.start : e.start + 1]!r} cannot be decoded. "
            "Fix: re-save the file as UTF-8",
        ) from None
    lines = io.StringIO(text, newline="")
    if kind == "txt":
        for n, line in enumerate(lines, start=first_line):
            value = line.rstrip("\r\n")
            if value.strip():
                yield Record(value, str(n))
        return
    if kind != "jsonl":
        raise InvalidChoiceError("format of a byte range", kind, ["txt", "jsonl"])
    rows = _jsonl_rows(path, lines, first=first_line)
    yield from _row_records(path, rows, True, text_field, id_field)


def iter_parquet_records(
    path: str | Path,
    row_group: int | None = None,
    first_row: int = 1,
    text_field: str | None = None,
    id_field: str | None = None,
) -> Iterator[Record]:
    """The records of a Parquet file (or one of its row groups): the text column (default:
    the first of :data:`TEXT_COLUMNS` present), ids from ``id``/``_id`` or the row numbers.

    :raises InputFileError: no text column, or a text that is not a string.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    file = pq.ParquetFile(path)
    names = file.schema_arrow.names
    key = text_field or next((c for c in TEXT_COLUMNS if c in names), None)
    if key is None or key not in names:
        raise InputFileError(
            path, 0, f"no text column; columns are {names}. Fix: pass --text-field"
        )
    id_key = id_field or next((c for c in ("id", "_id") if c in names), None)
    if id_key is not None and id_key not in names:
        raise InputFileError(path, 0, f"no id column {id_key!r}; columns are {names}")
    columns = [key] + ([id_key] if id_key else [])
    table = (
        file.read_row_group(row_group, columns=columns)
        if row_group is not None
        else (file.read(columns=columns))
    )
    texts = table.column(key).to_pylist()
    ids = table.column(id_key).to_pylist() if id_key else None
    for i, value in enumerate(texts):
        n = first_row + i
        if not isinstance(value, str):
            raise InputFileError(
                path, n, f"column {key!r} holds {type(value).__name__}, not text. Fix: store text"
            )
        yield Record(value, str(ids[i]) if ids is not None else str(n))


def _index(path: Path, n: int, value: str | int, what: str) -> int:
    if isinstance(value, int):
        return value
    if value.strip().isdigit():
        return int(value)
    raise InputFileError(
        path, n, f"{what} {value!r} must be a 0-based column number for a file without a header"
    )


def _list_record(
    path: Path, n: int, row: list[str], text_field: str | int | None, id_field: str | int | None
) -> Record:
    if text_field is None:
        if len(row) > 1:
            raise InputFileError(
                path,
                n,
                f"the row has {len(row)} columns and no header names them. "
                "Fix: pass --text-field N (0-based column number)",
            )
        ti = 0
    else:
        ti = _index(path, n, text_field, "--text-field")
    ii = None if id_field is None else _index(path, n, id_field, "--id-field")
    for i in (ti, ii):
        if i is not None and not 0 <= i < len(row):
            raise InputFileError(
                path, n, f"no column {i} (the row has {len(row)} columns, numbered from 0)"
            )
    meta = {str(i): v for i, v in enumerate(row) if i not in (ti, ii)}
    return Record(row[ti], row[ii] if ii is not None else str(n), meta)


def _record(
    path: Path,
    n: int,
    row: dict[str, Any],
    text_field: str | int | None,
    id_field: str | int | None,
) -> Record:
    text_key = None if text_field is None else str(text_field)
    key = text_key or next((c for c in TEXT_COLUMNS if c in row), None)
    if key is None or key not in row:
        wanted = repr(text_key) if text_key else "one of " + ", ".join(TEXT_COLUMNS)
        raise InputFileError(
            path,
            n,
            f"no text field {wanted}; fields are {sorted(map(str, row))}. "
            "Fix: pass --text-field NAME",
        )
    text = row[key]
    if not isinstance(text, str):
        raise InputFileError(
            path, n, f"field {key!r} is {type(text).__name__}, not text. Fix: quote it as text"
        )
    id_key = None if id_field is None else str(id_field)
    if id_key and id_key not in row:
        raise InputFileError(path, n, f"no id field {id_key!r}; fields are {sorted(map(str, row))}")
    id_key = id_key or ("id" if "id" in row else ("_id" if "_id" in row else None))
    rid = str(row[id_key]) if id_key else str(n)
    meta = {k: v for k, v in row.items() if k not in (key, id_key)}
    return Record(text, rid, meta)


def read_records(
    path: str | Path,
    text_field: str | int | None = None,
    id_field: str | int | None = None,
    fmt: str | None = None,
    header: bool = True,
    encoding: str | None = None,
) -> list[Record]:
    """All records of a file in a list; see :func:`iter_records`."""
    return list(iter_records(path, text_field, id_field, fmt, header, encoding))


def read_columns(
    path: str | Path,
    columns: Sequence[str | int],
    header: bool = True,
    fmt: str | None = None,
    encoding: str | None = None,
) -> list[list[str]]:
    """The given columns of every row of a CSV, TSV or JSONL file (unknown suffix: TSV).

    :param path: the file.
    :param columns: column names (headed CSV/TSV, JSONL keys) or 0-based indices (no header).
    :param header: False when a CSV/TSV file has no header row.
    :param fmt: force a format. :param encoding: see :func:`iter_lines`.
    :return: one list of strings per row, in ``columns`` order.
    :raises InputFileError: naming file, line and the missing or empty column.
    """
    path = Path(path)
    out = []
    for line, row in iter_rows(path, fmt, header, encoding, default_format="tsv"):
        values = []
        for c in columns:
            try:
                value = row[c]
            except (KeyError, IndexError, TypeError):
                have = (
                    sorted(map(str, row))
                    if isinstance(row, dict)
                    else f"{len(row)} columns"
                    if isinstance(row, list)
                    else type(row).__name__
                )
                raise InputFileError(
                    path,
                    line,
                    f"no column {c!r} (row has {have}). Fix: name the right columns "
                    "(--columns), or pass --no-header and column numbers",
                ) from None
            if value is None or str(value).strip() == "":
                raise InputFileError(path, line, f"column {c!r} is empty")
            values.append(str(value))
        out.append(values)
    return out
