"""Paraphrase / duplicate detection: is a pair's similarity above a threshold?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sentvec.errors import SentvecError
from sentvec.evaluate.files import read_columns
from sentvec.io import EmptyInputError
from sentvec.similarity import pairwise_similarity

if TYPE_CHECKING:
    from sentvec.encoder import Encoder


@dataclass
class PairData:
    """Sentence pairs with a 0/1 label (1 = paraphrase / duplicate)."""

    sentences1: list[str]
    sentences2: list[str]
    labels: np.ndarray  # (n,) int


def read_pairs(
    path: str | Path,
    columns: Sequence[str | int] = ("sentence1", "sentence2", "label"),
    header: bool = True,
) -> PairData:
    """Read labelled pairs from CSV/TSV/JSONL (MSRP: ``("#1 String", "#2 String", "Quality")``).

    :param path: the file. :param columns: first sentence, second sentence, 0/1 label.
    :param header: False for files without a header row (then columns are indices).
    :return: the pairs.
    """
    rows = read_columns(path, columns, header)
    if not rows:
        raise EmptyInputError(path, "sentence pairs")
    labels = []
    for i, r in enumerate(rows):
        if r[2].strip() not in ("0", "1"):
            raise SentvecError(
                f"{path}: row {i + 1}: label {r[2]!r} is not 0 or 1. Fix: check the label column."
            )
        labels.append(int(r[2]))
    return PairData([r[0] for r in rows], [r[1] for r in rows], np.asarray(labels))


def best_accuracy(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Best accuracy of ``score >= threshold`` over all thresholds.

    :return: (accuracy, threshold) with the threshold midway between two distinct scores.
    """
    s, y = _sorted(scores, labels)
    tp = np.concatenate([[0], np.cumsum(y)])  # positives among the top i
    fp = np.concatenate([[0], np.cumsum(1 - y)])
    acc = (tp + (fp[-1] - fp)) / len(y)  # (n + 1,): predict the top i positive
    cut = _cuts(s)
    i = int(np.argmax(np.where(cut, acc, -1)))
    return float(acc[i]), _threshold(s, i)


def best_f1(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float, float, float]:
    """Best F1 of ``score >= threshold`` over all thresholds.

    :return: (f1, precision, recall, threshold).
    """
    s, y = _sorted(scores, labels)
    tp = np.cumsum(y)[: len(y)].astype(np.float64)  # (n,): top i+1 predicted positive
    predicted = np.arange(1, len(y) + 1)
    precision = tp / predicted
    recall = tp / max(y.sum(), 1)
    f1 = np.where(tp > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    cut = _cuts(s)[1:]  # top i+1 is a valid cut
    i = int(np.argmax(np.where(cut, f1, -1)))
    return float(f1[i]), float(precision[i]), float(recall[i]), _threshold(s, i + 1)


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the precision-recall curve, as sklearn's ``average_precision_score``."""
    s, y = _sorted(scores, labels)
    cut = _cuts(s)[1:]  # evaluate only where the score changes (ties count together)
    tp = np.cumsum(y)[cut]
    predicted = np.arange(1, len(y) + 1)[cut]
    precision = tp / predicted
    recall = tp / max(y.sum(), 1)
    return float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))


def _sorted(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    return np.asarray(scores, dtype=np.float64)[order], np.asarray(labels)[order].astype(np.int64)


def _cuts(s: np.ndarray) -> np.ndarray:
    """(n + 1,) bool: cutting after the top i separates distinct scores (ties stay together)."""
    inner = s[:-1] > s[1:]
    return np.concatenate([[True], inner, [True]])


def _threshold(s: np.ndarray, i: int) -> float:
    """Threshold that puts exactly the top i of the descending scores s at or above it."""
    if i == 0:
        return float(s[0] + 1e-6)
    if i == len(s):
        return float(s[-1])
    return float((s[i - 1] + s[i]) / 2)


class PairClassificationEvaluator:
    """Accuracy, F1 (with precision, recall), average precision and the best thresholds, for
    cosine similarity. With a fixed ``threshold`` (e.g. tuned on a dev set) it also reports
    ``accuracy_at_threshold`` and ``f1_at_threshold``.

    Primary metric: ``{name}_cosine_ap``.
    """

    def __init__(
        self,
        data: PairData,
        name: str = "pairs",
        threshold: float | None = None,
        batch_size: int = 64,
    ) -> None:
        self.data, self.name, self.threshold, self.batch_size = data, name, threshold, batch_size
        self.primary_metric = f"{name}_cosine_ap"

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        columns: Sequence[str | int] = ("sentence1", "sentence2", "label"),
        name: str = "pairs",
        header: bool = True,
    ) -> PairClassificationEvaluator:
        """:param path: see :func:`read_pairs`. :param columns: see :func:`read_pairs`.
        :param name: metric prefix. :param header: see :func:`read_pairs`. :return: evaluator."""
        return cls(read_pairs(path, columns, header), name)

    def scores(self, encoder: Encoder) -> np.ndarray:
        """Cosine similarity of each pair. :param encoder: the model. :return: (n,) scores."""
        unique = list(dict.fromkeys(self.data.sentences1 + self.data.sentences2))
        index = {s: i for i, s in enumerate(unique)}
        vectors = encoder.encode(unique, batch_size=self.batch_size)
        a = vectors[[index[s] for s in self.data.sentences1]]
        b = vectors[[index[s] for s in self.data.sentences2]]
        return pairwise_similarity(a, b, "cosine")

    def __call__(self, encoder: Encoder) -> dict[str, float]:
        scores, y = self.scores(encoder), self.data.labels
        acc, acc_t = best_accuracy(scores, y)
        f1, precision, recall, f1_t = best_f1(scores, y)
        p = f"{self.name}_cosine"
        out = {
            f"{p}_accuracy": acc,
            f"{p}_accuracy_threshold": acc_t,
            f"{p}_f1": f1,
            f"{p}_precision": precision,
            f"{p}_recall": recall,
            f"{p}_f1_threshold": f1_t,
            f"{p}_ap": average_precision(scores, y),
        }
        if self.threshold is not None:
            pred = scores >= self.threshold
            tp = float(np.sum(pred & (y == 1)))
            out[f"{p}_accuracy_at_threshold"] = float(np.mean(pred == (y == 1)))
            out[f"{p}_f1_at_threshold"] = 2 * tp / max(float(pred.sum() + (y == 1).sum()), 1.0)
        return out
