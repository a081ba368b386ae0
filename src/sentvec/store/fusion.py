"""How ranked passage lists become results: reciprocal rank fusion of a vector and a text
ranking (hybrid search), and passages grouped into documents.

Both live here once; the store's :meth:`~sentvec.store.base.Collection.search` is their only
caller, so every interface (Python, CLI, HTTP, the framework adapters) ranks the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from sentvec.store.hits import Hit

RRF_K = 60  # reciprocal rank fusion constant (Cormack et al. 2009)


def rrf(lists: Sequence[Sequence[Hit]], k: int, constant: int = RRF_K) -> list[Hit]:
    """Reciprocal rank fusion: each passage scores sum(1 / (constant + rank)) over the lists.

    :param lists: ranked hit lists (rank 1 first). :param k: hits to return.
    :param constant: the RRF constant (60 in the original paper).
    :return: fused hits, best first, with the raw fused score in ``score``.
    """
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for hits in lists:
        for rank, hit in enumerate(hits, start=1):
            key = hit.passage_id
            scores[key] = scores.get(key, 0.0) + 1.0 / (constant + rank)
            first.setdefault(key, hit)
    order = sorted(scores, key=lambda i: -scores[i])[:k]
    return [replace(first[i], score=scores[i]) for i in order]


def fuse(
    vector_hits: Sequence[Hit],
    text_hits: Sequence[Hit],
    k: int,
    cosine_of: Callable[[list[str]], dict[str, float]],
) -> list[Hit]:
    """Hybrid passages: ranked by RRF of the two lists, scored by cosine (computed for
    passages only the text search found, so a threshold means the same as in vector search).

    :param vector_hits: the vector ranking. :param text_hits: the text ranking.
    :param k: passages to return.
    :param cosine_of: passage keys -> their cosine with the query (for text-only passages).
    :return: hits with ``score`` = cosine, ``fused`` in 0..1 and ``text_score``.
    """
    fused = rrf([vector_hits, text_hits], k)
    cosine = {h.passage_id: h.score for h in vector_hits}
    text_score = {h.passage_id: h.score for h in text_hits}
    missing = [h.passage_id for h in fused if h.passage_id not in cosine]
    if missing:
        cosine.update(cosine_of(missing))
    best = 2.0 / (RRF_K + 1)  # first in both lists
    return [
        replace(
            h,
            score=cosine.get(h.passage_id, float("nan")),
            fused=round(h.score / best, 6),
            text_score=text_score.get(h.passage_id),
        )
        for h in fused
    ]


def group_documents(passages: Sequence[Hit], k: int) -> list[Hit]:
    """The first ``k`` documents of a passage ranking, each shown by its best passage.

    A document ranks where its best passage ranks (max over its passages: on the long-document
    benchmark it beat the mean and the sum of the top passages, BENCHMARKS.md), so with an
    exact passage ranking the result equals a brute-force max over every passage.
    """
    seen: set[str] = set()
    out = []
    for h in passages:
        if h.id not in seen:
            seen.add(h.id)
            out.append(h)
            if len(out) == k:
                break
    return out


__all__ = ["RRF_K", "fuse", "group_documents", "rrf"]
