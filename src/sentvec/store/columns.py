"""What a stored row holds, and the rules every backend shares for names and metadata.

A collection stores passages. Each row: ``pid`` (the passage's key: document id, ``#``,
passage number), ``id`` (the document's id: what users add, filter on, delete and see),
``passage`` (its number in the document), ``text`` (the passage as it appears in the
document), ``title``, ``char_start``/``char_end`` (the passage's offsets in the document's
text), ``document`` (the whole text, on passage 0 only), ``vector``, ``meta`` (every metadata
field as JSON), and one typed column per scalar metadata field of the first rows, so that
filters read ``category = 'billing'``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from sentvec.errors import SentvecError
from sentvec.store.errors import MetadataTypeError
from sentvec.store.filters import KEYWORDS

CORE_COLUMNS = (
    "pid",
    "id",
    "passage",
    "text",
    "title",
    "char_start",
    "char_end",
    "document",
    "vector",
    "meta",
)
# names a typed metadata column may not take: the core columns, the engines' own (LanceDB's
# result columns, PostgreSQL's generated full-text column) and the filter language's words
ENGINE_COLUMNS = ("tsv", "_distance", "_score", "_relevance_score", "_rowid", "_rowaddr")
LAYOUT = 2  # 1: one row per text (before documents); 2: passages
MAX_COLUMN_NAME = 63  # PostgreSQL cuts identifiers at 63 bytes; both backends use the same rule
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_TYPES = {bool: "bool", int: "int64", float: "float64", str: "string"}
_INT64 = (-(2**63), 2**63 - 1)


def check_name(name: object) -> str:
    """A collection name: letters, digits, ``_ - .``, starting with a letter or digit, at most
    100 characters, matched in full (a trailing newline is refused, not ignored).

    :raises SentvecError: naming the bad name and the rule.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SentvecError(
            f"invalid collection name {name!r}. Fix: use letters, digits, '_', "
            "'-' or '.', starting with a letter or digit (at most 100)."
        )
    return name


def typed_field(key: str) -> bool:
    """Whether a metadata field can get a typed (filterable) column of its own."""
    return (
        bool(_FIELD.fullmatch(key))
        and len(key.encode()) <= MAX_COLUMN_NAME
        and key not in CORE_COLUMNS
        and key.lower() not in ENGINE_COLUMNS
        and key.upper() not in KEYWORDS
    )


def define_columns(metadata: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Typed filter columns from the scalar metadata fields of the first rows.

    A field that mixes types (other than int and float), holds lists or objects, or has a
    name no column can take (see :func:`typed_field`) stays in the JSON metadata only.
    """
    kinds: dict[str, str] = {}
    for meta in metadata:
        for key, value in meta.items():
            if not typed_field(key):
                continue
            if value is None:
                kinds.setdefault(key, "")
                continue
            kind = _TYPES.get(type(value), "json")
            if kind == "int64" and not _INT64[0] <= value <= _INT64[1]:
                kind = "json"  # beyond a 64-bit column: kept in the JSON metadata
            prev = kinds.get(key, "")
            if prev in ("", kind):
                kinds[key] = kind
            elif {prev, kind} == {"int64", "float64"}:
                kinds[key] = "float64"
            else:
                kinds[key] = "json"
    return {k: v for k, v in kinds.items() if v not in ("", "json")}


def coerce(row_id: str, metadata: dict[str, Any], column: str, kind: str) -> Any:
    """A row's value for a typed column, or :class:`MetadataTypeError`."""
    value = metadata.get(column)
    if value is None:
        return None
    if kind == "float64" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if _TYPES.get(type(value)) != kind:
        raise MetadataTypeError(row_id, column, value, kind)
    if kind == "int64" and not _INT64[0] <= value <= _INT64[1]:
        raise MetadataTypeError(row_id, column, value, "a 64-bit integer")
    return value


def check_metadata(row_id: str, metadata: dict[str, Any]) -> None:
    """Refuse metadata that no backend can store the same way: NaN or infinite numbers
    (not JSON), keys that are not text, and text holding a lone surrogate or a NUL.

    :raises SentvecError: naming the document, the field and the fix.
    """
    stack: list[tuple[str, Any]] = list(metadata.items())
    while stack:
        key, value = stack.pop()
        if not isinstance(key, str):
            raise SentvecError(
                f"document {row_id!r}: metadata key {key!r} is not text. Fix: use text keys."
            )
        _check_text(row_id, key, key)
        if isinstance(value, float) and not math.isfinite(value):
            raise SentvecError(
                f"document {row_id!r}: metadata {key!r} = {value!r} is not a finite number "
                "(JSON has no NaN or Infinity). Fix: use null, or leave the field out."
            )
        if isinstance(value, str):
            _check_text(row_id, key, value)
        elif isinstance(value, dict):
            stack.extend((f"{key}.{k}" if isinstance(k, str) else k, v) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((f"{key}[{i}]", v) for i, v in enumerate(value))


def check_passage_text(row_id: str, fields: dict[str, str | None]) -> None:
    """Refuse a NUL character in a document's id, text or title: PostgreSQL text cannot
    hold it (LanceDB can), and both backends follow one rule.

    :raises SentvecError: naming the document, the field and the fix.
    """
    for name, value in fields.items():
        if value and "\x00" in value:
            raise SentvecError(
                f"document {row_id!r}: the {name} holds a NUL character (\\u0000) at "
                f"character {value.index(chr(0))}, which no text column can store. Fix: drop "
                "it (it is usually left over from a binary file)."
            )


def _check_text(row_id: str, key: str, value: str) -> None:
    if "\x00" in value:
        raise SentvecError(
            f"document {row_id!r}: metadata {key!r} holds a NUL character (\\u0000), which "
            "PostgreSQL's JSON cannot store (both backends refuse it). Fix: drop it."
        )
    if value.isascii():
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise SentvecError(
            f"document {row_id!r}: metadata {key!r} holds a lone surrogate "
            f"{value[e.start]!r} at character {e.start}, which is not valid Unicode. "
            "Fix: decode the input as UTF-8, or drop that character."
        ) from None


__all__ = [
    "CORE_COLUMNS",
    "ENGINE_COLUMNS",
    "LAYOUT",
    "check_metadata",
    "check_name",
    "check_passage_text",
    "coerce",
    "define_columns",
    "typed_field",
]
