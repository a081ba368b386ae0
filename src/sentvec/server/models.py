"""The served models: each an :class:`Encoder` (plus replicas, one per worker) with its own
batching queue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sentvec.server.errors import APIError
from sentvec.server.queue import BatchHook, BatchQueue

ROLES = ("query", "document")  # prompt names every model accepts (its default prompt if absent)

if TYPE_CHECKING:
    from sentvec.encoder import Encoder
    from sentvec.server.settings import Settings


@dataclass
class ServedModel:
    """One model: its name, encoder and queue."""

    name: str
    encoder: Encoder
    queue: BatchQueue
    fingerprint: str = ""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text as the model sees it (special tokens in, truncated to the limit)."""
        tok = self.encoder.tokenizer
        limit = self.encoder.max_seq_length
        return [min(len(ids) + tok.n_special, limit) for ids in tok.content_ids(list(texts))]

    def prompt_text(self, prompt: str | None) -> str:
        """The text put before each input: the model's prompt named ``prompt``; its default
        prompt for None, or for ``query``/``document`` when the model has no such prompt.

        :raises APIError: 422 for another name the model does not know.
        """
        spec = self.encoder.spec
        if prompt is not None and prompt in spec.prompts:
            return spec.prompts[prompt]
        if prompt is None or prompt in ROLES:
            name = spec.default_prompt_name
            return spec.prompts.get(name, "") if name else ""
        known = ", ".join([*spec.prompts, *ROLES])
        raise APIError(422, f"unknown prompt {prompt!r}. Fix: use one of {known}.", param="prompt")

    def named_prompt(self, name: str) -> str:
        """The model's prompt called ``name`` (``query``/``document``) if it has one, else ''."""
        return self.prompt_text(name)

    async def embed(
        self,
        texts: Sequence[str],
        prompt: str = "",
        check: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, int]:
        """Vectors of ``texts`` (``prompt`` put before each) through the batching queue.

        :param check: called with the token count before queueing (may raise).
        :return: (vectors, tokens used).
        """
        items = [prompt + t for t in texts] if prompt else list(texts)
        tokens = sum(self.count_tokens(items))
        if check is not None:
            check(tokens)
        return await self.queue.submit(items, tokens), tokens


def encode_fn(encoder: Encoder, batch_size: int = 64) -> Callable[[list[str]], np.ndarray]:
    """What the queue calls: plain :meth:`Encoder.encode` (prompts are already applied).

    ``encode`` sorts a merged batch by length and runs it in forward passes of
    ``batch_size`` texts, so short texts are not padded to the longest of the batch.
    """

    def run(texts: list[str]) -> np.ndarray:
        return encoder.encode(texts, prompt="", batch_size=batch_size, show_progress=False)

    return run


class SplitEncode:
    """A merged batch split across replicas of one model, run at once, one thread each.

    On a CPU, one single-threaded onnxruntime session per core encodes the small batches a
    server sees faster than one session on all cores (no hand-off between threads per
    operator). The texts are sorted by length and cut into contiguous runs of about equal
    characters, so every replica gets similar-length texts and they finish together; the rows
    come back in input order.
    """

    def __init__(self, replicas: Sequence[Encoder], batch_size: int) -> None:
        """:param replicas: copies of one model (same weights), each with its own session.
        :param batch_size: texts per forward pass inside each replica's share."""
        self.runs = [encode_fn(e, batch_size) for e in replicas]
        self.pool = ThreadPoolExecutor(len(replicas), thread_name_prefix="sentvec-replica")

    def __call__(self, texts: list[str]) -> np.ndarray:
        parts = split_by_length(texts, len(self.runs))
        if len(parts) == 1:
            return self.runs[0](texts)
        futures = [
            self.pool.submit(run, [texts[i] for i in part])
            for run, part in zip(self.runs, parts, strict=False)
        ]
        out: np.ndarray | None = None
        for part, future in zip(parts, futures, strict=True):
            vectors = future.result()
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=vectors.dtype)
            out[part] = vectors
        assert out is not None
        return out

    def close(self) -> None:
        """Stop the threads."""
        self.pool.shutdown(wait=False, cancel_futures=True)


def split_by_length(texts: Sequence[str], n: int) -> list[list[int]]:
    """Indices of ``texts`` in at most ``n`` runs of about equal total length, each a run of
    the length-sorted order (so each run pads little).

    >>> split_by_length(["aaaa", "b", "cc", "ddd"], 2)
    [[1, 2, 3], [0]]
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    n = max(1, min(n, len(texts)))
    total = sum(len(t) for t in texts) or 1
    parts: list[list[int]] = [[] for _ in range(n)]
    done = 0
    for i in order:
        size = len(texts[i])
        parts[min(n - 1, (2 * done + size) * n // (2 * total))].append(i)  # by its midpoint
        done += size
    return [p for p in parts if p]


def serve_model(
    name: str, encoder: Encoder | Sequence[Encoder], settings: Settings, hook: BatchHook
) -> ServedModel:
    """Wrap an encoder (or several replicas of one model: a worker each) with a queue
    configured from ``settings``."""
    replicas = [encoder] if not isinstance(encoder, Sequence) else list(encoder)
    encoder = replicas[0]
    embed = (
        SplitEncode(replicas, settings.encode_batch_size)
        if len(replicas) > 1
        else encode_fn(encoder, settings.encode_batch_size)
    )
    queue = BatchQueue(
        embed,
        max_batch_tokens=settings.max_batch_tokens,
        max_wait_s=settings.max_wait_ms / 1000,
        max_queued=settings.max_queued,
        on_batch=hook,
    )
    return ServedModel(name, encoder, queue, encoder.fingerprint)


__all__ = ["ServedModel", "encode_fn", "serve_model"]
