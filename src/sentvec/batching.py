"""Group texts into batches by token count so padding stays small."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def plan_batches(
    lengths: Sequence[int], batch_size: int = 32, max_tokens: int | None = None
) -> list[np.ndarray]:
    """Split text indices into batches of similar token count, longest first.

    :param lengths: token count of each text (special tokens included).
    :param batch_size: most texts in one batch.
    :param max_tokens: if set, most padded tokens in one batch (rows x longest row): short
        texts then travel in big batches and long ones in small.
    :return: arrays of indices into ``lengths``; together they cover every index once.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    while start < len(order):
        longest = int(lengths[order[start]])  # sorted descending: the first row is the longest
        size = batch_size
        if max_tokens is not None:
            size = max(1, min(batch_size, max_tokens // max(longest, 1)))
        batches.append(order[start : start + size])
        start += size
    return batches


def pad(rows: Sequence[Sequence[int]], value: int) -> np.ndarray:
    """Right-pad integer rows to one length.

    :param rows: the rows.
    :param value: the padding value.
    :return: int64 array, shape (len(rows), longest).
    """
    width = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), width), value, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out
