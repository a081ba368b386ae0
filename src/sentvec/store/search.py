"""The steps of one search, in the order :meth:`Collection.search` runs them: a passage
ranking for the mode (vector, text, or both fused), passages grouped into documents, the
"no good match" minimum, and the sentence of each hit that answers the query. ``col`` is the
:class:`~sentvec.store.base.Collection` being searched (its backend primitives rank)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from sentvec.documents import best_sentences
from sentvec.errors import SentvecError
from sentvec.store import filters as flt
from sentvec.store.fusion import fuse, group_documents
from sentvec.store.hits import Hit, Hits

HYBRID_DEPTH = 50  # passages each ranking contributes to a hybrid search, at least
OVERFETCH = 4  # passages fetched per wanted document (more are fetched until k documents)
MAX_QUERY_CHARS = 10_000  # a query is a question, not a document


@runtime_checkable
class QueryEncoder(Protocol):
    """What a search needs of a model: its identity and ``encode(texts, role=...)``."""

    name: str

    @property
    def fingerprint(self) -> str: ...

    def encode(self, texts: Any, *, role: Any = None) -> np.ndarray: ...


def check_vector(vector: np.ndarray | Sequence[float], dim: int) -> np.ndarray:
    """A query vector of the collection's length, finite, not all zeros.

    :raises SentvecError: naming what is wrong and the fix.
    """
    try:
        v = np.asarray(vector, dtype=np.float32).reshape(-1)
    except (TypeError, ValueError):
        raise SentvecError(
            "the query vector is not a list of numbers. Fix: pass the vector the "
            "collection's model made for the query."
        ) from None
    if v.shape != (dim,):
        raise SentvecError(
            f"a query vector of length {v.size} for a {dim}-d collection. "
            "Fix: encode the query with the collection's model."
        )
    if not np.isfinite(v).all() or not v.any():
        raise SentvecError(
            "the query vector holds NaN, infinity or only zeros, which has no nearest "
            "passages. Fix: encode the query with the collection's model."
        )
    return v


def check_text(text: str | None, mode: str) -> None:
    """Refuse a text or hybrid search without text, and a query over the length limit."""
    if mode != "vector" and not (text and text.strip()):
        raise SentvecError(
            f"{mode} search needs the query's text. Fix: pass the text (with the "
            "encoder, or its vector), or use mode='vector' with a vector."
        )
    if text is not None and len(text) > MAX_QUERY_CHARS:
        raise SentvecError(
            f"the query has {len(text)} characters; the limit is {MAX_QUERY_CHARS}. "
            "Fix: search with the question, not a whole document."
        )


def passage_ranking(
    col: Any,
    mode: str,
    text: str,
    q: np.ndarray | None,
    node: flt.Node | None,
    exact: bool | None,
) -> Callable[[int], list[Hit]]:
    """A function of n giving the n best passages of the mode."""
    if mode == "text":
        return lambda n: col._text_search(text, n, node)
    if q is None:
        raise SentvecError(f"{mode} search needs the query's vector or the model to make it.")
    if mode == "vector":
        return lambda n: col._vector_search(q, n, node, exact)

    def hybrid(n: int) -> list[Hit]:
        depth = max(HYBRID_DEPTH, n)
        vec = col._vector_search(q, depth, node, exact)
        txt = col._text_search(text, depth, node)
        return fuse(vec, txt, n, lambda pids: cosines(col, q, pids))

    return hybrid


def cosines(col: Any, q: np.ndarray, pids: list[str]) -> dict[str, float]:
    """The query's similarity (the collection's metric) with these stored passages."""
    qn = col._normalise(q[None, :])[0]
    return {i: float(v @ qn) for i, v in col._vectors(pids).items()}


def top_documents(fetch: Callable[[int], list[Hit]], k: int) -> list[Hit]:
    """The first k documents of the passage ranking: fetch more passages until k
    documents are found or the ranking runs out (exact for the max rule)."""
    n = max(k * OVERFETCH, 20)
    while True:
        got = fetch(n)
        docs = group_documents(got, k)
        if len(docs) >= k or len(got) < n:
            return docs
        n *= 4


def apply_minimum(
    col: Any,
    ranked: list[Hit],
    mode: str,
    min_score: float | None,
    node: flt.Node | None,
) -> Hits:
    """Drop hits under the minimum (vector and hybrid similarities only); an empty result
    says why: an empty collection, filters that match nothing, or no good match."""
    if not ranked:
        if col._count_passages() == 0:
            reason = f"collection {col.name!r} is empty"
        elif node is not None:
            reason = "no document matches the filters"
        elif mode == "text":
            reason = "no passage holds the query's words"
        else:
            reason = "nothing was found"
        return Hits([], reason)
    best = float(ranked[0].score) if mode != "text" else None
    minimum = col.meta.get("min_score") if min_score is None else min_score
    if mode == "text" or minimum is None or minimum <= 0:
        return Hits(ranked, best=best)
    kept = [h for h in ranked if h.score >= minimum]
    if kept:
        return Hits(kept, best=best)
    top = max(float(h.score) for h in ranked)
    return Hits(
        [],
        f"no good match: the best passage scored {top:.3f}, under this collection's "
        f"minimum {minimum:g}. Fix: rephrase the query, or lower the minimum "
        "(min_score=, --min-score) if weak matches are wanted",
        best=top,
    )


def highlight(hits: list[Hit], q: np.ndarray, encoder: QueryEncoder, metric: str) -> None:
    """Set each hit's ``answer``: its passage's sentence closest to the query (offsets in the
    document)."""
    spans = best_sentences(
        q, [h.text for h in hits], lambda texts: encoder.encode(texts, role="document"), metric
    )
    for h, span in zip(hits, spans, strict=True):
        if span is not None:
            h.answer = (h.start + span[0], h.start + span[1])


__all__ = [
    "MAX_QUERY_CHARS",
    "QueryEncoder",
    "apply_minimum",
    "check_text",
    "check_vector",
    "cosines",
    "highlight",
    "passage_ranking",
    "top_documents",
]
