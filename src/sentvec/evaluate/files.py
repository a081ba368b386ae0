"""Read evaluation files: picked columns of CSV/TSV/JSONL rows, with file:line errors.

A thin alias of :func:`sentvec.io.read_columns`, the one reader shared with the CLI and
training (encodings, delimiter sniffing, headerless files).
"""

from __future__ import annotations

from sentvec.io import read_columns

__all__ = ["read_columns"]
