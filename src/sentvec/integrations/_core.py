"""One small interface the adapters share: embed texts as queries or as documents, with a
local :class:`~sentvec.Encoder` or through a running ``sentvec serve`` (``/v1/embeddings``)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from sentvec.errors import SentvecError
from sentvec.extras import import_extra

if TYPE_CHECKING:
    from sentvec.encoder import Encoder

Role = Literal["query", "document"]


class Embedder(Protocol):
    """Texts in, (n, dim) float32 out, as queries or as documents."""

    def embed(self, texts: Sequence[str], role: Role) -> np.ndarray: ...

    async def aembed(self, texts: Sequence[str], role: Role) -> np.ndarray: ...

    def config(self) -> dict[str, Any]: ...


class LocalEmbedder:
    """Embed in this process with an :class:`Encoder` (loaded on first use)."""

    def __init__(
        self, model: str | None = None, backend: str = "torch", encoder: Encoder | None = None
    ) -> None:
        """:param model: folder or hub id (None: all-MiniLM-L6-v2).
        :param backend: torch, onnx or onnx-int8. :param encoder: an encoder already loaded."""
        self.model, self.backend, self._encoder = model, backend, encoder

    @property
    def encoder(self) -> Encoder:
        """The model."""
        if self._encoder is None:
            from sentvec.encoder import load

            self._encoder = load(self.model, backend=self.backend)
        return self._encoder

    def embed(self, texts: Sequence[str], role: Role) -> np.ndarray:
        """Vectors with the model's ``role`` prompt if it has one (else its default)."""
        if not texts:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return self.encoder.encode(list(texts), role=role)

    async def aembed(self, texts: Sequence[str], role: Role) -> np.ndarray:
        """:meth:`embed` in a worker thread (the event loop keeps running)."""
        return await asyncio.to_thread(self.embed, texts, role)

    def config(self) -> dict[str, Any]:
        """Settings that rebuild this embedder."""
        return {"model": self.model, "backend": self.backend}


class RemoteEmbedder:
    """Embed through a running ``sentvec serve`` (its OpenAI-compatible ``/v1/embeddings``)."""

    def __init__(
        self,
        url: str,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        """:param url: the server, e.g. ``http://127.0.0.1:8000``.
        :param model: a served model name (None: the server's first).
        :param api_key: the server's key, if it has one. :param timeout: seconds per request."""
        self.url, self.model, self.api_key, self.timeout = url.rstrip("/"), model, api_key, timeout

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _body(self, texts: Sequence[str], role: Role, model: str) -> dict[str, Any]:
        return {"input": list(texts), "model": model, "encoding_format": "base64", "prompt": role}

    def _model(self, client: Any) -> str:
        if self.model is None:
            r = client.get(f"{self.url}/v1/models", headers=self._headers())
            self.model = str(_checked(r)["data"][0]["id"])
        return self.model

    def embed(self, texts: Sequence[str], role: Role) -> np.ndarray:
        """Vectors from the server (base64 float32), in order."""
        httpx = _httpx()
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        with httpx.Client(timeout=self.timeout) as c:
            body = self._body(texts, role, self._model(c))
            r = c.post(f"{self.url}/v1/embeddings", json=body, headers=self._headers())
        return _decode(_checked(r))

    async def aembed(self, texts: Sequence[str], role: Role) -> np.ndarray:
        """:meth:`embed` without blocking the event loop."""
        httpx = _httpx()
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        async with httpx.AsyncClient(timeout=self.timeout) as c:
            if self.model is None:
                r = await c.get(f"{self.url}/v1/models", headers=self._headers())
                self.model = str(_checked(r)["data"][0]["id"])
            body = self._body(texts, role, self.model)
            r = await c.post(f"{self.url}/v1/embeddings", json=body, headers=self._headers())
        return _decode(_checked(r))

    def config(self) -> dict[str, Any]:
        """Settings that rebuild this embedder (the key is left out: read it from the env)."""
        return {"url": self.url, "model": self.model}


class Searcher(Protocol):
    """A query in, hits out (each :meth:`sentvec.store.Hit.to_dict`), best first."""

    def search(self, query: str) -> list[dict[str, Any]]: ...

    async def asearch(self, query: str) -> list[dict[str, Any]]: ...


class CollectionSearcher:
    """Search a collection in this process (the same call as Python and the CLI)."""

    def __init__(self, collection: Any, encoder: Encoder, **options: Any) -> None:
        """:param collection: an open :class:`sentvec.store.Collection`.
        :param encoder: its model. :param options: :meth:`Collection.search` options
        (``k``, ``mode``, ``filters``, ``where``, ``passages``, ``min_score``)."""
        self.collection, self.encoder, self.options = collection, encoder, options

    def search(self, query: str) -> list[dict[str, Any]]:
        """The hits of one query."""
        hits = self.collection.search(query, encoder=self.encoder, **self.options)
        return [h.to_dict() for h in hits]

    async def asearch(self, query: str) -> list[dict[str, Any]]:
        """:meth:`search` in a worker thread."""
        return await asyncio.to_thread(self.search, query)


class RemoteSearcher:
    """Search a collection of a running ``sentvec serve`` (``POST /collections/NAME/search``)."""

    def __init__(
        self,
        url: str,
        collection: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        **options: Any,
    ) -> None:
        """:param url: the server. :param collection: the collection's name.
        :param api_key: the server's key. :param options: the search request's fields
        (``k``, ``mode``, ``filters``, ``passages``, ``min_score``)."""
        self.url, self.collection = url.rstrip("/"), collection
        self.api_key, self.timeout, self.options = api_key, timeout, options

    def _request(self, query: str) -> tuple[str, dict[str, Any], dict[str, str]]:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return (
            f"{self.url}/collections/{self.collection}/search",
            {"query": query, **self.options},
            headers,
        )

    def search(self, query: str) -> list[dict[str, Any]]:
        """The hits of one query."""
        url, body, headers = self._request(query)
        with _httpx().Client(timeout=self.timeout) as c:
            return list(_checked(c.post(url, json=body, headers=headers))["hits"])

    async def asearch(self, query: str) -> list[dict[str, Any]]:
        """:meth:`search` without blocking the event loop."""
        url, body, headers = self._request(query)
        async with _httpx().AsyncClient(timeout=self.timeout) as c:
            return list(_checked(await c.post(url, json=body, headers=headers))["hits"])


def make_searcher(
    collection: Any = None,
    *,
    encoder: Encoder | None = None,
    url: str | None = None,
    api_key: str | None = None,
    **options: Any,
) -> CollectionSearcher | RemoteSearcher:
    """A remote searcher when ``url`` is given (``collection`` is then its name), else a
    local one over an open collection and its encoder."""
    if url:
        if not isinstance(collection, str):
            raise SentvecError("with url=, pass the collection's name as collection='...'.")
        return RemoteSearcher(url, collection, api_key, **options)
    if collection is None or isinstance(collection, str) or encoder is None:
        raise SentvecError(
            "a local retriever needs an open collection and its encoder. Fix: pass "
            "collection=sentvec.store.open_collection(...), encoder=sentvec.load(...), "
            "or url= and the name of a served collection."
        )
    return CollectionSearcher(collection, encoder, **options)


def hit_metadata(hit: dict[str, Any]) -> dict[str, Any]:
    """A hit's fields other than its passage text, for a framework document's metadata."""
    return {key: value for key, value in hit.items() if key != "text"}


def make_embedder(
    model: str | None = None,
    *,
    url: str | None = None,
    api_key: str | None = None,
    backend: str = "torch",
    encoder: Encoder | None = None,
) -> LocalEmbedder | RemoteEmbedder:
    """A remote embedder when ``url`` is given, else a local one."""
    if url:
        if encoder is not None:
            raise SentvecError("pass url= (a server) or encoder= (local), not both.")
        return RemoteEmbedder(url, model, api_key)
    return LocalEmbedder(model, backend, encoder)


def _httpx() -> Any:
    httpx = import_extra("httpx", "integrations")
    return httpx


def _checked(r: Any) -> dict[str, Any]:
    if r.status_code != 200:
        try:
            message = r.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = r.text[:300]
        raise SentvecError(f"sentvec serve answered {r.status_code}: {message}")
    return r.json()


def _decode(body: dict[str, Any]) -> np.ndarray:
    rows = sorted(body["data"], key=lambda d: d["index"])
    return np.stack([np.frombuffer(base64.b64decode(d["embedding"]), "<f4") for d in rows])


__all__ = [
    "CollectionSearcher",
    "Embedder",
    "LocalEmbedder",
    "RemoteEmbedder",
    "RemoteSearcher",
    "Role",
    "Searcher",
    "hit_metadata",
    "make_embedder",
    "make_searcher",
]
