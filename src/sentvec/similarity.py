"""Similarity between vectors, for pairs and matrices, and exact top-k search in chunks.

Every function returns *similarities* (higher = closer): euclidean and manhattan give the
negative distance, as sentence-transformers does, so one ranking rule serves all four.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sentvec.errors import DimensionMismatchError, InvalidChoiceError, OutOfRangeError

METRICS = ("cosine", "dot", "euclidean", "manhattan")
_ROW_BLOCK = 256  # rows of `a` per block in the manhattan matrix: bounds the (rows, m, d) temp


def _as2d(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    x = x[None, :] if x.ndim == 1 else x
    if x.ndim != 2:
        raise DimensionMismatchError("similarity", x.shape, ("n", "d"))  # type: ignore[arg-type]
    return x


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _check(metric: str) -> str:
    if metric not in METRICS:
        raise InvalidChoiceError("similarity metric", metric, METRICS)
    return metric


def pairwise_similarity(a: np.ndarray, b: np.ndarray, metric: str = "cosine") -> np.ndarray:
    """Similarity of a[i] with b[i] for each row.

    :param a: (n, d) vectors. :param b: (n, d) vectors. :param metric: one of :data:`METRICS`.
    :return: (n,) float32 similarities.
    """
    a, b = _as2d(a), _as2d(b)
    if a.shape != b.shape:
        raise DimensionMismatchError("pairwise similarity", a.shape, b.shape)
    metric = _check(metric)
    if metric == "cosine":
        return np.sum(_unit(a) * _unit(b), axis=1)
    if metric == "dot":
        return np.sum(a * b, axis=1)
    if metric == "euclidean":
        return -np.linalg.norm(a - b, axis=1)
    return -np.abs(a - b).sum(axis=1)


def similarity_matrix(a: np.ndarray, b: np.ndarray, metric: str = "cosine") -> np.ndarray:
    """Similarity of every row of ``a`` with every row of ``b``.

    :param a: (n, d). :param b: (m, d). :param metric: one of :data:`METRICS`.
    :return: (n, m) float32 similarities.
    """
    a, b = _as2d(a), _as2d(b)
    if a.shape[1] != b.shape[1]:
        raise DimensionMismatchError("similarity_matrix", a.shape, b.shape)
    metric = _check(metric)
    if metric == "cosine":
        return _unit(a) @ _unit(b).T
    if metric == "dot":
        return a @ b.T
    if metric == "euclidean":
        sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)  # (n, m)
        return -np.sqrt(np.maximum(sq, 0.0))
    out = np.empty((len(a), len(b)), dtype=np.float32)
    for s in range(0, len(a), _ROW_BLOCK):
        out[s : s + _ROW_BLOCK] = -np.abs(a[s : s + _ROW_BLOCK, None, :] - b[None]).sum(-1)
    return out


def top_k(
    queries: np.ndarray,
    corpus: np.ndarray | Callable[[int, int], np.ndarray],
    k: int = 10,
    metric: str = "cosine",
    corpus_chunk: int = 50_000,
    corpus_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k search of queries against a corpus, one corpus chunk at a time.

    Memory is (queries x corpus_chunk) scores, never (queries x corpus): a million-vector
    corpus (even a memory-mapped .npy) is searched without a full score matrix.

    :param queries: (q, d) vectors.
    :param corpus: (n, d) vectors (an array or np.memmap), or a function (start, stop) -> rows.
    :param k: hits per query (fewer if the corpus is smaller).
    :param metric: one of :data:`METRICS`.
    :param corpus_chunk: corpus rows scored at once.
    :param corpus_size: n, when ``corpus`` is a function.
    :return: (scores, indices), each (q, k), best first.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise OutOfRangeError("k", k, "a whole number >= 1 (results per query)", "pass e.g. k=10")
    if corpus_chunk < 1:
        raise OutOfRangeError("corpus_chunk", corpus_chunk, ">= 1")
    q = _as2d(queries)
    n = len(corpus) if corpus_size is None else corpus_size  # type: ignore[arg-type]
    k = min(int(k), n)
    best_s = np.full((len(q), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(q), k), dtype=np.int64)
    if k <= 0:
        return best_s, best_i
    if metric == "cosine":  # normalise the queries once, the corpus per chunk
        q, metric = _unit(q), "_cosine_q"
    for start in range(0, n, corpus_chunk):
        stop = min(start + corpus_chunk, n)
        rows = corpus(start, stop) if callable(corpus) else corpus[start:stop]
        rows = _as2d(rows)
        if rows.shape[1] != q.shape[1]:
            raise DimensionMismatchError("top_k", q.shape, rows.shape)
        scores = q @ _unit(rows).T if metric == "_cosine_q" else similarity_matrix(q, rows, metric)
        kk = min(k, stop - start)
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]  # (q, kk), unordered
        cand_s = np.concatenate([best_s, np.take_along_axis(scores, part, 1)], axis=1)
        cand_i = np.concatenate([best_i, part + start], axis=1)
        order = np.argsort(-cand_s, axis=1, kind="stable")[:, :k]
        best_s = np.take_along_axis(cand_s, order, 1)
        best_i = np.take_along_axis(cand_i, order, 1)
    return best_s, best_i


__all__ = ["METRICS", "pairwise_similarity", "similarity_matrix", "top_k"]
