"""Bulk encoding: a corpus larger than memory to vectors on disk, resumably.

:func:`encode_to_shards` (one machine, ``sentvec encode FILE --out DIR``) writes ``.npy``
shards with a manifest; :func:`encode_dataset` (``--engine ray``, extra
``pip install 'sentvec[distributed]'``) cuts the input into blocks and encodes them on a Ray
Data actor pool into Parquet parts. Both read every input through :mod:`sentvec.io`, write
files whole or not at all (:mod:`sentvec.bulk.atomic`) and skip what a killed run finished.
Ray is imported only when a Ray function runs.
"""

from __future__ import annotations

from sentvec.bulk.atomic import atomic_path, write_json_atomic, write_text_atomic
from sentvec.bulk.blocks import Block, plan_blocks, read_block
from sentvec.bulk.ray_engine import DistributedResult, encode_dataset, read_output
from sentvec.bulk.shards import (
    BulkResult,
    ShardError,
    encode_to_shards,
    iter_shards,
    load_shards,
    read_manifest,
)

__all__ = [
    "Block",
    "BulkResult",
    "DistributedResult",
    "ShardError",
    "atomic_path",
    "encode_dataset",
    "encode_to_shards",
    "iter_shards",
    "load_shards",
    "plan_blocks",
    "read_block",
    "read_manifest",
    "read_output",
    "write_json_atomic",
    "write_text_atomic",
]
