"""LlamaIndex: ``SentvecEmbedding`` implements ``llama_index.core.embeddings.BaseEmbedding``;
``SentvecRetriever`` implements ``llama_index.core.retrievers.BaseRetriever`` over a collection;
``SentvecRerank`` implements ``llama_index.core.postprocessor.types.BaseNodePostprocessor`` (a
cross-encoder re-scores the retrieved nodes: ``node_postprocessors=[SentvecRerank(...)]``).

>>> from llama_index.core import Settings
>>> Settings.embed_model = SentvecEmbedding()                          # local
>>> Settings.embed_model = SentvecEmbedding(url="http://127.0.0.1:8000")  # sentvec serve
>>> SentvecRetriever(collection=col, encoder=enc, k=3).retrieve("reset password")
"""

from __future__ import annotations

from typing import Any

from sentvec.extras import import_extra
from sentvec.integrations._core import (
    LocalEmbedder,
    RemoteEmbedder,
    hit_metadata,
    make_embedder,
    make_searcher,
)
from sentvec.integrations._rerank import make_reranker, top_order

import_extra("llama_index.core", "integrations", "llama-index-core")
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from pydantic import PrivateAttr


class SentvecEmbedding(BaseEmbedding):
    """sentvec embeddings for LlamaIndex: queries and texts get their own prompts."""

    url: str | None = None
    backend: str = "torch"
    _embedder: LocalEmbedder | RemoteEmbedder = PrivateAttr()

    def __init__(
        self,
        model: str | None = None,
        *,
        url: str | None = None,
        api_key: str | None = None,
        backend: str = "torch",
        encoder: Any = None,
        **kwargs: Any,
    ) -> None:
        """:param model: model folder / hub id (local) or served name (remote).
        :param url: a running ``sentvec serve``; None: embed in this process.
        :param api_key: the server's key. :param backend: local backend.
        :param encoder: an encoder already loaded (local).
        :param kwargs: BaseEmbedding fields (``embed_batch_size``, ...)."""
        name = model or (getattr(encoder, "name", None) if encoder is not None else None)
        fields: dict[str, Any] = {"url": url, "backend": backend, **kwargs}
        super().__init__(model_name=name or "all-MiniLM-L6-v2", **fields)
        self._embedder = make_embedder(
            model, url=url, api_key=api_key, backend=backend, encoder=encoder
        )

    @classmethod
    def class_name(cls) -> str:
        """LlamaIndex's name of this class."""
        return "SentvecEmbedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed([query], "query")[0].tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return (await self._embedder.aembed([query], "query"))[0].tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.embed([text], "document")[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed(texts, "document").tolist()

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return (await self._embedder.aembed([text], "document"))[0].tolist()

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return (await self._embedder.aembed(texts, "document")).tolist()


class SentvecRetriever(BaseRetriever):
    """A sentvec collection as a LlamaIndex retriever: one ``NodeWithScore`` per hit, the
    node's text the matching passage, its metadata every other field of the hit."""

    def __init__(
        self,
        collection: Any = None,
        *,
        encoder: Any = None,
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

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [_node(h) for h in self._searcher.search(query_bundle.query_str)]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [_node(h) for h in await self._searcher.asearch(query_bundle.query_str)]


class SentvecRerank(BaseNodePostprocessor):
    """A cross-encoder as a LlamaIndex node postprocessor: the nodes re-ordered by their
    score with the query (the node's ``score`` becomes it), the best ``top_n`` kept."""

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
        :param top_n: nodes to keep (None: all). :param url: a running sentvec serve.
        :param api_key: its key. :param backend: local backend.
        :param cross: a :class:`~sentvec.cross.CrossEncoder` already loaded."""
        super().__init__(top_n=top_n)  # type: ignore[call-arg]  # a pydantic field
        self._reranker = make_reranker(
            model, url=url, api_key=api_key, backend=backend, cross=cross
        )

    @classmethod
    def class_name(cls) -> str:
        """LlamaIndex's name of this class."""
        return "SentvecRerank"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        if query_bundle is None:
            from sentvec.errors import SentvecError

            raise SentvecError("SentvecRerank needs the query. Fix: pass query_bundle / query_str.")
        texts = [n.node.get_content() for n in nodes]
        scores = self._reranker.scores(query_bundle.query_str, texts)
        return [
            NodeWithScore(node=nodes[i].node, score=float(scores[i]))
            for i in top_order(scores, self.top_n)
        ]


def _node(hit: dict[str, Any]) -> NodeWithScore:
    node = TextNode(
        text=hit["text"], id_=f"{hit['id']}#{hit['passage']}", metadata=hit_metadata(hit)
    )
    return NodeWithScore(node=node, score=float(hit["score"]))


__all__ = ["SentvecEmbedding", "SentvecRerank", "SentvecRetriever"]
