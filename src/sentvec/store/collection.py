"""Kept for existing imports: the collection now lives in :mod:`sentvec.store.base` (the
interface) with one module per backend (:mod:`sentvec.store.lance`,
:mod:`sentvec.store.postgres`)."""

from sentvec.store.base import (
    AUTO_INDEX_ROWS,
    Collection,
    Hit,
    IngestReport,
    default_root,
    list_collections,
    rrf,
    sentvec_home,
)

__all__ = [
    "AUTO_INDEX_ROWS",
    "Collection",
    "Hit",
    "IngestReport",
    "default_root",
    "list_collections",
    "rrf",
    "sentvec_home",
]
