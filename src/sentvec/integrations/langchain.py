"""LangChain: ``SentvecEmbeddings`` implements ``langchain_core.embeddings.Embeddings``.

>>> emb = SentvecEmbeddings()                                  # local all-MiniLM-L6-v2
>>> emb = SentvecEmbeddings(url="http://127.0.0.1:8000")       # a running sentvec serve
>>> emb.embed_query("reset password"); emb.embed_documents(["How do I reset it?"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sentvec.errors import MissingExtraError
from sentvec.integrations._core import make_embedder

try:
    from langchain_core.embeddings import Embeddings
except ImportError:
    raise MissingExtraError("langchain-core", "integrations") from None

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


__all__ = ["SentvecEmbeddings"]
