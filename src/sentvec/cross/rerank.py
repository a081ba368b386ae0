"""Rerank a search's shortlist: each hit's passage re-scored with the query by a
cross-encoder, the hits re-ordered by that score.

>>> hits = col.search("reset my password", k=20, encoder=enc)   # the shortlist
>>> rerank_hits(ce, "reset my password", hits, k=3)             # the best 3 of the 20
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sentvec.store.hits import Hit, Hits

if TYPE_CHECKING:
    from sentvec.cross.model import CrossEncoder


@dataclass
class RerankedHit(Hit):
    """A hit re-scored by a cross-encoder: ``score`` is the cross-encoder's, and
    ``retrieval_score`` the score the search gave it (cosine, or text-match)."""

    retrieval_score: float = 0.0
    retrieval_rank: int = 0  # 1-based place in the shortlist

    def to_dict(self) -> dict[str, Any]:
        """The hit's fields plus ``retrieval_score`` and ``retrieval_rank``."""
        out = super().to_dict()
        out["retrieval_score"] = round(float(self.retrieval_score), 6)
        out["retrieval_rank"] = self.retrieval_rank
        return out


def hit_text(hit: Hit) -> str:
    """What the cross-encoder reads of a hit: its title (when the passage does not start
    with it) and the passage."""
    if hit.title and not hit.text.startswith(hit.title):
        return f"{hit.title}\n{hit.text}"
    return hit.text


def rerank_hits(
    cross: CrossEncoder,
    query: str,
    hits: list[Hit],
    k: int | None = None,
    *,
    top: int | None = None,
    batch_size: int = 32,
) -> Hits:
    """Re-score the first ``top`` hits with the cross-encoder and return them best first.

    :param cross: a one-label cross-encoder (a reranker).
    :param query: the query the hits answer.
    :param hits: the search's hits, best first (a :class:`Hits` keeps its ``reason``).
    :param k: how many to return (None: every re-scored hit).
    :param top: how many of the hits to re-score (None: all); the rest are dropped.
    :param batch_size: pairs per forward pass.
    :return: :class:`RerankedHit` objects in a :class:`Hits`, by cross-encoder score.
    """
    shortlist = list(hits[: top if top is not None else len(hits)])
    reason = getattr(hits, "reason", None)
    if not shortlist:
        return Hits([], reason)
    ranked = cross.rank(query, [hit_text(h) for h in shortlist], k, batch_size=batch_size)
    out: list[Hit] = []
    for r in ranked:
        h = shortlist[r.index]
        fields = {f.name: getattr(h, f.name) for f in dataclasses.fields(Hit)}
        fields.update(score=r.score, retrieval_score=float(h.score), retrieval_rank=r.index + 1)
        out.append(RerankedHit(**fields))
    return Hits(out, reason, best=float(np.max([r.score for r in ranked])) if ranked else None)


__all__ = ["RerankedHit", "hit_text", "rerank_hits"]
