"""Relevance judgments beside a collection: the thumbs up / down a support agent gives a hit,
kept append-only so they can score any later model or setting on the same questions.

A judgment is (query, document id, label +1 / -1) with the passage shown, the search mode,
the rank and score it had, the collection's model and fingerprint, and the time. The latest
judgment of a (query, document) pair is the one that counts.

Storage, per backend: a LanceDB folder keeps ``NAME.judgments.jsonl`` next to the collection
(one JSON line per judgment, appended with ``O_APPEND`` and flushed to disk, so a crash loses
at most the line being written and never a line before it); PostgreSQL keeps the table
``sentvec_judgments`` (INSERT only). Dropping the collection keeps its judgments: re-index
with another model and score it on the same questions.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentvec.errors import SentvecError
from sentvec.store.location import is_postgres

if TYPE_CHECKING:
    from sentvec.store.base import Collection

LABELS = (1, -1)
MAX_QUERY_CHARS = 2000
PG_TABLE = "sentvec_judgments"


@dataclass
class Judgment:
    """One thumbs up (+1) or down (-1) on a hit."""

    query: str
    id: str
    label: int
    passage: str | None = None
    mode: str | None = None
    rank: int | None = None
    score: float | None = None
    model: str | None = None
    fingerprint: str | None = None
    time: float = 0.0

    def check(self) -> Judgment:
        """Validate the fields a client sends.

        :raises SentvecError: naming the bad value and the fix.
        """
        if self.label not in LABELS:
            raise SentvecError(
                f"label {self.label!r} is not a judgment. Fix: send 1 (relevant) or -1 (not)."
            )
        query = " ".join(self.query.split())
        if not query:
            raise SentvecError("a judgment needs the query that was searched. Fix: pass query.")
        if len(query) > MAX_QUERY_CHARS:
            raise SentvecError(
                f"query has {len(query)} characters; the limit is {MAX_QUERY_CHARS}. "
                "Fix: judge a shorter query."
            )
        if not self.id:
            raise SentvecError("a judgment needs the document id. Fix: pass id.")
        for value in (query, self.id, self.passage or ""):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise SentvecError(
                    f"{value[:40]!r} holds a lone surrogate. Fix: send valid Unicode text."
                ) from None
        self.query = query
        return self


def _lance_file(col: Collection) -> Path:
    return Path(col.location) / f"{col.name}.judgments.jsonl"


def add_judgment(col: Collection, judgment: Judgment) -> int:
    """Append a judgment to the collection's judgments (the model and fingerprint are the
    collection's own; the time is now).

    :return: how many judgments the collection has, this one included.
    """
    j = judgment.check()
    j.model, j.fingerprint = col.meta.get("model"), col.meta.get("fingerprint")
    j.time = time.time()
    if is_postgres(col.location):
        conn = col.conn  # type: ignore[attr-defined]
        with conn.transaction():
            _pg_table(conn)
            conn.execute(
                f"INSERT INTO {PG_TABLE} (collection, judgment) VALUES (%s, %s)",
                (col.name, json.dumps(asdict(j))),
            )
        return count_judgments(col)
    line = (json.dumps(asdict(j), ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(_lance_file(col), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)  # one write of a whole line: concurrent writers do not interleave
        os.fsync(fd)
    finally:
        os.close(fd)
    return count_judgments(col)


def _pg_table(conn: Any) -> None:
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {PG_TABLE} (n bigserial PRIMARY KEY, "
        "collection text NOT NULL, judgment jsonb NOT NULL, "
        "created timestamptz NOT NULL DEFAULT now())"
    )
    conn.execute(f"CREATE INDEX IF NOT EXISTS {PG_TABLE}_collection ON {PG_TABLE} (collection)")


def iter_judgments(col: Collection) -> Iterator[Judgment]:
    """Every judgment of the collection, oldest first (a torn last line is skipped)."""
    if is_postgres(col.location):
        conn = col.conn  # type: ignore[attr-defined]
        exists = conn.execute("SELECT to_regclass(%s)", (PG_TABLE,)).fetchone()[0]
        if exists is None:
            return
        rows = conn.execute(
            f"SELECT judgment FROM {PG_TABLE} WHERE collection = %s ORDER BY n", (col.name,)
        ).fetchall()
        for (row,) in rows:
            yield Judgment(**row)
        return
    path = _lance_file(col)
    if not path.exists():
        return
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break  # a crash mid-write: that judgment was never acknowledged
            yield Judgment(**json.loads(line))


def count_judgments(col: Collection) -> int:
    """How many judgments the collection has."""
    return sum(1 for _ in iter_judgments(col))


def latest_labels(judgments: Iterator[Judgment] | list[Judgment]) -> dict[str, dict[str, int]]:
    """query -> {document id: label}, the latest judgment of each pair winning."""
    out: dict[str, dict[str, int]] = {}
    for j in judgments:
        out.setdefault(j.query, {})[j.id] = j.label
    return out


__all__ = [
    "Judgment",
    "add_judgment",
    "count_judgments",
    "iter_judgments",
    "latest_labels",
]
