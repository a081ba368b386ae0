"""The persistent collection: ``pip install 'sentvec[store]'`` (LanceDB, embedded, the
default) or ``'sentvec[postgres]'`` (PostgreSQL + pgvector).

A collection holds documents of any length, stored as passages (see
:mod:`sentvec.documents`). Where it lives picks the backend: a folder gives LanceDB, a
``postgresql://`` URI gives PostgreSQL (HNSW index, cosine; ``tsvector`` full-text search).
Both implement the same :class:`Collection` API, checked by one test suite:

- :func:`open_collection`, :func:`create_collection`, :func:`for_encoder` (open, or create
  for a model), :func:`collection_exists`, :func:`list_collections`
- ``add(records, encoder)`` (idempotent by document id; concurrent writers never store a
  document twice; a kill never leaves one half stored; a failed ingest leaves the collection
  as it was), ``upsert(records, encoder)`` (replaces all of a document's passages),
  ``add_passages``, ``add_vectors``
- ``search(text, k, encoder=, vector=, mode="vector"|"text"|"hybrid", where=, filters=,
  passages=, min_score=)`` returning :class:`Hits` of :class:`Hit` (a document shown by its
  best passage, with the sentence that answers; ``score`` = cosine for vector and hybrid
  search; hybrid hits also carry ``fused`` in 0..1 and ``text_score``; an empty result says
  why, e.g. "no good match")
- ``delete(ids=, where=, filters=)``, ``count(where=, filters=)``, ``get(ids)``,
  ``document(id)``, ``info()``, ``versions()``, ``restore(version)`` (LanceDB),
  ``build_index()``, ``drop()``

Filters are never pasted into SQL: ``where`` is parsed as one condition on known columns
(:mod:`sentvec.store.filters`), ``filters={"category": "billing"}`` (a list means IN) is
rendered as quoted literals for LanceDB and bound parameters for PostgreSQL.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentvec.errors import InvalidChoiceError
from sentvec.store.base import (
    AUTO_INDEX_ROWS,
    METRICS,
    Collection,
    IngestReport,
    Store,
    encoder_metric,
)
from sentvec.store.columns import LAYOUT, check_name
from sentvec.store.errors import (
    CollectionNotFoundError,
    FilterError,
    MetadataTypeError,
    ModelMismatchError,
)
from sentvec.store.fusion import rrf
from sentvec.store.hits import Hit, Hits
from sentvec.store.location import default_root, is_postgres, sentvec_home

if TYPE_CHECKING:
    from sentvec.encoder import Encoder

# The default "no good match" minimum per model: the cosine that keeps most answerable
# queries and drops most queries from another domain (BENCHMARKS.md, "No good match").
# Models not listed get none (every hit is kept) until a collection sets its own.
MIN_SCORES = {"sentence-transformers/all-MiniLM-L6-v2": 0.3}


def default_min_score(model: str) -> float | None:
    """The measured "no good match" minimum for a model name, or None if unmeasured."""
    return MIN_SCORES.get(model)


def _backend(location: str | Path) -> type[Collection]:
    if is_postgres(location):
        from sentvec.store.postgres import PostgresCollection

        return PostgresCollection
    from sentvec.store.lance import LanceCollection

    return LanceCollection


def create_collection(
    location: str | Path,
    name: str,
    *,
    dim: int,
    model: str,
    fingerprint: str,
    metric: str = "cosine",
    extra: dict[str, Any] | None = None,
    exist_ok: bool = False,
) -> Collection:
    """Make an empty collection (or open it if ``exist_ok`` and the model matches).

    :param location: a folder (LanceDB) or a ``postgresql://`` URI.
    :param name: the collection's name (see :func:`~sentvec.store.columns.check_name`).
    :param dim: vector length.
    :param model: name of the model that makes the vectors (shown in errors).
    :param fingerprint: the model's :attr:`Encoder.fingerprint`; other fingerprints are refused.
    :param metric: ``cosine`` or ``dot``.
    :param extra: more settings to record (e.g. ``min_score``, the hash of the source file).
    :param exist_ok: open an existing collection instead of failing.
    :return: the collection.
    """
    if metric not in METRICS:
        raise InvalidChoiceError("collection metric", metric, METRICS)
    meta = {
        "name": check_name(name),
        "model": model,
        "fingerprint": fingerprint,
        "dim": int(dim),
        "metric": metric,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "layout": LAYOUT,
        "columns": {},
        "index": None,
        "chunking": None,
        "min_score": default_min_score(model),
        **(extra or {}),
    }
    col = _backend(location)._create(location, name, meta, exist_ok)
    col._check_fingerprint(model, fingerprint)
    return col


def open_collection(location: str | Path, name: str) -> Collection:
    """Open an existing collection (one made before documents is migrated on opening: each
    stored text becomes a one-passage document).

    :raises CollectionNotFoundError: naming the collections that do exist.
    """
    return _backend(location)._open(location, check_name(name))


def collection_exists(location: str | Path, name: str) -> bool:
    """Whether a collection of that name exists at ``location``."""
    return check_name(name) in list_collections(location)


def for_encoder(
    location: str | Path, name: str, encoder: Encoder, min_score: float | None = None
) -> Collection:
    """Open the collection, or create it for this encoder; refuse another model's vectors.

    :param min_score: the "no good match" minimum of a new collection (default: the
        model's measured one, :func:`default_min_score`).
    """
    extra = {} if min_score is None else {"min_score": float(min_score)}
    return create_collection(
        location,
        name,
        dim=encoder.dim,
        model=encoder.name,
        fingerprint=encoder.fingerprint,
        metric=encoder_metric(encoder),
        extra=extra,
        exist_ok=True,
    )


def list_collections(location: str | Path | None = None) -> list[str]:
    """Names of the collections at ``location`` (default :func:`default_root`)."""
    if location is not None and is_postgres(location):
        from sentvec.store.postgres import list_postgres

        return list_postgres(str(location))
    from sentvec.store.lance import list_lance

    return list_lance(Path(location) if location is not None else default_root())


__all__ = [
    "AUTO_INDEX_ROWS",
    "MIN_SCORES",
    "Collection",
    "CollectionNotFoundError",
    "FilterError",
    "Hit",
    "Hits",
    "IngestReport",
    "MetadataTypeError",
    "ModelMismatchError",
    "Store",
    "collection_exists",
    "create_collection",
    "default_min_score",
    "default_root",
    "for_encoder",
    "is_postgres",
    "list_collections",
    "open_collection",
    "rrf",
    "sentvec_home",
]
