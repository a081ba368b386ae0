"""Help-centre articles: a folder of Markdown or HTML files as records (placeholder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sentvec.io import ARTICLE_SUFFIXES, Record


def article_files(path: Path) -> list[Path]:
    """The article files under a folder, sorted."""
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES)


def iter_articles(path: Path) -> Iterator[Record]:
    raise NotImplementedError
