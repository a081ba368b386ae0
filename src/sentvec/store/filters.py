"""Metadata filters: a ``where`` string parsed as ONE condition, or structured ``filters``.

Neither is ever pasted into SQL as given. A ``where`` string is tokenised and parsed into a
small expression tree (comparisons, ``IN``, ``LIKE``, ``BETWEEN``, ``IS [NOT] NULL``,
``AND``/``OR``/``NOT``, parentheses); anything else (a ``;``, a comment, a sub-query, an
unknown column, a value of the wrong type) is refused with a :class:`FilterError`. Each
backend then renders the tree: LanceDB as a condition with quoted literals, PostgreSQL as
a condition with ``%s`` placeholders and the values bound as parameters.

>>> parse("category = 'billing' AND n >= 2", {"category": "string", "n": "int64"})
('and', [('cmp', 'category', '=', 'billing'), ('cmp', 'n', '>=', 2)])
>>> from_filters({"category": ["billing", "account"]}, {"category": "string"})
('in', 'category', ['billing', 'account'], False)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sentvec.store.errors import FilterError

Node = tuple[Any, ...]
Value = str | int | float | bool

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^']|'')*')
      | (?P<num>-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op><=|>=|<>|!=|=|<|>|\(|\)|,)
    )""",
    re.VERBOSE,
)
KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "BETWEEN", "TRUE", "FALSE"}
_COMPARE = {"=", "!=", "<>", "<", "<=", ">", ">="}
_KIND_OF = {bool: "bool", int: "int64", float: "float64", str: "string"}


def _tokens(where: str, columns: Mapping[str, str]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    where = where.rstrip()
    while pos < len(where):
        m = _TOKEN.match(where, pos)
        if m is None or m.end() == pos:
            bad = where[pos:].lstrip()[:1]
            raise FilterError(
                where,
                list(columns),
                f"unexpected {bad!r} at character {len(where) - len(where[pos:].lstrip()) + 1}"
                " (a filter is one condition: no ';', comments or sub-queries)",
            )
        pos = m.end()
        if m.group("str") is not None:
            out.append(("value", m.group("str")[1:-1].replace("''", "'")))
        elif m.group("num") is not None:
            text = m.group("num")
            out.append(("value", float(text) if re.search(r"[.eE]", text) else int(text)))
        elif m.group("name") is not None:
            word = m.group("name")
            if word.upper() in KEYWORDS:
                kw = word.upper()
                if kw in ("TRUE", "FALSE"):
                    out.append(("value", kw == "TRUE"))
                else:
                    out.append(("kw", kw))
            else:
                out.append(("name", word))
        else:
            out.append(("op", m.group("op")))
    return out


class _Parser:
    """Recursive descent over the tokens; one instance per filter string."""

    def __init__(self, where: str, columns: Mapping[str, str]) -> None:
        self.where, self.columns = where, dict(columns)
        self.toks = _tokens(where, columns)
        self.i = 0

    def fail(self, reason: str) -> FilterError:
        return FilterError(self.where, list(self.columns), reason)

    def peek(self, kind: str, value: Any = None) -> bool:
        if self.i >= len(self.toks):
            return False
        k, v = self.toks[self.i]
        return k == kind and (value is None or v == value)

    def take(self, kind: str, value: Any = None) -> Any:
        if not self.peek(kind, value):
            got = self.toks[self.i][1] if self.i < len(self.toks) else "the end"
            want = value if value is not None else {"name": "a column", "value": "a value"}[kind]
            raise self.fail(f"expected {want} but found {got!r}")
        self.i += 1
        return self.toks[self.i - 1][1]

    def parse(self) -> Node:
        if not self.toks:
            raise self.fail("the filter is empty")
        node = self.or_()
        if self.i < len(self.toks):
            raise self.fail(f"unexpected {self.toks[self.i][1]!r} after a complete condition")
        return node

    def or_(self) -> Node:
        parts = [self.and_()]
        while self.peek("kw", "OR"):
            self.i += 1
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def and_(self) -> Node:
        parts = [self.not_()]
        while self.peek("kw", "AND"):
            self.i += 1
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def not_(self) -> Node:
        if self.peek("kw", "NOT"):
            self.i += 1
            return ("not", self.not_())
        if self.peek("op", "("):
            self.i += 1
            node = self.or_()
            self.take("op", ")")
            return node
        return self.condition()

    def value(self, column: str) -> Value:
        return _check_value(self.take("value"), column, self.columns, self.where)

    def condition(self) -> Node:
        column = self.take("name")
        if column not in self.columns:
            raise self.fail(f"no column {column!r}")
        if self.peek("kw", "IS"):
            self.i += 1
            negated = self.peek("kw", "NOT")
            self.i += negated
            self.take("kw", "NULL")
            return ("null", column, negated)
        negated = self.peek("kw", "NOT")
        self.i += negated
        if self.peek("kw", "IN"):
            self.i += 1
            self.take("op", "(")
            values = [self.value(column)]
            while self.peek("op", ","):
                self.i += 1
                values.append(self.value(column))
            self.take("op", ")")
            return ("in", column, values, negated)
        if self.peek("kw", "LIKE"):
            self.i += 1
            pattern = self.take("value")
            if not isinstance(pattern, str):
                raise self.fail("LIKE needs a quoted pattern, e.g. title LIKE '%refund%'")
            return ("like", column, pattern, negated)
        if self.peek("kw", "BETWEEN"):
            self.i += 1
            low = self.value(column)
            self.take("kw", "AND")
            return ("between", column, low, self.value(column), negated)
        if negated:
            raise self.fail("NOT here must be followed by IN, LIKE or BETWEEN")
        if self.i < len(self.toks) and self.toks[self.i][0] == "op":
            op = self.toks[self.i][1]
            if op in _COMPARE:
                self.i += 1
                return ("cmp", column, "!=" if op == "<>" else op, self.value(column))
        raise self.fail(f"expected a comparison after {column!r} (=, !=, <, <=, >, >=, IN, ...)")


def _check_value(
    value: Any, column: str, columns: Mapping[str, str], where: str, structured: bool = False
) -> Value:
    """A literal for ``column``: its type must fit the column's (ints fit float columns)."""
    kind = columns[column]
    got = _KIND_OF.get(type(value))
    if isinstance(value, float) and not math.isfinite(value):
        got = None
    ok = got == kind or (kind == "float64" and got == "int64")
    if ok and isinstance(value, str) and "\x00" in value:
        raise FilterError(
            where,
            list(columns),
            f"{value!r} for column {column!r} holds a NUL character, which no stored text "
            "holds (drop it)",
            structured=structured,
        )
    if not ok:
        raise FilterError(
            where,
            list(columns),
            f"{value!r} does not fit column {column!r} of type {kind}"
            + (" (strings go in single quotes)" if kind == "string" and not structured else ""),
            structured=structured,
        )
    return float(value) if kind == "float64" else value


def parse(where: str, columns: Mapping[str, str]) -> Node:
    """Parse one filter condition.

    :param where: e.g. ``"category = 'billing' AND n >= 2"``.
    :param columns: the filterable columns and their kinds (``string``, ``int64``,
        ``float64``, ``bool``).
    :return: the expression tree.
    :raises FilterError: for anything but one well-formed condition on known columns.
    """
    return _Parser(where, columns).parse()


FILTER_OPS = {"$eq": "=", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
FILTER_LIST_OPS = {"$in": False, "$nin": True}  # operator -> negated


def from_filters(filters: Mapping[str, Any], columns: Mapping[str, str]) -> Node | None:
    """Structured filters as an expression tree; several keys are joined with AND.

    A value is equality, a list or tuple is ``IN``, ``None`` is ``IS NULL``; a dict holds
    operators (ANDed): ``$eq $ne $gt $gte $lt $lte`` take one value, ``$in $nin`` a list, and
    ``$eq``/``$ne`` with ``None`` test for null. Values must fit the column's type.

    >>> from_filters({"year": {"$gte": 2020, "$lt": 2023}}, {"year": "int64"})
    ('and', [('cmp', 'year', '>=', 2020), ('cmp', 'year', '<', 2023)])

    :param filters: column -> value, list, None or {operator: value}.
    :param columns: the filterable columns and their kinds.
    :return: the tree, or None for no filters.
    :raises FilterError: naming the unknown column or operator, or the value that does not fit.
    """
    parts: list[Node] = []
    text = repr(dict(filters))
    for column, value in filters.items():
        if not isinstance(column, str) or column not in columns:
            raise FilterError(text, list(columns), f"no column {column!r}", structured=True)
        ops = value if isinstance(value, Mapping) else {"$eq": value}
        if not ops:
            raise FilterError(text, list(columns), f"no operator for {column!r}", structured=True)
        for op, operand in ops.items():
            parts.append(_filter_part(column, op, operand, columns, text))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else ("and", parts)


def _filter_part(column: str, op: Any, value: Any, columns: Mapping[str, str], text: str) -> Node:
    """One ``{column: {op: value}}`` condition as a tree node."""
    if op in FILTER_LIST_OPS or (op == "$eq" and isinstance(value, (list, tuple, set))):
        if not isinstance(value, (list, tuple, set, frozenset)) or not value:
            raise FilterError(
                text, list(columns), f"{column!r} {op} needs a non-empty list", structured=True
            )
        values = [_check_value(v, column, columns, text, structured=True) for v in value]
        return ("in", column, values, FILTER_LIST_OPS.get(op, False))
    if op not in FILTER_OPS:
        known = ", ".join([*FILTER_OPS, *FILTER_LIST_OPS])
        raise FilterError(
            text,
            list(columns),
            f"unknown operator {op!r} on {column!r} (use {known})",
            structured=True,
        )
    if value is None:
        if op not in ("$eq", "$ne"):
            raise FilterError(
                text,
                list(columns),
                f"null only works with $eq or $ne ({column!r} {op})",
                structured=True,
            )
        return ("null", column, op == "$ne")
    return ("cmp", column, FILTER_OPS[op], _check_value(value, column, columns, text, True))


def combine(
    where: str | None, filters: Mapping[str, Any] | None, columns: Mapping[str, str]
) -> Node | None:
    """``where`` and ``filters`` together (AND), or None when neither is given."""
    nodes: list[Node] = [parse(where, columns)] if where else []
    if filters:
        node = from_filters(filters, columns)
        if node is not None:
            nodes.append(node)
    if not nodes:
        return None
    return nodes[0] if len(nodes) == 1 else ("and", nodes)


# -- rendering --------------------------------------------------------------------------------


def _lance_literal(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + value.replace("'", "''") + "'"


def _render(node: Node, quote: Callable[[str], str], value: Callable[[Value], str]) -> str:
    """The tree as SQL text: ``quote`` writes a column name, ``value`` a literal (or a
    placeholder that records it)."""
    op = node[0]
    if op in ("and", "or"):
        return "(" + f" {op.upper()} ".join(_render(n, quote, value) for n in node[1]) + ")"
    if op == "not":
        return f"(NOT {_render(node[1], quote, value)})"
    col = quote(node[1])
    if op == "cmp":
        return f"({col} {node[2]} {value(node[3])})"
    if op == "in":
        inner = ", ".join(value(v) for v in node[2])
        return f"({col} {'NOT ' if node[3] else ''}IN ({inner}))"
    if op == "null":
        return f"({col} IS {'NOT ' if node[2] else ''}NULL)"
    if op == "like":
        return f"({col} {'NOT ' if node[3] else ''}LIKE {value(node[2])})"
    low, high = value(node[2]), value(node[3])
    return f"({col} {'NOT ' if node[4] else ''}BETWEEN {low} AND {high})"


def to_lance(node: Node) -> str:
    """The tree as a LanceDB (DataFusion) condition; strings become quoted literals."""
    return _render(node, lambda c: f"`{c}`", _lance_literal)


def to_postgres(node: Node) -> tuple[str, list[Value]]:
    """The tree as a PostgreSQL condition with ``%s`` placeholders, and the values to bind.

    Column names are known, simple identifiers (checked by the parser) and are double-quoted.
    """
    params: list[Value] = []

    def bind(v: Value) -> str:
        params.append(v)
        return "%s"

    return _render(node, lambda c: f'"{c}"', bind), params


def ids_node(ids: Sequence[str]) -> Node:
    """``id IN (...)`` for a list of ids (rendered safely like any other filter)."""
    return ("in", "id", [str(i) for i in ids], False)


__all__ = ["Node", "combine", "from_filters", "ids_node", "parse", "to_lance", "to_postgres"]
