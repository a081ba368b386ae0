"""How good an approximate vector index is: recall@k of its passages against an exact pass
over every stored vector (numpy), the figure each backend records when it builds an index."""

from __future__ import annotations

from typing import Any

import numpy as np


def exact_top_ids(col: Any, queries: np.ndarray, k: int = 10) -> list[list[str]]:
    """Exact top-k passage keys for many queries in one pass over the stored vectors."""
    q = col._normalise(np.atleast_2d(queries))
    best_s = np.full((len(q), 0), -np.inf, dtype=np.float32)
    best_i = np.empty((len(q), 0), dtype=object)
    for ids_list, v in col._scan():
        ids = np.asarray(ids_list, dtype=object)
        s = np.concatenate([best_s, q @ v.T], axis=1)
        i = np.concatenate([best_i, np.broadcast_to(ids, (len(q), len(ids)))], axis=1)
        kk = min(k, s.shape[1])
        top = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        top_s = np.take_along_axis(s, top, 1)
        order = np.argsort(-top_s, axis=1, kind="stable")
        best_s = np.take_along_axis(top_s, order, 1)
        best_i = np.take_along_axis(np.take_along_axis(i, top, 1), order, 1)
    return [list(row) for row in best_i]


def measure_recall(col: Any, sample: int = 100, k: int = 10, seed: int = 0) -> float:
    """Recall@k of the approximate index against exact search, over passages. Queries are
    the normalised means of two random stored vectors: near the data, but not in it."""
    rng = np.random.default_rng(seed)
    ids: list[str] = []
    for batch_ids, _ in col._scan():
        ids.extend(batch_ids)
    n = len(ids)
    pick = rng.choice(n, size=(sample, 2), replace=n < 2 * sample)
    lookup = col._vectors(sorted({ids[j] for j in pick.ravel()}))
    queries = np.stack([lookup[ids[a]] + lookup[ids[b]] for a, b in pick])
    queries = col._normalise(queries)
    exact = exact_top_ids(col, queries, k)
    hits = sum(
        len({h.passage_id for h in col._vector_search(q, k, None, False)} & set(e))
        for q, e in zip(queries, exact, strict=True)
    )
    return round(hits / (sample * min(k, n)), 4)


__all__ = ["exact_top_ids", "measure_recall"]
