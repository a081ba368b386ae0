"""The web page's map of a collection: 2-D points, clusters and their keywords."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentvec.store import Collection

MAX_CLUSTERS = 12


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
    id_parts, vec_parts = [], []
    for batch_ids, batch_vectors in col._scan():  # both backends: every (ids, vectors) batch
        id_parts.extend(batch_ids)
        vec_parts.append(np.asarray(batch_vectors, dtype=np.float32))
    x = np.concatenate(vec_parts)
    if len(id_parts) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(id_parts), max_points, replace=False))
        id_parts, x = [id_parts[i] for i in keep], x[keep]
    ids = id_parts
    by_id = {h.id: h.text for h in col._get(ids)}
    texts = [by_id.get(i, "") for i in ids]
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
