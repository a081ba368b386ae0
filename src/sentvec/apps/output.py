"""Writing results of the apps (groups, clusters, labels, records) as JSONL, CSV or text."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sentvec.io import Record

if TYPE_CHECKING:
    from sentvec.apps.dedup import DuplicateResult


@contextmanager
def open_out(path: Path | None) -> Iterator[IO[str]]:
    """A file to write (created with its folder; written under a temporary name and renamed
    when complete, so a crash never leaves half a file), or stdout."""
    if path is None:
        yield sys.stdout
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", encoding="utf8", newline="") as f:
        yield f
    tmp.replace(path)


def write_rows(rows: Iterable[dict[str, Any]], path: Path | None) -> None:
    """Rows as CSV (when ``path`` ends in .csv/.tsv; nested values as JSON) or JSON lines."""
    with open_out(path) as f:
        if path is not None and path.suffix.lower() in (".csv", ".tsv"):
            writer: Any = None
            for row in rows:
                flat = {
                    k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in row.items()
                }
                if writer is None:
                    writer = csv.DictWriter(
                        f, fieldnames=list(flat), delimiter="\t" if path.suffix == ".tsv" else ","
                    )
                    writer.writeheader()
                writer.writerow(flat)
            return
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_groups(result: DuplicateResult, records: list[Record], path: Path | None) -> None:
    """Duplicate groups: JSONL (one group a line, members and pairs) or CSV (one member a row)."""
    csv_out = path is not None and path.suffix.lower() in (".csv", ".tsv")
    rows: list[dict[str, Any]] = []
    for g, group in enumerate(result.groups, start=1):
        members = [
            {
                "id": records[m].id,
                "text": records[m].text,
                "keep": m == group.keep,
                "best_score": round(group.best_score(m), 4),
            }
            for m in group.members
        ]
        if csv_out:
            rows.extend({"group": g, **m} for m in members)
            continue
        pairs = [[records[a].id, records[b].id, round(s, 4)] for a, b, s in group.pairs]
        rows.append({"group": g, "size": len(members), "members": members, "pairs": pairs})
    write_rows(rows, path)


def write_records(records: Iterable[Record], path: Path) -> None:
    """Records back to a file: .txt (text lines), .csv/.tsv or JSONL (id, text, metadata)."""
    if path.suffix.lower() == ".txt":
        with open_out(path) as f:
            for r in records:
                f.write(r.text.replace("\n", " ") + "\n")
        return
    write_rows(({"id": r.id, "text": r.text, **r.metadata} for r in records), path)
