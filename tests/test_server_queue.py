"""The batching queue on its own (no HTTP): merging, token budget, bound, errors, liveness."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from sentvec.server.queue import BatchQueue, QueueFullError


def fake_embed(calls: list[list[str]], delay: float = 0.0):
    """A model whose vector of a text is (len, first char code): any mix-up shows."""

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        if delay:
            time.sleep(delay)
        return np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32)

    return embed


def expected(texts: list[str]) -> np.ndarray:
    return np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32)


def test_concurrent_requests_merge_and_each_gets_its_own_rows():
    calls: list[list[str]] = []

    async def main():
        q = BatchQueue(fake_embed(calls, 0.02), max_batch_tokens=10_000, max_wait_s=0.01)
        jobs = [[f"{chr(97 + i % 26)}{'x' * i}", f"{chr(65 + i % 26)}"] for i in range(40)]
        out = await asyncio.gather(*(q.submit(j, tokens=3) for j in jobs))
        await q.close()
        return jobs, out

    jobs, out = asyncio.run(main())
    for j, v in zip(jobs, out):
        np.testing.assert_array_equal(v, expected(j))
    assert len(calls) < len(jobs) / 4  # merged: far fewer model calls than requests
    assert sum(len(c) for c in calls) == 80


def test_token_budget_caps_each_batch():
    calls: list[list[str]] = []

    async def main():
        q = BatchQueue(fake_embed(calls, 0.01), max_batch_tokens=10, max_wait_s=0.01)
        await asyncio.gather(*(q.submit([f"t{i}"], tokens=4) for i in range(12)))
        big = await q.submit(["a", "b", "c"], tokens=50)  # over budget: runs alone
        await q.close()
        return big

    big = asyncio.run(main())
    np.testing.assert_array_equal(big, expected(["a", "b", "c"]))
    assert all(len(c) * 4 <= 10 for c in calls[:-1])  # 2 jobs of 4 tokens at most
    assert calls[-1] == ["a", "b", "c"]


def test_full_queue_refuses_with_retry_after():
    release = threading.Event()

    def blocked(texts: list[str]) -> np.ndarray:
        release.wait(5)
        return expected(texts)

    async def main():
        q = BatchQueue(blocked, max_batch_tokens=1, max_wait_s=0, max_queued=3)
        first = asyncio.ensure_future(q.submit(["a"], 1))
        await asyncio.sleep(0.05)  # the worker takes it: the model is now busy
        waiting = [asyncio.ensure_future(q.submit([c], 1)) for c in "bcd"]
        await asyncio.sleep(0.01)
        assert q.depth == 3
        with pytest.raises(QueueFullError) as err:
            await q.submit(["e"], 1)
        release.set()
        out = await asyncio.gather(first, *waiting)
        await q.close()
        return err.value, out

    err, out = asyncio.run(main())
    assert err.retry_after >= 1 and "retry after" in str(err)
    assert [v[0, 1] for v in out] == [ord(c) for c in "abcd"]


def test_event_loop_answers_while_the_model_works():
    async def main():
        q = BatchQueue(fake_embed([], delay=0.5), max_wait_s=0)
        task = asyncio.ensure_future(q.submit(["slow"], 1))
        ticks, start = 0, time.perf_counter()
        while not task.done():
            await asyncio.sleep(0.01)
            ticks += 1
        await q.close()
        return ticks, time.perf_counter() - start

    ticks, took = asyncio.run(main())
    assert took >= 0.45 and ticks >= 20  # the loop kept running during the 0.5 s call


def test_model_error_reaches_every_request_and_queue_keeps_working():
    state = {"fail": True}

    def flaky(texts: list[str]) -> np.ndarray:
        time.sleep(0.02)
        if state["fail"]:
            state["fail"] = False
            raise RuntimeError("boom")
        return expected(texts)

    async def main():
        q = BatchQueue(flaky, max_wait_s=0.01)
        results = await asyncio.gather(*(q.submit([c], 1) for c in "abc"), return_exceptions=True)
        after = await q.submit(["z"], 1)
        await q.close()
        return results, after

    results, after = asyncio.run(main())
    assert any(isinstance(r, RuntimeError) for r in results)
    np.testing.assert_array_equal(after, expected(["z"]))


def test_cancelled_request_does_not_break_the_batch():
    async def main():
        q = BatchQueue(fake_embed([], 0.05), max_wait_s=0.02)
        gone = asyncio.ensure_future(q.submit(["gone"], 1))
        kept = asyncio.ensure_future(q.submit(["kept"], 1))
        await asyncio.sleep(0)
        gone.cancel()
        out = await kept
        await q.close()
        return out

    np.testing.assert_array_equal(asyncio.run(main()), expected(["kept"]))


def test_bad_limits_are_refused():
    from sentvec.errors import SentvecError

    with pytest.raises(SentvecError, match="max_queued"):
        BatchQueue(lambda t: expected(t), max_queued=0)


def test_workers_are_onnx_lanes_sharing_the_cores():
    from sentvec.backends.onnx.runtime import physical_cores
    from sentvec.server.settings import Settings

    cores = physical_cores()
    assert Settings(backend="onnx-int8").backend_options() == {"threads": cores, "lanes": cores}
    assert Settings(backend="onnx", workers=1).backend_options() == {"threads": cores, "lanes": 1}
    assert Settings(backend="onnx", workers=cores + 2).backend_options() == {
        "threads": cores + 2,
        "lanes": cores + 2,
    }
    assert Settings(backend="torch", workers=4).backend_options() == {}
