"""Bulk encoding on a Ray cluster (extra: ``pip install 'sentvec[distributed]'``).

:func:`encode_dataset` reads text, JSONL or Parquet input with Ray Data, encodes it on a pool of
actors (one model each) and writes one Parquet file per input block, resumably. Ray is imported
only when a function runs, so ``import sentvec.distributed`` stays cheap.
"""

from __future__ import annotations

from sentvec.distributed.ray_encode import (
    DistributedResult,
    encode_dataset,
    read_output,
)

__all__ = ["DistributedResult", "encode_dataset", "read_output"]
