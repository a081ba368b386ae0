"""Two-stage (cascade) search and dedup: a fast first stage (a static model) proposes
candidates over everything, the accurate model (a transformer) encodes and re-scores only
those candidates.

With a candidate pool that covers every record, the result is exactly the accurate model's
own (full re-ranking); with a smaller pool the transformer encodes a fraction of the records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from sentvec.apps.neighbors import knn, pairs_above, unit
from sentvec.errors import SentvecError
from sentvec.similarity import pairwise_similarity, top_k

if TYPE_CHECKING:
    from sentvec.encoder import Encoder

DEFAULT_CANDIDATES = 100  # per query; with a fitted first stage: within 1 nDCG@10 (BENCHMARKS.md)
DEFAULT_MARGIN = 0.15  # dedup: first-stage pairs kept down to threshold - margin


def cascade_top_k(
    first: Encoder,
    second: Encoder,
    documents: Sequence[str],
    queries: Sequence[str],
    k: int = 10,
    candidates: int = DEFAULT_CANDIDATES,
    *,
    first_vectors: np.ndarray | None = None,
    query_prompt: str | None = None,
    document_prompt: str | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Top-k documents per query: ``first`` shortlists, ``second`` decides.

    :param first: the fast model (e.g. a static model from ``sentvec distill``).
    :param second: the accurate model whose scores are returned.
    :param documents: the texts searched.
    :param queries: the queries.
    :param k: hits per query.
    :param candidates: first-stage hits per query re-scored by ``second`` (at least k).
    :param first_vectors: the documents' first-stage vectors, if already computed.
    :param query_prompt: ``second``'s prompt for queries. :param document_prompt: ... documents.
    :return: (scores, indices), each (q, min(k, n)), best first by ``second``; and how many
        documents ``second`` encoded.
    """
    if candidates < k:
        raise SentvecError(f"candidates={candidates} is below k={k}. Fix: pass candidates >= k.")
    n = len(documents)
    if first_vectors is None:
        first_vectors = first.encode(list(documents))
    q1 = first.encode(list(queries))
    _, shortlist = top_k(q1, first_vectors, min(candidates, n), metric=first.spec.similarity)
    pool = np.unique(shortlist)  # documents any query needs
    row = np.full(n, -1, dtype=np.int64)
    row[pool] = np.arange(len(pool))
    docs2 = second.encode([documents[i] for i in pool], prompt=document_prompt)  # (p, D)
    q2 = second.encode(list(queries), prompt=query_prompt)  # (q, D)
    kk = min(k, n)
    scores = np.empty((len(queries), kk), dtype=np.float32)
    indices = np.empty((len(queries), kk), dtype=np.int64)
    for i, cand in enumerate(shortlist):
        s, j = top_k(q2[i : i + 1], docs2[row[cand]], kk, metric=second.spec.similarity)
        scores[i], indices[i] = s[0], cand[j[0]]
    return scores, indices, len(pool)


def cascade_pairs(
    first: Encoder,
    second: Encoder,
    texts: Sequence[str],
    threshold: float,
    k: int = 10,
    margin: float = DEFAULT_MARGIN,
    *,
    exact: bool | None = None,
    batch_size: int = 64,
    show_progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Duplicate pairs: ``first`` finds each text's k nearest neighbours, pairs scoring at
    least ``threshold - margin`` there are re-scored by ``second``, those at least
    ``threshold`` are kept.

    :param first: the fast model. :param second: the accurate model.
    :param texts: the texts. :param threshold: cosine similarity (``second``'s) of duplicates.
    :param k: first-stage neighbours per text.
    :param margin: how far below the threshold a first-stage pair may score and still be checked.
    :param exact: neighbour search mode (see :func:`sentvec.apps.neighbors.knn`).
    :param batch_size: ``second``'s batch size. :param show_progress: progress bars.
    :return: (i, j, score) arrays (i < j, by decreasing score) and how many texts ``second``
        encoded.
    """
    v1 = first.encode(list(texts), show_progress=show_progress)
    s1, idx = knn(v1, k, exact=exact, show_progress=show_progress)
    a, b, _ = pairs_above(s1, idx, threshold - margin)
    nodes = np.unique(np.concatenate([a, b]))
    if len(nodes) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32), 0
    row = np.full(len(texts), -1, dtype=np.int64)
    row[nodes] = np.arange(len(nodes))
    v2 = unit(
        second.encode([texts[i] for i in nodes], batch_size=batch_size, show_progress=show_progress)
    )
    s2 = pairwise_similarity(v2[row[a]], v2[row[b]], "cosine")
    keep = s2 >= threshold
    order = np.argsort(-s2[keep], kind="stable")
    return a[keep][order], b[keep][order], s2[keep][order].astype(np.float32), len(nodes)
