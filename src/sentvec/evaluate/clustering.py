"""Clustering: k-means on the vectors, scored by V-measure against gold labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sentvec.evaluate.files import read_columns
from sentvec.io import EmptyInputError

if TYPE_CHECKING:
    from sentvec.encoder import Encoder


@dataclass
class ClusterData:
    """Texts with a gold cluster label each."""

    texts: list[str]
    labels: list[str]


def read_clusters(
    path: str | Path, columns: Sequence[str | int] = ("text", "label"), header: bool = True
) -> ClusterData:
    """:param path: CSV/TSV/JSONL file. :param columns: text and label columns.
    :param header: False for files without a header row. :return: the data."""
    rows = read_columns(path, columns, header)
    if len(rows) < 2:
        raise EmptyInputError(path, "labelled texts (clustering needs at least 2)")
    return ClusterData([r[0] for r in rows], [r[1] for r in rows])


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def v_measure(labels: Sequence[object], clusters: Sequence[object]) -> float:
    """Harmonic mean of homogeneity and completeness (Rosenberg and Hirschberg, 2007).

    :param labels: gold classes. :param clusters: predicted clusters. :return: in [0, 1].
    """
    _, y = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    _, c = np.unique(np.asarray(clusters, dtype=str), return_inverse=True)
    table = np.zeros((y.max() + 1, c.max() + 1))
    np.add.at(table, (y, c), 1)
    h_y, h_c = _entropy(table.sum(1)), _entropy(table.sum(0))
    p = table / table.sum()
    outer = p.sum(1, keepdims=True) @ p.sum(0, keepdims=True)
    nz = p > 0
    mutual = float((p[nz] * np.log(p[nz] / outer[nz])).sum())
    homogeneity = 1.0 if h_y == 0 else mutual / h_y
    completeness = 1.0 if h_c == 0 else mutual / h_c
    total = homogeneity + completeness
    return 0.0 if total == 0 else 2 * homogeneity * completeness / total


def kmeans(x: np.ndarray, k: int, seed: int = 0, n_init: int = 3, iters: int = 100) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding; the best of ``n_init`` runs by inertia.

    :param x: (n, d) points. :param k: clusters. :param seed: random seed.
    :param n_init: restarts. :param iters: most iterations per run.
    :return: (n,) cluster index of each point.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float64)
    best, best_inertia = np.zeros(len(x), dtype=np.int64), np.inf
    for _ in range(n_init):
        centers = [x[rng.integers(len(x))]]
        for _ in range(1, k):  # k-means++: far points are likelier next centres
            d2 = np.min(((x[:, None] - np.asarray(centers)[None]) ** 2).sum(-1), axis=1)
            centers.append(
                x[rng.choice(len(x), p=d2 / d2.sum())] if d2.sum() > 0 else x[rng.integers(len(x))]
            )
        c = np.asarray(centers)  # (k, d)
        for _ in range(iters):
            d2 = (x * x).sum(1)[:, None] - 2 * x @ c.T + (c * c).sum(1)[None]  # (n, k)
            assign = d2.argmin(1)
            new = np.asarray(
                [x[assign == j].mean(0) if np.any(assign == j) else c[j] for j in range(k)]
            )
            if np.allclose(new, c):
                break
            c = new
        inertia = float(d2[np.arange(len(x)), assign].sum())
        if inertia < best_inertia:
            best, best_inertia = assign, inertia
    return best


class ClusteringEvaluator:
    """k-means with k = the number of gold labels on the (normalised) vectors; V-measure.

    Primary metric: ``{name}_v_measure``.
    """

    def __init__(
        self, data: ClusterData, name: str = "clusters", batch_size: int = 64, seed: int = 0
    ) -> None:
        self.data, self.name, self.batch_size, self.seed = data, name, batch_size, seed
        self.primary_metric = f"{name}_v_measure"

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        columns: Sequence[str | int] = ("text", "label"),
        name: str = "clusters",
        header: bool = True,
    ) -> ClusteringEvaluator:
        """:param path: see :func:`read_clusters`. :param columns: see :func:`read_clusters`.
        :param name: metric prefix. :param header: see :func:`read_clusters`. :return: evaluator."""
        return cls(read_clusters(path, columns, header), name)

    def __call__(self, encoder: Encoder) -> dict[str, float]:
        vectors = encoder.encode(self.data.texts, batch_size=self.batch_size, normalize=True)
        k = len(set(self.data.labels))
        clusters = kmeans(vectors, k, seed=self.seed)
        return {f"{self.name}_v_measure": v_measure(self.data.labels, clusters.tolist())}
