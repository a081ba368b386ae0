"""The persistent collection (LanceDB): ``pip install 'sentvec[store]'``."""

from sentvec.store.collection import (
    AUTO_INDEX_ROWS,
    Collection,
    Hit,
    IngestReport,
    default_root,
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
    "default_root",
    "list_collections",
    "rrf",
    "sentvec_home",
]
