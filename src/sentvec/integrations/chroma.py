"""Chroma: ``SentvecEmbeddingFunction`` implements ``chromadb``'s ``EmbeddingFunction``
(registered as ``sentvec``, so a persisted collection rebuilds it from its config).

>>> col = client.create_collection("faq", embedding_function=SentvecEmbeddingFunction(),
...                                configuration={"hnsw": {"space": "cosine"}})
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from sentvec.extras import import_extra
from sentvec.integrations._core import make_embedder

import_extra("chromadb", "integrations", "chromadb")
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function


@register_embedding_function
class SentvecEmbeddingFunction(EmbeddingFunction[Documents]):
    """sentvec embeddings for Chroma: ``__call__`` embeds documents, ``embed_query`` queries."""

    def __init__(
        self,
        model: str | None = None,
        *,
        url: str | None = None,
        api_key_env_var: str = "SENTVEC_API_KEY",
        backend: str = "torch",
        encoder: Any = None,
    ) -> None:
        """:param model: model folder / hub id (local) or served name (remote).
        :param url: a running ``sentvec serve``; None: embed in this process.
        :param api_key_env_var: environment variable holding the server's key (the key itself
            is never written into Chroma's config).
        :param backend: local backend. :param encoder: an encoder already loaded (local)."""
        self.model, self.url, self.backend = model, url, backend
        self.api_key_env_var = api_key_env_var
        self.embedder = make_embedder(
            model,
            url=url,
            api_key=os.environ.get(api_key_env_var) if url else None,
            backend=backend,
            encoder=encoder,
        )

    def __call__(self, input: Documents) -> Embeddings:
        """Vectors of documents."""
        return list(np.asarray(self.embedder.embed(list(input), "document"), dtype=np.float32))

    def embed_query(self, input: Documents) -> Embeddings:
        """Vectors of queries (the model's query prompt, if it has one)."""
        return list(np.asarray(self.embedder.embed(list(input), "query"), dtype=np.float32))

    @staticmethod
    def name() -> str:
        """The registered name."""
        return "sentvec"

    def default_space(self) -> Space:
        """Cosine: sentence embeddings are compared by angle."""
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        """Spaces that make sense for these vectors."""
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        """Settings that rebuild this function (no secrets)."""
        return {
            "model": self.model,
            "url": self.url,
            "backend": self.backend,
            "api_key_env_var": self.api_key_env_var,
        }

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> SentvecEmbeddingFunction:
        """Rebuild from :meth:`get_config`."""
        return SentvecEmbeddingFunction(
            config.get("model"),
            url=config.get("url"),
            api_key_env_var=config.get("api_key_env_var", "SENTVEC_API_KEY"),
            backend=config.get("backend", "torch"),
        )


__all__ = ["SentvecEmbeddingFunction"]
