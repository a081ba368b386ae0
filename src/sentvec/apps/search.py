"""Semantic search over records held in memory (the collection in ``sentvec.store`` persists)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sentvec.io import Record
from sentvec.similarity import top_k

if TYPE_CHECKING:
    from sentvec.encoder import Encoder


def search_records(
    encoder: Encoder,
    records: Sequence[Record],
    queries: Sequence[str],
    k: int = 5,
    *,
    cascade: Encoder | None = None,
    candidates: int = 100,
) -> list[list[tuple[float, Record]]]:
    """Rank records by similarity of meaning to each query (exact search).

    :param encoder: the model.
    :param records: what to search.
    :param queries: the queries.
    :param k: hits per query.
    :param cascade: a fast first-stage model (e.g. a static model from ``sentvec distill``):
        it shortlists ``candidates`` records per query over all records, and ``encoder``
        encodes and re-scores only the shortlist (see :mod:`sentvec.apps.cascade`).
    :param candidates: shortlist size per query, with ``cascade``.
    :return: for each query, up to k (score, record) pairs, best first (``encoder``'s scores).
    """
    texts = [r.text for r in records]
    if cascade is not None:
        from sentvec.apps.cascade import cascade_top_k

        scores, idx, _ = cascade_top_k(
            cascade,
            encoder,
            texts,
            queries,
            k,
            max(candidates, k),
            query_prompt=_prompt(encoder, "query"),
            document_prompt=_prompt(encoder, "document"),
        )
    else:
        corpus = encoder.encode(texts, prompt=_prompt(encoder, "document"))
        q = encoder.encode(list(queries), prompt=_prompt(encoder, "query"))
        scores, idx = top_k(q, corpus, k, metric=encoder.spec.similarity)
    return [
        [(float(s), records[i]) for s, i in zip(srow, irow, strict=True)]
        for srow, irow in zip(scores, idx, strict=True)
    ]


def _prompt(encoder: Encoder, name: str) -> str | None:
    """The model's prompt of that name if it has one (e.g. E5's 'query: '), else none."""
    return name if name in encoder.spec.prompts else None
