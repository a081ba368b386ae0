"""The web page's map of a collection: 2-D points, clusters and their keywords."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentvec.store import Collection

MAX_CLUSTERS = 12
TEXT_CHARS = 400  # of a document's text shown beside its point


def document_vectors(col: Collection) -> tuple[list[str], np.ndarray]:
    """One vector per document: the normalised mean of its passages' vectors.

    :return: document ids (in storage order) and their (n, dim) vectors.
    """
    from sentvec.documents import PASSAGE_SEP

    sums: dict[str, np.ndarray] = {}
    for pids, vectors in col._scan():  # both backends: every (passage keys, vectors) batch
        for pid, v in zip(pids, np.asarray(vectors, dtype=np.float32), strict=True):
            doc = pid.rsplit(PASSAGE_SEP, 1)[0]
            sums[doc] = sums[doc] + v if doc in sums else v.copy()
    ids = list(sums)
    x = np.stack([sums[i] for i in ids]) if ids else np.zeros((0, col.meta["dim"]), np.float32)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return ids, x


def _label_text(hit: Any) -> str:
    """A document as the map shows it: title, then the start of its text."""
    body = " ".join(hit.text.split())[:TEXT_CHARS]
    return f"{hit.title}. {body}" if hit.title else body


def collection_map(col: Collection, max_points: int = 5000, seed: int = 0) -> dict[str, Any]:
    """Cluster and project (a sample of) a collection for drawing.

    :param col: the collection.
    :param max_points: most rows drawn (a seeded random sample beyond).
    :return: ``points`` [{id, x, y, cluster, text}] and ``clusters`` [{id, size, keywords,
        label, x, y}], x and y scaled to 0..1.
    """
    from sentvec.apps.cluster import cluster
    from sentvec.apps.plot import reduce_2d

    n = len(col)
    if n == 0:
        return {"points": [], "clusters": [], "method": None}
    ids, x = document_vectors(col)
    if len(ids) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(ids), max_points, replace=False))
        ids, x = [ids[i] for i in keep], x[keep]
    by_id = {h.id: h for h in col.get(ids)}
    texts = [_label_text(by_id[i]) if i in by_id else "" for i in ids]
    if len(x) >= 3:
        result = cluster(texts, vectors=x, k_max=min(MAX_CLUSTERS, len(x) - 1), seed=seed)
        labels, clusters = result.labels, result.clusters
    else:
        labels, clusters = np.zeros(len(x), dtype=np.int64), []
    xy, method = reduce_2d(x, seed=seed)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    xy = (xy - lo) / np.maximum(hi - lo, 1e-9)
    return {
        "method": method,
        "points": [
            {"id": i, "x": float(p[0]), "y": float(p[1]), "cluster": int(c), "text": t}
            for i, p, c, t in zip(ids, xy, labels, texts, strict=True)
        ],
        "clusters": [
            {
                "id": cl.id,
                "size": cl.size,
                "keywords": cl.keywords,
                "label": ", ".join(cl.keywords[:3]) or f"cluster {cl.id}",
                "x": float(xy[cl.members, 0].mean()),
                "y": float(xy[cl.members, 1].mean()),
            }
            for cl in clusters
        ],
    }


__all__ = ["collection_map"]
