"""What the framework rerankers share: scores of (query, text) pairs from a cross-encoder in
this process, or from a running ``sentvec serve --rerank-model`` (its ``/v1/rerank``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sentvec.integrations._core import _checked, _httpx

if TYPE_CHECKING:
    from sentvec.cross import CrossEncoder


class LocalReranker:
    """A cross-encoder loaded in this process (on first use)."""

    def __init__(
        self, model: str | None = None, backend: str = "torch", cross: CrossEncoder | None = None
    ) -> None:
        if model is None and cross is None:
            from sentvec.errors import SentvecError

            raise SentvecError("a reranker needs model= (a folder or hub id), cross= or url=.")
        self.model, self.backend, self._cross = model, backend, cross

    @property
    def cross(self) -> CrossEncoder:
        """The cross-encoder."""
        if self._cross is None:
            from sentvec.cross import load_cross

            self._cross = load_cross(str(self.model), backend=self.backend)
        return self._cross

    def scores(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """(N,) scores of the query with each text, input order."""
        return self.cross.predict([(query, t) for t in texts])


class RemoteReranker:
    """Scores from a running ``sentvec serve`` (``POST /v1/rerank``)."""

    def __init__(
        self, url: str, model: str | None = None, api_key: str | None = None, timeout: float = 60
    ) -> None:
        self.url, self.model, self.api_key, self.timeout = url.rstrip("/"), model, api_key, timeout

    def _request(self, query: str, texts: Sequence[str]) -> tuple[dict[str, Any], dict[str, str]]:
        body: dict[str, Any] = {"query": query, "documents": list(texts)}
        if self.model is not None:
            body["model"] = self.model
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return body, headers

    @staticmethod
    def _scores(body: dict[str, Any], n: int) -> np.ndarray:
        out = np.zeros(n, dtype=np.float32)
        for r in body["results"]:
            out[int(r["index"])] = float(r["relevance_score"])
        return out

    def scores(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """(N,) scores of the query with each text, input order."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        body, headers = self._request(query, texts)
        with _httpx().Client(timeout=self.timeout) as c:
            r = c.post(f"{self.url}/v1/rerank", json=body, headers=headers)
        return self._scores(_checked(r), len(texts))

    async def ascores(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """:meth:`scores` without blocking the event loop."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        body, headers = self._request(query, texts)
        async with _httpx().AsyncClient(timeout=self.timeout) as c:
            r = await c.post(f"{self.url}/v1/rerank", json=body, headers=headers)
        return self._scores(_checked(r), len(texts))


def make_reranker(
    model: str | None = None,
    *,
    url: str | None = None,
    api_key: str | None = None,
    backend: str = "torch",
    cross: CrossEncoder | None = None,
) -> LocalReranker | RemoteReranker:
    """A remote reranker when ``url`` is given, else a local one."""
    if url is not None:
        return RemoteReranker(url, model, api_key)
    return LocalReranker(model, backend, cross)


def top_order(scores: np.ndarray, top_n: int | None) -> list[int]:
    """Indices of the best ``top_n`` scores (None: all), best first, ties in input order."""
    order = np.argsort(-scores, kind="stable")
    return [int(i) for i in (order if top_n is None else order[:top_n])]


__all__ = ["LocalReranker", "RemoteReranker", "make_reranker", "top_order"]
