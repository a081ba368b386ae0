"""Structured metadata filters (JSON) turned into a store condition, values quoted safely.

A filter is ``{"field": value}`` (equality) or ``{"field": {"$op": value}}`` with ``$op`` in
``$eq $ne $gt $gte $lt $lte $in $nin``; several fields are ANDed. Field names must be the
collection's filter columns; values must be strings, numbers, booleans or null (lists for
``$in``/``$nin``). Nothing from the request is pasted unquoted: a name is checked against the
known columns, a string is quoted with its quotes doubled, a number is formatted by Python.

When ``Collection.search(filters=...)`` lands in the store, :func:`to_where` is the one place
to replace.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sentvec.server.errors import APIError

OPS = {"$eq": "=", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
LIST_OPS = {"$in": "IN", "$nin": "NOT IN"}


def literal(value: Any, field: str) -> str:
    """One value as an SQL literal.

    :raises APIError: 422 for a value of another type (dict, NaN, ...).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise APIError(
        422,
        f"filter on {field!r}: value {value!r} is not a string, number or boolean.",
        param="filters",
    )


def to_where(filters: dict[str, Any] | None, columns: Sequence[str]) -> str | None:
    """The condition for ``Collection.search(where=...)``, or None for no filter.

    :param filters: the structured filter.
    :param columns: the collection's filter columns.
    :raises APIError: 422 naming the bad field, operator or value.
    """
    if not filters:
        return None
    parts = []
    for name, cond in filters.items():
        if name not in columns:
            raise APIError(
                422,
                f"cannot filter on {name!r}: not a filter column. "
                f"Fix: use one of {', '.join(columns)}.",
                param="filters",
            )
        ops = cond if isinstance(cond, dict) else {"$eq": cond}
        for op, value in ops.items():
            parts.append(_clause(name, op, value))
    return " AND ".join(parts) if parts else None


def _clause(name: str, op: str, value: Any) -> str:
    if op in LIST_OPS:
        if not isinstance(value, list) or not value:
            raise APIError(
                422, f"filter {name}.{op} needs a non-empty list of values.", param="filters"
            )
        return f"{name} {LIST_OPS[op]} ({', '.join(literal(v, name) for v in value)})"
    if op not in OPS:
        raise APIError(
            422,
            f"unknown filter operator {op!r} on {name!r}. "
            f"Fix: use one of {', '.join([*OPS, *LIST_OPS])}.",
            param="filters",
        )
    if value is None:
        if op not in ("$eq", "$ne"):
            raise APIError(422, f"filter {name}.{op}: null only works with $eq/$ne.")
        return f"{name} IS {'NOT ' if op == '$ne' else ''}NULL"
    return f"{name} {OPS[op]} {literal(value, name)}"


__all__ = ["LIST_OPS", "OPS", "literal", "to_where"]
