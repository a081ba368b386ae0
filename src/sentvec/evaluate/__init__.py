"""Evaluators share one protocol: a name, a primary metric, and ``__call__(encoder)`` returning
a dict of metrics whose keys are prefixed with the evaluator's name (``sts-dev_cosine_spearman``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sentvec.evaluate.clustering import ClusteringEvaluator, read_clusters
from sentvec.evaluate.pairs import PairClassificationEvaluator, read_pairs
from sentvec.evaluate.retrieval import RetrievalEvaluator, read_beir
from sentvec.evaluate.sts import STSEvaluator, read_sts
from sentvec.evaluate.triplets import TripletEvaluator, read_triplets

if TYPE_CHECKING:
    from sentvec.encoder import Encoder


class Evaluator(Protocol):
    """What every evaluator offers."""

    name: str
    primary_metric: str  # key in the returned dict (already prefixed)

    def __call__(self, encoder: Encoder) -> dict[str, float]: ...


__all__ = [
    "ClusteringEvaluator",
    "Evaluator",
    "PairClassificationEvaluator",
    "RetrievalEvaluator",
    "STSEvaluator",
    "TripletEvaluator",
    "read_beir",
    "read_clusters",
    "read_pairs",
    "read_sts",
    "read_triplets",
]
