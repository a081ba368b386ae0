"""Semantic search over records held in memory (the collection in ``sentvec.store`` persists).

The records are documents of any length: they are cut into passages and searched exactly as
a stored collection is (an in-memory :class:`~sentvec.store.memory.MemoryCollection`), so a
hit is a document shown by its best passage, with the sentence that answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sentvec.documents import Chunking
from sentvec.io import Record
from sentvec.store.hits import Hit, Hits

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
    chunking: Chunking | None = None,
    min_score: float | None = None,
    passages: bool = False,
) -> list[Hits]:
    """Rank documents by similarity of meaning to each query (exact search).

    :param encoder: the model.
    :param records: the documents (a ``title`` metadata field is embedded with each passage).
    :param queries: the queries.
    :param k: documents per query (passages, with ``passages``).
    :param cascade: a fast first-stage model (e.g. a static model from ``sentvec distill``):
        it shortlists ``candidates`` passages per query over all passages, and ``encoder``
        encodes and re-scores only the shortlist (see :mod:`sentvec.apps.cascade`).
    :param candidates: shortlist size per query, with ``cascade``.
    :param chunking: how documents become passages (default: windows sized for the model).
    :param min_score: drop hits under it; an empty result then says "no good match"
        (default: none).
    :param passages: return passages instead of documents.
    :return: for each query, its :class:`~sentvec.store.Hits`, best first.
    """
    from sentvec.store.memory import MemoryCollection

    if cascade is not None:
        return _cascade(
            encoder, records, queries, k, cascade, candidates, chunking, min_score, passages
        )
    col = MemoryCollection.for_encoder(encoder)
    col.add(records, encoder, chunking=chunking, show_progress=len(records) >= 1000)
    return [
        col.search(q, k, encoder=encoder, min_score=min_score, passages=passages) for q in queries
    ]


def _cascade(
    encoder: Encoder,
    records: Sequence[Record],
    queries: Sequence[str],
    k: int,
    first: Encoder,
    candidates: int,
    chunking: Chunking | None,
    min_score: float | None,
    passages: bool,
) -> list[Hits]:
    """The cascade over passages: ``first`` shortlists, ``encoder`` re-scores, then passages
    are grouped into documents like a collection's search."""
    from sentvec.apps.cascade import cascade_top_k
    from sentvec.documents import Chunker
    from sentvec.store.fusion import group_documents

    chunker = Chunker(encoder.tokenizer, encoder.max_seq_length, chunking)
    items = [p for r in records for p in chunker.passages(r)]
    want = k if passages else k * 4
    scores, idx, _ = cascade_top_k(
        first,
        encoder,
        [p.embed_text for p in items],
        queries,
        want,
        max(candidates, want),
        query_prompt=encoder.role_prompt("query"),
        document_prompt=encoder.role_prompt("document"),
    )
    out = []
    for srow, irow in zip(scores, idx, strict=True):
        ranked = [
            Hit(
                items[i].doc_id,
                items[i].text,
                float(s),
                items[i].metadata,
                title=items[i].title,
                passage=items[i].index,
                start=items[i].start,
                end=items[i].end,
                pid=items[i].id,
            )
            for s, i in zip(srow, irow, strict=True)
        ]
        hits = ranked[:k] if passages else group_documents(ranked, k)
        if min_score is not None and min_score > 0:
            kept = [h for h in hits if h.score >= min_score]
            reason = None if kept or not hits else f"no good match (best {hits[0].score:.3f})"
            hits = Hits(kept, reason)
        out.append(Hits(hits, getattr(hits, "reason", None)))
    return out


__all__ = ["search_records"]
