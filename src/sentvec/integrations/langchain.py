"""LangChain: ``SentvecEmbeddings`` implements ``langchain_core.embeddings.Embeddings``;
``SentvecRetriever`` implements ``langchain_core.retrievers.BaseRetriever`` over a collection;
``SentvecRerank`` implements ``langchain_core.documents.BaseDocumentCompressor`` (a cross-encoder
re-scores a retriever's documents, e.g. in a ``ContextualCompressionRetriever``).

>>> emb = SentvecEmbeddings()                                  # local all-MiniLM-L6-v2
>>> emb = SentvecEmbeddings(url="http://127.0.0.1:8000")       # a running sentvec serve
>>> emb.embed_query("reset password"); emb.embed_documents(["How do I reset it?"])
>>> retriever = SentvecRetriever(collection=col, encoder=enc, k=3)
>>> retriever = SentvecRetriever(url="http://127.0.0.1:8000", collection="help", k=3)
>>> retriever.invoke("reset password")[0].metadata["answer"]
>>> SentvecRerank(model="./my-reranker", top_n=3).compress_documents(docs, "reset password")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sentvec.extras import import_extra
from sentvec.integrations._core import hit_metadata, make_embedder, make_searcher
from sentvec.integrations._rerank import RemoteReranker, make_reranker, top_order

import_extra("langchain_core", "integrations", "langchain-core")
from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import BaseDocumentCompressor, Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import PrivateAttr

if TYPE_CHECKING:
    from sentvec.encoder import Encoder


class SentvecEmbeddings(Embeddings):
    """sentvec embeddings for LangChain: documents and queries get their own prompts."""

    def __init__(
        self,
        model: str | None = None,
        *,
        url: str | None = None,
        api_key: str | None = None,
        backend: str = "torch",
        encoder: Encoder | None = None,
    ) -> None:
        """:param model: model folder / hub id (local) or served name (remote).
        :param url: a running ``sentvec serve``; None: embed in this process.
        :param api_key: the server's key. :param backend: local backend.
        :param encoder: an encoder already loaded (local)."""
        self.embedder = make_embedder(
            model, url=url, api_key=api_key, backend=backend, encoder=encoder
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per document."""
        return self.embedder.embed(texts, "document").tolist()

    def embed_query(self, text: str) -> list[float]:
        """The vector of a search query."""
        return self.embedder.embed([text], "query")[0].tolist()

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """:meth:`embed_documents`, without blocking the event loop."""
        return (await self.embedder.aembed(texts, "document")).tolist()

    async def aembed_query(self, text: str) -> list[float]:
        """:meth:`embed_query`, without blocking the event loop."""
        return (await self.embedder.aembed([text], "query"))[0].tolist()


class SentvecRetriever(BaseRetriever):
    """A sentvec collection as a LangChain retriever: one ``Document`` per hit, its
    ``page_content`` the matching passage, its metadata every other field of the hit (id,
    title, url, score, answer and its offsets, the document's metadata)."""

    _searcher: Any = PrivateAttr()

    def __init__(
        self,
        collection: Any = None,
        *,
        encoder: Encoder | None = None,
        url: str | None = None,
        api_key: str | None = None,
        **options: Any,
    ) -> None:
        """:param collection: an open collection (local), or a served collection's name.
        :param encoder: the collection's model (local). :param url: a running sentvec serve.
        :param api_key: its key. :param options: search options (``k``, ``mode``,
        ``filters``, ``passages``, ``min_score``)."""
        super().__init__()
        self._searcher = make_searcher(
            collection, encoder=encoder, url=url, api_key=api_key, **options
        )

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [_document(h) for h in self._searcher.search(query)]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [_document(h) for h in await self._searcher.asearch(query)]


class SentvecRerank(BaseDocumentCompressor):
    """A cross-encoder as a LangChain document compressor: the documents re-ordered by their
    score with the query, the best ``top_n`` kept, each with ``relevance_score`` in its
    metadata."""

    top_n: int | None = 3
    _reranker: Any = PrivateAttr()

    def __init__(
        self,
        model: str | None = None,
        *,
        top_n: int | None = 3,
        url: str | None = None,
        api_key: str | None = None,
        backend: str = "torch",
        cross: Any = None,
    ) -> None:
        """:param model: cross-encoder folder / hub id (local) or served name (remote).
        :param top_n: documents to keep (None: all). :param url: a running sentvec serve.
        :param api_key: its key. :param backend: local backend.
        :param cross: a :class:`~sentvec.cross.CrossEncoder` already loaded."""
        super().__init__(top_n=top_n)  # type: ignore[call-arg]  # a pydantic field
        self._reranker = make_reranker(
            model, url=url, api_key=api_key, backend=backend, cross=cross
        )

    def _pick(self, documents: Sequence[Document], scores: Any) -> list[Document]:
        out = []
        for i in top_order(scores, self.top_n):
            doc = documents[i]
            meta = {**doc.metadata, "relevance_score": float(scores[i])}
            out.append(Document(page_content=doc.page_content, metadata=meta, id=doc.id))
        return out

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Any = None
    ) -> Sequence[Document]:
        """The documents best first by cross-encoder score (the best ``top_n``)."""
        scores = self._reranker.scores(query, [d.page_content for d in documents])
        return self._pick(documents, scores)

    async def acompress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Any = None
    ) -> Sequence[Document]:
        """:meth:`compress_documents` without blocking the event loop (remote)."""
        if isinstance(self._reranker, RemoteReranker):
            scores = await self._reranker.ascores(query, [d.page_content for d in documents])
            return self._pick(documents, scores)
        return await super().acompress_documents(documents, query, callbacks)


def _document(hit: dict[str, Any]) -> Document:
    return Document(page_content=hit["text"], metadata=hit_metadata(hit), id=hit["id"])


__all__ = ["SentvecEmbeddings", "SentvecRerank", "SentvecRetriever"]
