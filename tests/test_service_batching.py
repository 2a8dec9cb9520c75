"""MicroBatcher: concurrent callers share kernel calls, each gets its own answers in order,
and work whose deadline passed or whose caller left is never started."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from matcher.service.batching import DeadlinePassed, MicroBatcher


class Recorder:
    """A fake search: answers echo the query, calls are recorded, optionally slow."""

    def __init__(self, delay: float = 0.0, fail: bool = False):
        self.calls: list[list[str]] = []
        self.delay, self.fail = delay, fail
        self.started = threading.Event()

    def __call__(self, queries):
        self.calls.append([q["reference"] for q in queries])
        self.started.set()
        time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("kernel exploded")
        return [{"query": q["reference"], "hits": []} for q in queries]


def _queries(prefix: str, n: int) -> list[dict]:
    return [{"reference": f"{prefix}{i}"} for i in range(n)]


def _run(coroutine):
    return asyncio.run(coroutine)


def test_concurrent_callers_share_one_search_and_get_their_own_answers():
    search = Recorder()

    async def main():
        with ThreadPoolExecutor(1) as pool:
            batcher = MicroBatcher(search, pool, max_wait_s=0.05, max_queries=64)
            results = await asyncio.gather(*(batcher.search(_queries(f"c{c}-", 1 + c % 3))
                                             for c in range(20)))
            await batcher.close()
            return results, batcher

    results, batcher = _run(main())
    for c, answers in enumerate(results):
        assert [a["query"] for a in answers] == [f"c{c}-{i}" for i in range(1 + c % 3)]
    assert len(search.calls) == 1 and batcher.batches == 1
    assert batcher.searched == sum(1 + c % 3 for c in range(20))


def test_batches_are_capped_and_a_busy_kernel_lets_the_next_batch_form():
    search = Recorder(delay=0.02)

    async def main():
        with ThreadPoolExecutor(1) as pool:
            batcher = MicroBatcher(search, pool, max_wait_s=0.0, max_queries=8)
            first = asyncio.ensure_future(batcher.search(_queries("a", 1)))
            await asyncio.sleep(0.005)              # the lone query runs alone ...
            rest = [batcher.search(_queries(f"b{i}-", 2)) for i in range(10)]
            out = await asyncio.gather(first, *rest)  # ... the others queue meanwhile
            await batcher.close()
            return out

    out = _run(main())
    assert [len(a) for a in out] == [1] + [2] * 10
    assert search.calls[0] == ["a0"]
    assert all(len(call) <= 8 for call in search.calls)
    assert len(search.calls) == 1 + 3                  # 20 queued queries in batches of <= 8


def test_expired_deadline_is_refused_without_searching():
    search = Recorder()

    async def main():
        with ThreadPoolExecutor(1) as pool:
            batcher = MicroBatcher(search, pool, max_wait_s=0.001)
            with pytest.raises(DeadlinePassed):
                await batcher.search(_queries("late", 2), deadline=time.monotonic() - 0.001)
            ok = await batcher.search(_queries("ok", 1), deadline=time.monotonic() + 5)
            await batcher.close()
            return ok

    assert _run(main()) == [{"query": "ok0", "hits": []}]
    assert search.calls == [["ok0"]]


def test_cancelled_caller_is_dropped_before_its_batch_starts():
    search = Recorder(delay=0.05)

    async def main():
        with ThreadPoolExecutor(1) as pool:
            batcher = MicroBatcher(search, pool, max_wait_s=0.0)
            busy = asyncio.ensure_future(batcher.search(_queries("busy", 1)))
            await asyncio.get_running_loop().run_in_executor(None, search.started.wait, 1)
            gone = asyncio.ensure_future(batcher.search(_queries("gone", 1)))
            await asyncio.sleep(0)
            gone.cancel()
            kept = await batcher.search(_queries("kept", 1))
            await busy
            await batcher.close()
            return kept

    assert _run(main()) == [{"query": "kept0", "hits": []}]
    assert ["gone0"] not in search.calls and all("gone0" not in c for c in search.calls)


def test_a_failing_search_fails_every_caller_of_its_batch_and_the_batcher_goes_on():
    search = Recorder(fail=True)

    async def main():
        with ThreadPoolExecutor(1) as pool:
            batcher = MicroBatcher(search, pool, max_wait_s=0.01)
            results = await asyncio.gather(batcher.search(_queries("x", 1)),
                                           batcher.search(_queries("y", 1)),
                                           return_exceptions=True)
            search.fail = False
            again = await batcher.search(_queries("z", 1))
            await batcher.close()
            return results, again

    results, again = _run(main())
    assert all(isinstance(r, RuntimeError) for r in results)
    assert again == [{"query": "z0", "hits": []}]


def test_a_lone_query_does_not_wait_but_announced_companions_are_awaited():
    search = Recorder()

    async def main():
        with ThreadPoolExecutor(1) as pool:
            batcher = MicroBatcher(search, pool, max_wait_s=0.5, max_queries=64)
            started = time.monotonic()
            await batcher.search(_queries("alone", 1))         # nobody announced: no wait
            alone = time.monotonic() - started
            ticket = batcher.expect()                          # a request on its way ...

            async def later():
                await asyncio.sleep(0.05)
                return await batcher.search(_queries("late", 1), ticket=ticket)

            together = await asyncio.gather(batcher.search(_queries("early", 1)), later())
            await batcher.close()
            return alone, together

    alone, together = _run(main())
    assert alone < 0.25
    assert [a[0]["query"] for a in together] == ["early0", "late0"]
    assert search.calls == [["alone0"], ["early0", "late0"]]   # ... was waited for


def test_a_ticket_given_back_ends_the_wait():
    search = Recorder()

    async def main():
        with ThreadPoolExecutor(1) as pool:
            batcher = MicroBatcher(search, pool, max_wait_s=5.0)
            ticket = batcher.expect()
            asyncio.get_running_loop().call_later(0.05, ticket.done)   # refused meanwhile
            started = time.monotonic()
            await batcher.search(_queries("q", 1))
            waited = time.monotonic() - started
            await batcher.close()
            return waited

    assert 0.04 < _run(main()) < 2.0
