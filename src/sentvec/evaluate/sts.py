"""Semantic textual similarity: correlation between vector similarity and gold scores."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sentvec.errors import SentvecError
from sentvec.io import EmptyInputError, InputFileError, check_input_file, iter_rows
from sentvec.similarity import METRICS, pairwise_similarity

if TYPE_CHECKING:
    from sentvec.encoder import Encoder


@dataclass
class STSData:
    """Sentence pairs with gold similarity scores."""

    sentences1: list[str]
    sentences2: list[str]
    scores: np.ndarray  # (n,) float64


def read_sts(path: str | Path) -> STSData:
    """Read the STS benchmark format: tab-separated, no header, columns genre, file, year, id,
    score, sentence1, sentence2 (extra trailing columns are ignored).

    Also reads a headed CSV/TSV with columns ``sentence1``, ``sentence2``, ``score``.

    :param path: the file.
    :return: the pairs and scores.
    :raises SentvecError: naming the file and line of a malformed row.
    """
    path = check_input_file(path, "STS file")
    s1: list[str] = []
    s2: list[str] = []
    scores: list[float] = []
    cols = (4, 5, 6)
    for line_no, row in iter_rows(path, header=False, default_format="tsv"):
        if not isinstance(row, list):
            raise InputFileError(
                path, line_no, "expected tab-separated columns. Fix: give a .tsv or .csv file"
            )
        if not scores and not s1:
            names = [c.strip().lower() for c in row]
            if {"sentence1", "sentence2", "score"} <= set(names):
                cols = (names.index("score"), names.index("sentence1"), names.index("sentence2"))
                continue
        try:
            score = float(row[cols[0]])
            a, b = row[cols[1]], row[cols[2]]
        except (IndexError, ValueError):
            raise InputFileError(
                path,
                line_no,
                f"expected a score and two sentences in columns "
                f"{cols[0] + 1}, {cols[1] + 1}, {cols[2] + 1}; got {row!r:.120}. Fix: use the "
                "STS benchmark layout or a header with sentence1, sentence2, score",
            ) from None
        if not math.isfinite(score):
            raise InputFileError(path, line_no, f"score {row[cols[0]]!r} is not a finite number")
        scores.append(score)
        s1.append(a)
        s2.append(b)
    if len(scores) < 2:
        raise EmptyInputError(path, "sentence pairs (a correlation needs at least 2)")
    if len(set(scores)) < 2:
        raise SentvecError(
            f"every gold score in {str(path)!r} is {scores[0]}: a correlation with constant "
            "scores is undefined. Fix: give pairs with different scores"
        )
    return STSData(s1, s2, np.asarray(scores, dtype=np.float64))


def rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks starting at 1, ties given their average rank (as scipy.stats.rankdata)."""
    x = np.asarray(x)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    sorted_x = x[order]
    boundaries = np.flatnonzero(np.diff(sorted_x)) + 1
    starts = np.concatenate([[0], boundaries])
    stops = np.concatenate([boundaries, [len(x)]])
    for s, e in zip(starts, stops):
        ranks[order[s:e]] = (s + e + 1) / 2.0
    return ranks


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation."""
    a = np.asarray(a, dtype=np.float64) - np.mean(a)
    b = np.asarray(b, dtype=np.float64) - np.mean(b)
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else float("nan")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (Pearson of average ranks)."""
    return pearson(rankdata(a), rankdata(b))


class STSEvaluator:
    """Spearman and Pearson between similarity and gold score, for all four metrics.

    Primary metric: ``{name}_cosine_spearman``. Values are correlations in [-1, 1].
    """

    def __init__(self, data: STSData, name: str = "sts", batch_size: int = 64) -> None:
        self.data = data
        self.name = name
        self.batch_size = batch_size
        self.primary_metric = f"{name}_cosine_spearman"

    @classmethod
    def from_file(cls, path: str | Path, name: str | None = None) -> STSEvaluator:
        """:param path: an STS file (see :func:`read_sts`). :param name: metric prefix
        (default: the file's stem). :return: the evaluator."""
        return cls(read_sts(path), name or Path(path).stem)

    def __call__(self, encoder: Encoder) -> dict[str, float]:
        # Encode each distinct sentence once.
        unique = list(dict.fromkeys(self.data.sentences1 + self.data.sentences2))
        index = {s: i for i, s in enumerate(unique)}
        vectors = encoder.encode(unique, batch_size=self.batch_size)
        a = vectors[[index[s] for s in self.data.sentences1]]
        b = vectors[[index[s] for s in self.data.sentences2]]
        out: dict[str, float] = {}
        for metric in METRICS:
            sims = pairwise_similarity(a, b, metric)
            out[f"{self.name}_{metric}_pearson"] = pearson(sims, self.data.scores)
            out[f"{self.name}_{metric}_spearman"] = spearman(sims, self.data.scores)
        return out
