"""Triplet accuracy: is the anchor closer to its positive than to its negative?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sentvec.evaluate.files import read_columns
from sentvec.io import EmptyInputError
from sentvec.similarity import METRICS, pairwise_similarity

if TYPE_CHECKING:
    from sentvec.encoder import Encoder


@dataclass
class TripletData:
    """(anchor, positive, negative) texts."""

    anchors: list[str]
    positives: list[str]
    negatives: list[str]


def read_triplets(
    path: str | Path,
    columns: Sequence[str | int] = ("anchor", "positive", "negative"),
    header: bool = True,
) -> TripletData:
    """:param path: CSV/TSV/JSONL file. :param columns: anchor, positive, negative columns.
    :param header: False for files without a header row. :return: the triplets."""
    rows = read_columns(path, columns, header)
    if not rows:
        raise EmptyInputError(path, "triplets")
    return TripletData([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])


class TripletEvaluator:
    """Share of triplets with ``sim(anchor, positive) > sim(anchor, negative)``, for each metric.

    Primary metric: ``{name}_cosine_accuracy``.
    """

    def __init__(self, data: TripletData, name: str = "triplets", batch_size: int = 64) -> None:
        self.data, self.name, self.batch_size = data, name, batch_size
        self.primary_metric = f"{name}_cosine_accuracy"

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        columns: Sequence[str | int] = ("anchor", "positive", "negative"),
        name: str = "triplets",
        header: bool = True,
    ) -> TripletEvaluator:
        """:param path: see :func:`read_triplets`. :param columns: see :func:`read_triplets`.
        :param name: metric prefix. :param header: see :func:`read_triplets`. :return: evaluator."""
        return cls(read_triplets(path, columns, header), name)

    def __call__(self, encoder: Encoder) -> dict[str, float]:
        d = self.data
        unique = list(dict.fromkeys(d.anchors + d.positives + d.negatives))
        index = {s: i for i, s in enumerate(unique)}
        vectors = encoder.encode(unique, batch_size=self.batch_size)
        a, p, n = (
            vectors[[index[s] for s in col]] for col in (d.anchors, d.positives, d.negatives)
        )
        return {
            f"{self.name}_{m}_accuracy": float(
                np.mean(pairwise_similarity(a, p, m) > pairwise_similarity(a, n, m))
            )
            for m in METRICS
        }
