"""``POST /rerank`` (Hugging Face TEI's shape) and ``POST /v1/rerank`` (Cohere's / Jina's
shape): a cross-encoder scores the query with each document, through the same batching queue
as the embeddings (concurrent requests share forward passes).

Served with ``sentvec serve --rerank-model PATH`` (repeatable, ``NAME=PATH``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from sentvec.server.errors import APIError
from sentvec.server.queue import BatchHook, BatchQueue
from sentvec.server.routes._common import check_texts, check_tokens, json_response, state

if TYPE_CHECKING:
    from sentvec.cross import CrossEncoder
    from sentvec.server.settings import Settings
    from sentvec.server.state import ServerState

router = APIRouter(tags=["Rerank"])


@dataclass
class ServedReranker:
    """One cross-encoder: its name and its queue of (query, document) pairs."""

    name: str
    cross: CrossEncoder
    queue: BatchQueue

    def count_tokens(self, query: str, documents: Sequence[str]) -> int:
        """Tokens of every pair as the model reads it (cut to its longest input)."""
        tok = self.cross.tokenizer
        q = len(tok.content_ids([query])[0])
        limit = self.cross.max_seq_length
        return sum(min(q + len(d) + tok.n_special, limit) for d in tok.content_ids(documents))

    async def logits(
        self, query: str, documents: Sequence[str], check: Callable[[int], None]
    ) -> tuple[np.ndarray, int]:
        """Raw scores of (query, document) for each document, through the queue.

        :return: ((N,) float32 logits, tokens)."""
        tokens = self.count_tokens(query, documents)
        check(tokens)
        pairs = [(query, d) for d in documents]
        return await self.queue.submit(pairs, tokens), tokens  # type: ignore[arg-type]

    def activate(self, logits: np.ndarray) -> np.ndarray:
        """The model's activation (sigmoid for most rerankers) applied to raw scores."""
        from sentvec.cross.config import FUNCTIONS

        return FUNCTIONS[self.cross.activation](logits[:, None])[:, 0]


def serve_reranker(
    name: str, cross: CrossEncoder, settings: Settings, hook: BatchHook | None = None
) -> ServedReranker:
    """Wrap a one-label cross-encoder with a queue configured from ``settings``.

    :raises SentvecError: for a model with several labels (not a reranker).
    """
    from sentvec.errors import SentvecError

    if cross.num_labels != 1:
        raise SentvecError(
            f"{name}: a reranker gives one score per pair; this model has {cross.num_labels} "
            "labels. Fix: serve a one-label cross-encoder."
        )
    batch = settings.encode_batch_size

    def run(pairs: list[tuple[str, str]]) -> np.ndarray:
        return cross.logits(pairs, batch_size=batch, show_progress=False)[:, 0]

    queue = BatchQueue(
        run,  # type: ignore[arg-type]
        max_batch_tokens=settings.max_batch_tokens,
        max_wait_s=settings.max_wait_ms / 1000,
        max_queued=settings.max_queued,
        on_batch=hook,
    )
    return ServedReranker(name, cross, queue)


def load_rerankers(st: ServerState, given: dict[str, CrossEncoder] | None = None) -> None:
    """Load ``settings.rerank_models`` (or take ``given``) into ``st.rerankers``."""
    from sentvec.cross import load_cross

    s = st.settings
    if given is not None:
        loaded = dict(given)
    else:
        options = s.backend_options()
        loaded = {
            n: load_cross(path, backend=s.backend, **options) for n, path in s.rerank_models.items()
        }
    for name, cross in loaded.items():
        st.rerankers[name] = serve_reranker(name, cross, s)


async def close_rerankers(st: ServerState) -> None:
    """Stop every reranker's queue."""
    for r in st.rerankers.values():
        await r.queue.close()


def _reranker(st: ServerState, name: str | None) -> ServedReranker:
    if not st.ready:
        raise APIError(503, "the models are still loading. Fix: retry when /ready says so.")
    if not st.rerankers:
        raise APIError(
            404,
            "no reranker is served here. Fix: start the server with "
            "sentvec serve --rerank-model PATH.",
            param="model",
            code="model_not_found",
        )
    if name is None:
        return next(iter(st.rerankers.values()))
    if name not in st.rerankers:
        raise APIError(
            404,
            f"the reranker {name!r} is not served here. Fix: use one of {', '.join(st.rerankers)}.",
            param="model",
            code="model_not_found",
        )
    return st.rerankers[name]


class TEIRerankRequest(BaseModel):
    """Text Embeddings Inference's ``/rerank`` body."""

    query: str = Field(min_length=1, description="The query.")
    texts: list[str] = Field(description="The documents to score against the query.")
    raw_scores: bool = Field(False, description="Logits instead of the model's activation.")
    return_text: bool = Field(False, description="Echo each text in its result.")
    truncate: bool | None = Field(None, description="Accepted; long pairs are always cut.")
    truncation_direction: str | None = Field(None, description="Accepted (the end is cut).")
    model: str | None = Field(None, description="Served reranker (default: the first).")


class Document(BaseModel):
    """A document given as an object (Cohere accepts ``{"text": ...}``)."""

    text: str


class RerankRequest(BaseModel):
    """Cohere's / Jina's ``/v1/rerank`` body."""

    query: str = Field(min_length=1)
    documents: list[str | Document]
    top_n: int | None = Field(None, ge=1, description="Keep the best N (default: all).")
    return_documents: bool = Field(False, description="Include each document's text.")
    model: str | None = None


async def _scores(
    request: Request, name: str | None, query: str, documents: list[str], raw: bool
) -> tuple[ServedReranker, np.ndarray, int]:
    st = state(request)
    served = _reranker(st, name)
    check_texts([query], st, "query")
    check_texts(documents, st, "documents")
    logits, tokens = await served.logits(query, documents, lambda n: check_tokens(n, st))
    return served, (logits if raw else served.activate(logits)), tokens


@router.post("/rerank", summary="Rerank texts for a query (TEI's shape)")
async def rerank_tei(body: TEIRerankRequest, request: Request) -> Response:
    """``[{"index", "score", "text"?}, ...]``, best first."""
    _, scores, _ = await _scores(request, body.model, body.query, body.texts, body.raw_scores)
    order = np.argsort(-scores, kind="stable")
    out: list[dict[str, Any]] = []
    for i in order:
        row: dict[str, Any] = {"index": int(i), "score": float(scores[i])}
        if body.return_text:
            row["text"] = body.texts[i]
        out.append(row)
    return json_response(out)


@router.post("/v1/rerank", summary="Rerank documents for a query (Cohere's / Jina's shape)")
async def rerank_v1(body: RerankRequest, request: Request) -> Response:
    """``{"id", "model", "results": [{"index", "relevance_score", "document"?}], "usage"}``."""
    docs = [d if isinstance(d, str) else d.text for d in body.documents]
    served, scores, tokens = await _scores(request, body.model, body.query, docs, False)
    order = np.argsort(-scores, kind="stable")[: body.top_n]
    results: list[dict[str, Any]] = []
    for i in order:
        row: dict[str, Any] = {"index": int(i), "relevance_score": float(scores[i])}
        if body.return_documents:
            row["document"] = {"text": docs[i]}
        results.append(row)
    return json_response(
        {
            "id": str(uuid.uuid4()),
            "model": served.name,
            "results": results,
            "usage": {"total_tokens": tokens},
            "meta": {"billed_units": {"search_units": 1}},
        }
    )


__all__ = ["ServedReranker", "close_rerankers", "load_rerankers", "router", "serve_reranker"]
