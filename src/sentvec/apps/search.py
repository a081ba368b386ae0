"""Semantic search over records held in memory (the collection in ``sentvec.store`` persists)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sentvec.io import Record
from sentvec.similarity import top_k

if TYPE_CHECKING:
    from sentvec.encoder import Encoder


def search_records(
    encoder: Encoder, records: Sequence[Record], queries: Sequence[str], k: int = 5
) -> list[list[tuple[float, Record]]]:
    """Rank records by similarity of meaning to each query (exact search).

    :param encoder: the model.
    :param records: what to search.
    :param queries: the queries.
    :param k: hits per query.
    :return: for each query, up to k (score, record) pairs, best first.
    """
    corpus = encoder.encode([r.text for r in records], prompt=_prompt(encoder, "document"))
    q = encoder.encode(list(queries), prompt=_prompt(encoder, "query"))
    scores, idx = top_k(q, corpus, k, metric=encoder.spec.similarity)
    return [
        [(float(s), records[i]) for s, i in zip(srow, irow, strict=True)]
        for srow, irow in zip(scores, idx, strict=True)
    ]


def _prompt(encoder: Encoder, name: str) -> str | None:
    """The model's prompt of that name if it has one (e.g. E5's 'query: '), else none."""
    return name if name in encoder.spec.prompts else None
