"""The persistent collection: ``pip install 'sentvec[store]'`` (LanceDB, embedded, the
default) or ``'sentvec[postgres]'`` (PostgreSQL + pgvector).

Where a collection lives picks the backend: a folder gives LanceDB, a ``postgresql://`` URI
gives PostgreSQL (HNSW index, cosine; ``tsvector`` full-text search). Both implement the same
:class:`Collection` API, checked by one test suite:

- ``Collection.create(location, name, dim=, model=, fingerprint=)``,
  ``Collection.open(location, name)``, ``Collection.for_encoder(location, name, encoder)``
- ``add(records, encoder)`` (idempotent by id; concurrent writers never store an id twice;
  a failed ingest leaves the collection as it was), ``upsert(records, encoder)``,
  ``add_vectors(ids, vectors, texts, metadata)``
- ``search(query, k, encoder=, mode="vector"|"text"|"hybrid", where=, filters=, exact=)``
  returning :class:`Hit` (``score`` = cosine for vector and hybrid search; hybrid hits also
  carry ``fused`` in 0..1 and ``text_score``)
- ``delete(ids=, where=, filters=)``, ``count(where=, filters=)``, ``get(ids)``, ``info()``,
  ``versions()``, ``restore(version)`` (LanceDB), ``build_index()``, ``drop()``

Filters are never pasted into SQL: ``where`` is parsed as one condition on known columns
(:mod:`sentvec.store.filters`), ``filters={"category": "billing"}`` (a list means IN) is
rendered as quoted literals for LanceDB and bound parameters for PostgreSQL.
"""

from sentvec.store.base import (
    AUTO_INDEX_ROWS,
    Collection,
    Hit,
    IngestReport,
    Store,
    default_root,
    is_postgres,
    list_collections,
    rrf,
    sentvec_home,
)
from sentvec.store.errors import (
    CollectionNotFoundError,
    FilterError,
    MetadataTypeError,
    ModelMismatchError,
)

__all__ = [
    "AUTO_INDEX_ROWS",
    "Collection",
    "CollectionNotFoundError",
    "FilterError",
    "Hit",
    "IngestReport",
    "MetadataTypeError",
    "ModelMismatchError",
    "Store",
    "default_root",
    "is_postgres",
    "list_collections",
    "rrf",
    "sentvec_home",
]
