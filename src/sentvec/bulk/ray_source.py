"""The Ray Data datasource of planned blocks (imports ray: load only when encoding)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask

from sentvec.bulk.blocks import Block, read_block


class BlockSource(Datasource):
    """One read task per planned block, so every block reaches an actor on its own."""

    def __init__(self, blocks: list[Block], text_field: str | None, id_field: str | None) -> None:
        self.blocks, self.text_field, self.id_field = blocks, text_field, id_field

    def estimate_inmemory_data_size(self) -> int | None:
        """Input bytes (text and JSONL byte ranges; Parquet unknown, counted as 0)."""
        return sum(b.stop - b.start for b in self.blocks if b.kind != "parquet")

    def get_read_tasks(
        self,
        parallelism: int,
        per_task_row_limit: int | None = None,
        data_context: Any = None,
    ) -> list[ReadTask]:
        """One task per block, whatever ``parallelism`` Ray suggests.

        :param parallelism: ignored: blocks are the unit of resumption.
        :param per_task_row_limit: ignored (no ``limit`` pushdown).
        :param data_context: unused.
        :return: the read tasks.
        """
        return [self._task(b) for b in self.blocks]

    def _task(self, block: Block) -> ReadTask:
        size = block.stop - block.start if block.kind != "parquet" else None
        meta = BlockMetadata(
            num_rows=None, size_bytes=size, input_files=(Path(block.path).name,), exec_stats=None
        )
        fields = self.text_field, self.id_field
        return ReadTask(lambda: [read_block(block, *fields)], meta)
