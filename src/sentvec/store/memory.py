"""A collection held in memory (exact numpy search, nothing on disk): what ``sentvec search
--file`` and :func:`sentvec.apps.search.search_records` use, so a file searched once ranks,
groups, thresholds and highlights exactly as a stored collection does."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from sentvec.documents import Passage
from sentvec.errors import SentvecError
from sentvec.store import filters as flt
from sentvec.store.base import Collection
from sentvec.store.columns import LAYOUT
from sentvec.store.hits import Hit


class MemoryCollection(Collection):
    """Documents as passages in memory; vector search only (exact), no filters."""

    backend = "memory"

    def __init__(self, name: str, meta: dict[str, Any]) -> None:
        self.name, self.meta, self.location = name, meta, ":memory:"
        self._passages: list[Passage] = []
        self._vecs = np.zeros((0, int(meta["dim"])), dtype=np.float32)
        self._where: dict[str, list[int]] = {}  # document id -> its passages' rows

    @classmethod
    def for_encoder(cls, encoder: Any, name: str = "memory", **meta: Any) -> MemoryCollection:
        """An empty in-memory collection for an encoder's vectors.

        :param meta: more settings, e.g. ``min_score`` (default: none, every hit kept).
        """
        from sentvec.store.base import encoder_metric

        return cls(
            name,
            {
                "name": name,
                "model": encoder.name,
                "fingerprint": encoder.fingerprint,
                "dim": encoder.dim,
                "metric": encoder_metric(encoder),
                "layout": LAYOUT,
                "columns": {},
                "index": None,
                "chunking": None,
                **meta,
            },
        )

    @classmethod
    def _create(cls, location: Any, name: str, meta: dict[str, Any], exist_ok: bool) -> Collection:
        return cls(name, meta)

    @classmethod
    def _open(cls, location: Any, name: str) -> Collection:
        raise SentvecError("an in-memory collection cannot be opened again; make a new one.")

    def _stored_docs(self) -> set[str]:
        return set(self._where)

    def _write(
        self, passages: list[Passage], vectors: np.ndarray, upsert: bool
    ) -> tuple[int, int, int]:
        vectors = self._prepare(passages, vectors)
        docs = list(dict.fromkeys(p.doc_id for p in passages))
        stored = {d for d in docs if d in self._where}
        if upsert and stored:
            self._remove(stored)
        keep = [j for j, p in enumerate(passages) if upsert or p.doc_id not in stored]
        for j in keep:
            self._where.setdefault(passages[j].doc_id, []).append(len(self._passages))
            self._passages.append(passages[j])
        self._vecs = np.concatenate([self._vecs, vectors[keep]])
        return len(docs) - len(stored), len(stored) if upsert else 0, len(keep)

    def _remove(self, docs: set[str]) -> None:
        keep = [j for j, p in enumerate(self._passages) if p.doc_id not in docs]
        self._passages = [self._passages[j] for j in keep]
        self._vecs = self._vecs[keep]
        self._where = {}
        for j, p in enumerate(self._passages):
            self._where.setdefault(p.doc_id, []).append(j)

    def _begin_ingest(self) -> Any:
        return list(self._passages), self._vecs.copy()

    def _undo_ingest(self, state: Any) -> None:
        self._passages, self._vecs = list(state[0]), state[1]
        self._where = {}
        for j, p in enumerate(self._passages):
            self._where.setdefault(p.doc_id, []).append(j)

    def _no_filters(self, node: flt.Node | None) -> None:
        if node is not None:
            raise SentvecError(
                "an in-memory search takes no filters. Fix: store the file in a collection "
                "(`sentvec index add NAME FILE`) and search it with --where/--filter."
            )

    def _count(self, node: flt.Node | None) -> int:
        if node is not None and node[:2] == ("in", "id"):
            return len(set(node[2]) & set(self._where))
        self._no_filters(node)
        return len(self._where)

    def _count_passages(self) -> int:
        return len(self._passages)

    def _delete(self, node: flt.Node) -> int:
        if node[:2] != ("in", "id"):
            self._no_filters(node)
        gone = set(node[2]) & set(self._where)
        self._remove(gone)
        return len(gone)

    def _vector_search(
        self, vector: np.ndarray, k: int, node: flt.Node | None, exact: bool | None
    ) -> list[Hit]:
        self._no_filters(node)
        if not self._passages:
            return []
        q = self._normalise(vector[None, :])[0]
        scores = self._vecs @ q
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [self._hit(int(j), float(scores[j])) for j in top]

    def _hit(self, j: int, score: float) -> Hit:
        p = self._passages[j]
        return Hit(
            p.doc_id,
            p.text,
            score,
            p.metadata,
            title=p.title,
            passage=p.index,
            start=p.start,
            end=p.end,
            pid=p.id,
        )

    def _text_search(self, text: str, k: int, node: flt.Node | None) -> list[Hit]:
        raise SentvecError(
            "an in-memory search is by meaning only. Fix: store the file in a collection "
            "(`sentvec index add NAME FILE`) for text and hybrid search."
        )

    def _documents(self, ids: Sequence[str]) -> list[Hit]:
        out = []
        for i in ids:
            if i in self._where:
                p = self._passages[self._where[i][0]]
                doc = p.document or p.text
                out.append(Hit(i, doc, 1.0, p.metadata, title=p.title, end=len(doc), pid=p.id))
        return out

    def _vectors(self, pids: Sequence[str]) -> dict[str, np.ndarray]:
        want = set(pids)
        return {p.id: self._vecs[j] for j, p in enumerate(self._passages) if p.id in want}

    def _scan(self, batch_size: int = 65536) -> Iterator[tuple[list[str], np.ndarray]]:
        for a in range(0, len(self._passages), batch_size):
            yield [p.id for p in self._passages[a : a + batch_size]], self._vecs[a : a + batch_size]

    def _save_meta(self) -> None:
        pass  # nothing persists

    def refresh_indexes(self, auto_index_rows: int | None = None) -> None:
        pass  # exact search needs no index

    def build_index(self, **settings: Any) -> dict[str, Any]:
        raise SentvecError("an in-memory collection is searched exactly; it has no index.")

    def versions(self) -> list[dict[str, Any]]:
        return []

    def restore(self, version: int) -> None:
        raise SentvecError("an in-memory collection keeps no versions.")

    def drop(self) -> None:
        self._passages, self._where = [], {}
        self._vecs = self._vecs[:0]

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "backend": self.backend,
            "documents": len(self._where),
            "passages": len(self._passages),
            "dim": self.meta["dim"],
            "model": self.meta["model"],
            "metric": self.meta["metric"],
            "chunking": self.meta.get("chunking"),
            "min_score": self.meta.get("min_score"),
        }


__all__ = ["MemoryCollection"]
