"""Nearest neighbours of every vector among the others: exact in blocks, or approximate with
an inverted file (k-means cells; each cell's members are compared with the members of the
cells nearest to it). Never scores all pairs at once; the approximate path never scores them
at all, which is what lets dedup and community detection run on 100,000+ texts.
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

EXACT_MAX = 20_000  # default: exact below this many vectors, approximate from here on
_BLOCK_FLOATS = 1 << 24  # score-matrix block size (64 MB of float32)


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (float32)."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def knn(
    vectors: np.ndarray,
    k: int,
    *,
    exact: bool | None = None,
    nprobe: int = 12,
    seed: int = 0,
    show_progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The k most cosine-similar other rows of each row.

    :param vectors: (n, d); normalised here.
    :param k: neighbours per row (at most n - 1).
    :param exact: exact blocked search (True), inverted file (False), or by size (None).
    :param nprobe: cells searched around each cell, approximate mode.
    :param seed: k-means seed, approximate mode.
    :param show_progress: progress bar.
    :return: (scores, indices), each (n, k), best first; missing neighbours have index -1
        and score -inf.
    """
    x = unit(vectors)
    n = len(x)
    k = max(0, min(k, n - 1))
    if exact is None:
        exact = n <= EXACT_MAX
    if exact:
        return _exact(x, k, show_progress)
    return _ivf(x, k, nprobe, seed, show_progress)


def _top(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k columns of each row of a score block, best first."""
    kk = min(k, scores.shape[1])
    part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]  # (b, kk) unordered
    top = np.take_along_axis(scores, part, 1)
    order = np.argsort(-top, axis=1, kind="stable")
    return np.take_along_axis(top, order, 1), np.take_along_axis(part, order, 1)


def _exact(x: np.ndarray, k: int, show_progress: bool) -> tuple[np.ndarray, np.ndarray]:
    n = len(x)
    out_s = np.full((n, k), -np.inf, dtype=np.float32)
    out_i = np.full((n, k), -1, dtype=np.int64)
    if k == 0:
        return out_s, out_i
    block = int(np.clip(_BLOCK_FLOATS // max(n, 1), 16, 4096))
    for start in tqdm(range(0, n, block), desc="neighbours", disable=not show_progress):
        stop = min(start + block, n)
        scores = x[start:stop] @ x.T  # (b, n)
        scores[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # not oneself
        out_s[start:stop], out_i[start:stop] = _top(scores, k)
    return out_s, out_i


def spherical_kmeans(
    x: np.ndarray, cells: int, iters: int = 10, seed: int = 0, sample: int = 100_000
) -> np.ndarray:
    """Unit-length centroids of ``cells`` clusters (cosine k-means on a sample of the rows)."""
    rng = np.random.default_rng(seed)
    train = x[rng.choice(len(x), size=min(len(x), sample), replace=False)]
    centres = train[rng.choice(len(train), size=cells, replace=False)].copy()
    for _ in range(iters):
        owner = assign(train, centres)
        sums = np.zeros_like(centres)
        np.add.at(sums, owner, train)
        empty = np.bincount(owner, minlength=cells) == 0
        sums[empty] = train[rng.choice(len(train), size=int(empty.sum()))]
        centres = unit(sums)
    return centres


def assign(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the most similar centre for each row (blocked)."""
    out = np.empty(len(x), dtype=np.int64)
    block = max(1, _BLOCK_FLOATS // max(len(centres), 1))
    for start in range(0, len(x), block):
        out[start : start + block] = np.argmax(x[start : start + block] @ centres.T, axis=1)
    return out


def _ivf(
    x: np.ndarray, k: int, nprobe: int, seed: int, show_progress: bool
) -> tuple[np.ndarray, np.ndarray]:
    n = len(x)
    cells = max(1, min(n // 8, round(2 * n**0.5)))
    centres = spherical_kmeans(x, cells, seed=seed)
    owner = assign(x, centres)
    members = [np.flatnonzero(owner == c) for c in range(cells)]
    near = np.argsort(-(centres @ centres.T), axis=1)[:, : min(nprobe, cells)]  # (cells, nprobe)
    out_s = np.full((n, k), -np.inf, dtype=np.float32)
    out_i = np.full((n, k), -1, dtype=np.int64)
    for c in tqdm(range(cells), desc="neighbours", disable=not show_progress):
        rows = members[c]
        if len(rows) == 0 or k == 0:
            continue
        cand = np.concatenate([members[j] for j in near[c]])  # includes the cell itself
        scores = x[rows] @ x[cand].T  # (rows, cand)
        scores[cand[None, :] == rows[:, None]] = -np.inf  # not oneself
        s, i = _top(scores, k)
        out_s[rows, : s.shape[1]], out_i[rows, : s.shape[1]] = s, cand[i]
    out_i[~np.isfinite(out_s)] = -1
    return out_s, out_i


def pairs_above(
    scores: np.ndarray, indices: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique pairs (i < j) whose similarity is at least ``threshold``, from a kNN result.

    :return: (i, j, score) arrays, sorted by decreasing score.
    """
    rows = np.repeat(np.arange(len(scores)), scores.shape[1])
    cols, vals = indices.ravel(), scores.ravel()
    keep = (vals >= threshold) & (cols >= 0)
    a, b = np.minimum(rows[keep], cols[keep]), np.maximum(rows[keep], cols[keep])
    _, first = np.unique(a * len(scores) + b, return_index=True)
    a, b, v = a[first], b[first], vals[keep][first]
    order = np.argsort(-v, kind="stable")
    return a[order], b[order], v[order]
