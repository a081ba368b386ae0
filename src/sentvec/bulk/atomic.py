"""Files that appear whole or not at all: written under a temporary name beside the target,
synced to disk, then renamed over it (what a killed bulk run relies on)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` whole or not at all (see :func:`atomic_path`)."""
    write_text_atomic(path, json.dumps(data, indent=1) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Write text to ``path`` whole or not at all (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf8") as f:
        f.write(text)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary name beside ``path`` to write to; on success it is synced to disk and renamed
    over ``path``, so readers (and a killed run) see the whole file or none of it.

    :param path: the final file.
    :return: the temporary path ``.NAME.tmp`` (removed by the next run if this one is killed).
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


__all__ = ["atomic_path", "write_json_atomic", "write_text_atomic"]
