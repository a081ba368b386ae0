"""Dynamic batching: concurrent requests merged into one model call by a token budget.

This module knows nothing about HTTP (no FastAPI import), so it is tested on its own. Each
request is a :class:`Job` (its texts and their token count); one worker task takes the
oldest job, then keeps taking queued jobs while the batch stays within ``max_batch_tokens``,
waiting at most ``max_wait_s`` for more to arrive, and runs the model in a single worker
thread, so the event loop (and ``/health``) keeps answering while the model works. While a
batch runs, the next one gathers. The queue is bounded by a count of texts: a request that
would overfill it is refused at once with :class:`QueueFullError` (HTTP 429).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from sentvec.errors import SentvecError

EmbedFn = Callable[[list[str]], np.ndarray]
BatchHook = Callable[[int, int, float], None]  # (texts, tokens, seconds) of one model call


class QueueFullError(SentvecError):
    """The queue holds too many texts; the client should retry after ``retry_after`` s."""

    def __init__(self, queued: int, limit: int, retry_after: int) -> None:
        self.queued, self.limit, self.retry_after = queued, limit, retry_after
        super().__init__(
            f"the server is busy: {queued} texts are queued (limit {limit}). "
            f"Fix: retry after {retry_after} s, or send fewer texts at once."
        )


@dataclass
class Job:
    """One request's texts, their token count, and the future its vectors go to."""

    texts: list[str]
    tokens: int
    future: asyncio.Future[np.ndarray] = field(repr=False)


class BatchQueue:
    """Merge concurrent :meth:`submit` calls into batches for one model.

    >>> q = BatchQueue(lambda texts: encoder.encode(texts), max_batch_tokens=8192)
    >>> vectors = await q.submit(["a text"], tokens=4)
    """

    def __init__(
        self,
        embed: EmbedFn,
        *,
        max_batch_tokens: int = 8192,
        max_wait_s: float = 0.002,
        max_queued: int = 4096,
        on_batch: BatchHook | None = None,
    ) -> None:
        """:param embed: texts -> (len(texts), dim) float32, in order (runs in a worker thread).
        :param max_batch_tokens: most tokens in one merged batch (a bigger request runs alone).
        :param max_wait_s: longest wait for more requests once one is queued.
        :param max_queued: most texts waiting; past it :meth:`submit` raises QueueFullError.
        :param on_batch: called after each model call with (texts, tokens, seconds).
        """
        if max_batch_tokens < 1 or max_queued < 1 or max_wait_s < 0:
            raise SentvecError(
                "batch queue limits must be positive: "
                f"max_batch_tokens={max_batch_tokens}, max_queued={max_queued}, "
                f"max_wait_s={max_wait_s}"
            )
        self.embed, self.on_batch = embed, on_batch
        self.max_batch_tokens, self.max_wait_s, self.max_queued = (
            max_batch_tokens,
            max_wait_s,
            max_queued,
        )
        self._jobs: deque[Job] = deque()
        self._queued_texts = 0
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sentvec-infer")
        self._busy_s = 0.05  # running mean of a batch's duration, for Retry-After

    @property
    def depth(self) -> int:
        """Texts waiting (not counting the batch running now)."""
        return self._queued_texts

    async def submit(self, texts: Sequence[str], tokens: int) -> np.ndarray:
        """Queue texts and wait for their vectors.

        :param texts: the texts of one request.
        :param tokens: their token count (for the batch budget).
        :return: (len(texts), dim) float32, in input order.
        :raises QueueFullError: the queue is full.
        """
        if not texts:
            raise SentvecError("no texts to embed. Fix: send at least one text.")
        if self._queued_texts + len(texts) > self.max_queued:
            waits = (self._queued_texts + len(texts)) / self.max_queued
            retry = max(1, round(self._busy_s * (1 + waits)))
            raise QueueFullError(self._queued_texts, self.max_queued, retry)
        loop = asyncio.get_running_loop()
        self._start(loop)
        job = Job(list(texts), int(tokens), loop.create_future())
        self._jobs.append(job)
        self._queued_texts += len(job.texts)
        assert self._wake is not None
        self._wake.set()
        return await job.future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._worker is None or self._worker.done():
            self._wake = asyncio.Event()
            self._worker = loop.create_task(self._run(), name="sentvec-batcher")

    def _take(self) -> Job:
        job = self._jobs.popleft()
        self._queued_texts -= len(job.texts)
        return job

    async def _gather(self) -> list[Job]:
        """The next batch: the oldest job, plus more while the token budget allows."""
        assert self._wake is not None
        while not self._jobs:
            self._wake.clear()
            await self._wake.wait()
        batch = [self._take()]
        tokens = batch[0].tokens
        deadline = time.monotonic() + self.max_wait_s
        while tokens < self.max_batch_tokens:
            if not self._jobs:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), left)
                continue
            if tokens + self._jobs[0].tokens > self.max_batch_tokens:
                break
            job = self._take()
            batch.append(job)
            tokens += job.tokens
        return [j for j in batch if not j.future.done()]  # drop requests whose client left

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._gather()
            if not batch:
                continue
            texts = [t for j in batch for t in j.texts]
            tokens = sum(j.tokens for j in batch)
            start = time.perf_counter()
            try:
                vectors = await loop.run_in_executor(self._pool, self.embed, texts)
            except Exception as e:  # the model failed: every request of the batch learns why
                for j in batch:
                    if not j.future.done():
                        j.future.set_exception(e)
                continue
            took = time.perf_counter() - start
            self._busy_s = 0.8 * self._busy_s + 0.2 * took
            if self.on_batch is not None:
                self.on_batch(len(texts), tokens, took)
            start_row = 0
            for j in batch:
                part = vectors[start_row : start_row + len(j.texts)]
                start_row += len(j.texts)
                if not j.future.done():
                    j.future.set_result(part)

    async def close(self) -> None:
        """Stop the worker; queued requests fail."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        while self._jobs:
            job = self._take()
            if not job.future.done():
                job.future.set_exception(SentvecError("the server is shutting down"))
        self._pool.shutdown(wait=False, cancel_futures=True)


__all__ = ["BatchQueue", "Job", "QueueFullError"]
