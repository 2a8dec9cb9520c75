"""Micro-batching: concurrent DNA queries of many callers go through the kernel in one call.

The batched DNA kernel compares a tile of the database with every query of a batch while the
tile is in cache, ~2.8x the throughput of a loop of single-query scans (notes/performance.md).
Partners mostly send one profile per request, so without coalescing the service would run the
slow path under exactly the load where throughput matters.

One worker task owns the queue.  Requests announce themselves when they enter the service
(``expect()``) and join the queue once their checks are done.  When the worker is idle and a
request arrives, it waits for companions only while other announced requests are still on
their way, and at most ``max_wait_s`` (or until ``max_queries`` are queued); a lone request
on a quiet node is searched at once.  While a batch runs in the executor, new requests queue
up and form the next batch at once.  Batch size thus follows the load: one query at a time
when the node is quiet, large batches when it is busy.  Only one batch runs at a time: the DNA index is not safe for a
concurrent catch-up, and on this machine a second batch would only share the same core.

Deadlines: a request whose deadline has passed (or whose caller went away) when its batch is
formed is dropped without being searched.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

#: Longest an idle worker waits for announced companions of a lone query (s).  A 1M-profile
#: scan takes ~1.5 ms, so 1 ms adds little latency but lets a burst of callers share a scan.
DEFAULT_MAX_WAIT_S = 0.001
#: Most queries in one kernel call.  Large enough to keep the tiles busy, small enough that a
#: batch of 1M-profile scans stays in the tens of milliseconds (p99 target 50 ms).
DEFAULT_MAX_QUERIES = 64


class DeadlinePassed(Exception):
    """The request's deadline passed before its batch started; nothing was searched."""


class Ticket:
    """A request on its way to the batcher (see ``MicroBatcher.expect``)."""

    __slots__ = ("_batcher",)

    def __init__(self, batcher: "MicroBatcher"):
        self._batcher: MicroBatcher | None = batcher
        batcher._coming += 1

    def done(self) -> None:
        """The request joined the queue or left the service; idempotent."""
        if self._batcher is not None:
            self._batcher._coming -= 1
            self._batcher._wake.set()
            self._batcher = None

    def __enter__(self) -> "Ticket":
        return self

    def __exit__(self, *exc) -> None:
        self.done()


@dataclass(slots=True)
class _Pending:
    queries: Sequence[dict]
    future: asyncio.Future
    deadline: float | None  # time.monotonic() value, or None


class MicroBatcher:
    """Coalesces ``search(queries) -> answers`` calls (answers in query order, one per query)
    from concurrent coroutines into fewer, larger calls run in ``executor``."""

    def __init__(self, search: Callable[[list[dict]], list[dict]], executor: Executor, *,
                 max_wait_s: float = DEFAULT_MAX_WAIT_S,
                 max_queries: int = DEFAULT_MAX_QUERIES):
        self._search = search
        self._executor = executor
        self.max_wait_s = max_wait_s
        self.max_queries = max_queries
        self._queue: deque[_Pending] = deque()
        self._queued_queries = 0
        self._wake = asyncio.Event()
        self._coming = 0          # announced requests not queued yet
        self._worker: asyncio.Task | None = None
        #: Counters for tests and the load benchmark: kernel calls and queries searched.
        self.batches = 0
        self.searched = 0

    def expect(self) -> Ticket:
        """Announce a request that will call ``search`` soon (once its checks are done), so
        an idle worker waits for it rather than searching a lone query just before it
        arrives.  Use as a context manager, or pass it to ``search``."""
        return Ticket(self)

    async def search(self, queries: Sequence[dict], deadline: float | None = None,
                     ticket: Ticket | None = None) -> list[dict]:
        """Answers for ``queries``; raises DeadlinePassed when ``deadline`` (monotonic
        seconds) passes before the search starts.  Cancelling the caller drops its queries
        if their batch has not started yet."""
        if ticket is not None:
            ticket.done()
        if not queries:
            return []
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._run())
        future = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(queries, future, deadline))
        self._queued_queries += len(queries)
        self._wake.set()
        return await future

    async def close(self) -> None:
        """Stop the worker; queued requests fail with CancelledError."""
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None
        while self._queue:
            self._queue.popleft().future.cancel()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._queue:
                continue
            if self._queued_queries < self.max_queries and self._coming and self.max_wait_s > 0:
                # Idle until now, and others are on their way: let them join this batch.
                await self._gather_companions()
            while self._queue:
                batch = self._take_batch()
                if batch:
                    await self._run_batch(batch)

    async def _gather_companions(self) -> None:
        end = time.monotonic() + self.max_wait_s
        while self._queued_queries < self.max_queries and self._coming:
            left = end - time.monotonic()
            if left <= 0:
                return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), left)
            except TimeoutError:
                return

    def _take_batch(self) -> list[_Pending]:
        now = time.monotonic()
        batch: list[_Pending] = []
        size = 0
        while self._queue:
            item = self._queue[0]
            if batch and size + len(item.queries) > self.max_queries:
                break
            self._queue.popleft()
            self._queued_queries -= len(item.queries)
            if item.future.done():  # the caller was cancelled
                continue
            if item.deadline is not None and item.deadline <= now:
                item.future.set_exception(DeadlinePassed())
                continue
            batch.append(item)
            size += len(item.queries)
        return batch

    async def _run_batch(self, batch: list[_Pending]) -> None:
        queries = [q for item in batch for q in item.queries]
        loop = asyncio.get_running_loop()
        try:
            answers = await loop.run_in_executor(self._executor, self._search, queries)
            if len(answers) != len(queries):
                raise RuntimeError(f"search answered {len(answers)} of {len(queries)} queries")
        except asyncio.CancelledError:
            for item in batch:
                if not item.future.done():
                    item.future.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - handed to every caller of this batch
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        self.batches += 1
        self.searched += len(queries)
        start = 0
        for item in batch:
            stop = start + len(item.queries)
            if not item.future.done():
                item.future.set_result(answers[start:stop])
            start = stop
