"""Hard-negative mining: for each (anchor, positive), texts the current model ranks close to the
anchor that are not its positive, skipping the very top ranks and anything scored too close to
the positive, where false negatives (unlabelled positives) hide."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sentvec.similarity import top_k

if TYPE_CHECKING:
    from sentvec.encoder import Encoder


@dataclass
class MinedRow:
    """An anchor, its positive, and the mined negatives (hardest first)."""

    anchor: str
    positive: str
    negatives: list[str]


def mine_hard_negatives(
    encoder: Encoder,
    pairs: Sequence[tuple[str, str]],
    corpus: Sequence[str] | None = None,
    *,
    num_negatives: int = 1,
    skip_top: int = 0,
    margin: float | None = 0.05,
    max_score: float | None = None,
    batch_size: int = 64,
) -> tuple[list[MinedRow], int]:
    """Mine hard negatives for (anchor, positive) pairs.

    A candidate c is kept for anchor a with positive p when it is not a's positive or a itself
    (by text), it is ranked below the first ``skip_top`` candidates, and
    ``sim(a, c) <= sim(a, p) - margin`` (and ``sim(a, c) <= max_score`` if set).

    :param encoder: the current model (its similarity function ranks).
    :param pairs: (anchor, positive) texts.
    :param corpus: candidate texts (default: every positive of ``pairs``).
    :param num_negatives: negatives per row; rows that cannot get this many are dropped.
    :param skip_top: candidates ranked 1..skip_top (after removing the positive) are skipped.
    :param margin: relative false-negative guard (None: off).
    :param max_score: absolute similarity ceiling for a negative (None: off).
    :param batch_size: encoding batch size.
    :return: (rows with negatives, number of pairs dropped for lack of negatives).
    """
    anchors = [a for a, _ in pairs]
    positives = [p for _, p in pairs]
    candidates = list(dict.fromkeys(corpus if corpus is not None else positives))
    metric = encoder.spec.similarity
    a_vec = encoder.encode(anchors, batch_size=batch_size)
    p_vec = encoder.encode(positives, batch_size=batch_size)
    c_vec = encoder.encode(candidates, batch_size=batch_size)
    from sentvec.similarity import pairwise_similarity

    pos_sim = pairwise_similarity(a_vec, p_vec, metric)  # (n,)
    depth = min(len(candidates), skip_top + num_negatives + 32)
    scores, idx = top_k(a_vec, c_vec, k=depth, metric=metric)  # (n, depth)
    rows, dropped = [], 0
    for i, (anchor, positive) in enumerate(pairs):
        kept: list[str] = []
        rank = 0
        for s, j in zip(scores[i], idx[i], strict=True):
            text = candidates[j]
            if text in (anchor, positive):
                continue
            rank += 1
            if rank <= skip_top:
                continue
            if margin is not None and s > pos_sim[i] - margin:
                continue
            if max_score is not None and s > max_score:
                continue
            kept.append(text)
            if len(kept) == num_negatives:
                break
        if len(kept) < num_negatives:
            dropped += 1
            continue
        rows.append(MinedRow(anchor, positive, kept))
    return rows, dropped


def rows_to_jsonl(rows: Sequence[MinedRow]) -> list[dict[str, str]]:
    """JSON objects ``anchor, positive, negative_1, ...`` (readable as kind ``triplets``)."""
    out = []
    for r in rows:
        obj = {"anchor": r.anchor, "positive": r.positive}
        obj.update({f"negative_{k}": n for k, n in enumerate(r.negatives, start=1)})
        out.append(obj)
    return out


__all__ = ["MinedRow", "mine_hard_negatives", "rows_to_jsonl"]
_ = np  # numpy arrays flow through top_k
