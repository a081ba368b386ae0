"""The served models: each an :class:`Encoder` with its own batching queue."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sentvec.server.errors import APIError
from sentvec.server.queue import BatchHook, BatchQueue

if TYPE_CHECKING:
    from sentvec.encoder import Encoder
    from sentvec.server.settings import Settings

CHARS_PER_TOKEN = 8  # a token covers ~4.5 characters of English; 8 leaves room


def _head(text: str, cap: int) -> str:
    """The first ``cap`` characters of ``text``, cut at the last space (no word split)."""
    cut = text.rfind(" ", 0, cap)
    return text[: cut if cut > 0 else cap]


class VectorCache:
    """The vectors of recently encoded texts, least recently used dropped first.

    Search finds each hit's answering sentence by encoding the sentences of its passage; a
    help centre's popular articles come up again and again, so their sentences are encoded
    once (measured in BENCHMARKS.md, "The page's search route"). Thread-safe: searches run
    in worker threads. Vectors are returned as stored (encoding is batch-invariant, so a
    cached vector equals a fresh one).
    """

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._rows: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        with self._lock:
            found = [self._rows.get(t) for t in texts]
            for t, v in zip(texts, found):
                if v is not None:
                    self._rows.move_to_end(t)
            self.hits += sum(v is not None for v in found)
            self.misses += sum(v is None for v in found)
            return found

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            for t, v in zip(texts, vectors):
                self._rows[t] = v
                self._rows.move_to_end(t)
            while len(self._rows) > self.capacity:
                self._rows.popitem(last=False)


@dataclass
class ServedModel:
    """One model: its name, encoder and queue."""

    name: str
    encoder: Encoder
    queue: BatchQueue
    fingerprint: str = ""
    sentences: VectorCache = field(default_factory=VectorCache)  # answer-sentence vectors

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text as the model sees it (special tokens in, truncated to the limit).

        A long text is counted on its first ``CHARS_PER_TOKEN * limit`` characters (cut at a
        space): when they already fill the model's window, so does the whole text; only a
        text whose head does not is counted in full. So 2,048 texts of 20,000 characters cost
        a few megabytes of tokenizing, not 40.
        """
        tok = self.encoder.tokenizer
        limit = self.encoder.max_seq_length
        cap = CHARS_PER_TOKEN * limit
        heads = [t if len(t) <= cap else _head(t, cap) for t in texts]
        counts = [min(len(ids) + tok.n_special, limit) for ids in tok.content_ids(heads)]
        short = [
            i for i, (t, h) in enumerate(zip(texts, heads)) if h is not t and counts[i] < limit
        ]
        if short:
            full = tok.content_ids([texts[i] for i in short])
            for i, ids in zip(short, full):
                counts[i] = min(len(ids) + tok.n_special, limit)
        return counts

    def prompt_text(self, prompt: str | None) -> str:
        """The text put before each input: the model's prompt named ``prompt``; its default
        prompt for None, or for ``query``/``document`` when the model has no such prompt.

        :raises APIError: 422 for another name the model does not know.
        """
        from sentvec.encoder import ROLES

        spec = self.encoder.spec
        if prompt is None or prompt in ROLES:  # the encoder decides a role's prompt
            return self.encoder.role_prefix(prompt)
        if prompt in spec.prompts:
            return spec.prompts[prompt]
        known = ", ".join(dict.fromkeys([*spec.prompts, *ROLES]))
        raise APIError(422, f"unknown prompt {prompt!r}. Fix: use one of {known}.", param="prompt")

    async def embed(
        self,
        texts: Sequence[str],
        prompt: str = "",
        check: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, int]:
        """Vectors of ``texts`` (``prompt`` put before each) through the batching queue.

        :param check: called with the token count before queueing (may raise).
        :return: (vectors, tokens used).
        :raises APIError: 413 for more texts than the queue can ever hold (retrying cannot
            help, so not 429).
        """
        items = [prompt + t for t in texts] if prompt else list(texts)
        if len(items) > self.queue.max_queued:
            raise APIError(
                413,
                f"the request holds {len(items)} texts (passages) but this server queues at "
                f"most {self.queue.max_queued} per model. Fix: send at most "
                f"{self.queue.max_queued} at once (or start sentvec serve with a larger "
                "--max-queued).",
                code="too_many_items",
            )
        # tokenizing is CPU work: off the event loop, so /health and other requests go on
        tokens = sum(await asyncio.to_thread(self.count_tokens, items))
        if check is not None:
            check(tokens)
        return await self.queue.submit(items, tokens), tokens


def encode_fn(encoder: Encoder, batch_size: int = 64) -> Callable[[list[str]], np.ndarray]:
    """What the queue calls: plain :meth:`Encoder.encode` (prompts are already applied).

    ``encode`` sorts a merged batch by length and runs it in forward passes of
    ``batch_size`` texts, so short texts are not padded to the longest of the batch; with an
    onnx backend the passes run side by side, one per lane (a single-threaded session per core).
    """

    def run(texts: list[str]) -> np.ndarray:
        return encoder.encode(texts, prompt="", batch_size=batch_size, show_progress=False)

    return run


def serve_model(name: str, encoder: Encoder, settings: Settings, hook: BatchHook) -> ServedModel:
    """Wrap an encoder with a queue configured from ``settings``."""
    queue = BatchQueue(
        encode_fn(encoder, settings.encode_batch_size),
        max_batch_tokens=settings.max_batch_tokens,
        max_wait_s=settings.max_wait_ms / 1000,
        max_queued=settings.max_queued,
        on_batch=hook,
    )
    return ServedModel(
        name, encoder, queue, encoder.fingerprint, VectorCache(settings.answer_cache)
    )


__all__ = ["ServedModel", "VectorCache", "encode_fn", "serve_model"]
