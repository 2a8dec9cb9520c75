"""One desk per category: how the service checks, counts and searches that category's queries.

A desk turns the JSON-shaped query dicts (``convert.queries_from_proto``) into answers of
``home.<category>.search``, and knows the three category-specific rules around it:

- ``problem(query)``: the home's own validation, run *before* quota is taken, so a malformed
  query is refused whole with nothing searched and nothing counted;
- ``quota_key(query)``: which daily counter a query draws on (latent fingerprint searches
  have their own, smaller capacity under Prüm);
- ``search(queries, deadline)``: the search, off the event loop, in pieces between which the
  caller's deadline is checked, so work stops once nobody waits for it.

The DNA desk also answers bulk comparison batches (``DnaDesk.compare``, CompareDna), the one
place where a bulk comparison engine plugs in.

The home's category objects are not safe for concurrent catch-up with the store, so each desk
runs at most one search at a time (DNA through its micro-batcher, the others behind a lock).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import Executor

from matcher.dna.profile import ProfileRejected
from matcher.finger.records import FingerRecordRejected, normalise_record
from matcher.service.batching import DeadlinePassed, MicroBatcher
from matcher.vehicle import RecordRejected, normalise_query

#: Queries per executor call for fingerprints: an exhaustive MCC search of one query can take
#: tens of milliseconds on a large gallery, so the deadline is checked after every few.
FINGER_CHUNK = 4
#: Queries per executor call for vehicles: hash look-ups, microseconds each.
VEHICLE_CHUNK = 512


class Desk:
    """Common parts; subclasses set ``category`` and the three rules."""

    category = ""

    def __init__(self, home, executor: Executor):
        self.home = home
        self.executor = executor

    def problem(self, query: dict) -> str | None:
        raise NotImplementedError

    def quota_key(self, query: dict) -> str:
        return self.category

    def placeholder(self, reference: str) -> dict:
        """A well-formed empty answer (used to place error answers at their index)."""
        return {"query": reference, "hits": []}

    def expect(self):
        """A ticket announcing a request that will search soon (DNA batching uses it)."""
        return _NO_TICKET

    async def search(self, queries: list[dict], deadline: float | None,
                     ticket=None) -> list[dict]:
        raise NotImplementedError

    async def close(self) -> None:
        pass


class _NoTicket:
    def done(self) -> None:
        pass


_NO_TICKET = _NoTicket()


class _ChunkedDesk(Desk):
    """Searches in chunks of ``chunk`` queries, one chunk at a time, deadline between."""

    chunk = 1

    def __init__(self, home, executor: Executor):
        super().__init__(home, executor)
        self._lock = asyncio.Lock()

    def _search(self, queries: list[dict]) -> list[dict]:
        return getattr(self.home, self.category).search(queries)

    async def search(self, queries: list[dict], deadline: float | None,
                     ticket=None) -> list[dict]:
        loop = asyncio.get_running_loop()
        answers: list[dict] = []
        for start in range(0, len(queries), self.chunk):
            async with self._lock:
                if deadline is not None and time.monotonic() >= deadline:
                    raise DeadlinePassed()
                answers += await loop.run_in_executor(
                    self.executor, self._search, queries[start:start + self.chunk])
        return answers


class DnaDesk(Desk):
    """DNA: concurrent requests are coalesced into batched kernel calls."""

    category = "dna"

    def __init__(self, home, executor: Executor, **batching):
        super().__init__(home, executor)
        self.batcher = MicroBatcher(home.dna.search, executor, **batching)

    def problem(self, query: dict) -> str | None:
        try:
            self.home.dna.normaliser.normalise(query, query=True)
        except ProfileRejected as exc:
            return "; ".join(exc.reasons)
        return None

    def expect(self):
        return self.batcher.expect()

    async def search(self, queries: list[dict], deadline: float | None,
                     ticket=None) -> list[dict]:
        size = self.batcher.max_queries
        if len(queries) <= size:
            return await self.batcher.search(queries, deadline, ticket)
        answers: list[dict] = []
        for start in range(0, len(queries), size):   # the deadline is checked per piece
            answers += await self.batcher.search(queries[start:start + size], deadline, ticket)
            ticket = None
        return answers

    async def compare(self, queries: list[dict], deadline: float | None,
                      ticket=None) -> list[dict]:
        """Answers for one bulk comparison batch (CompareDna), in batch order, each equal to
        what ``search`` answers for the same profile as a query.

        ----- BULK ENGINE PLUG-IN POINT (issue 6) -----
        Today a batch takes the single-search path: the micro-batcher, ``home.dna.search``
        in pieces of ``batcher.max_queries`` with the deadline checked between pieces, so
        single searches of other partners interleave with a long bulk stream.  The answers
        of ``home.dna.search`` ARE the definition of the result.  A bulk engine
        (``matcher.dna.bulk``) plugs in here, and only here: run it on ``self.executor``
        (one batch per call, or pieces with the deadline checked between them, raising
        ``DeadlinePassed``), under the same one-search-at-a-time rule as the batcher (the
        index is not safe for a concurrent catch-up), and keep its answers equal to
        ``home.dna.search``'s; tests/test_service_bulk.py checks that equality against
        SearchDna.
        """
        return await self.search(queries, deadline, ticket)

    async def close(self) -> None:
        await self.batcher.close()


class FingerDesk(_ChunkedDesk):
    category = "finger"
    chunk = FINGER_CHUNK

    def problem(self, query: dict) -> str | None:
        try:
            normalise_record(query, query=True)
        except FingerRecordRejected as exc:
            return "; ".join(exc.reasons)
        return None

    def quota_key(self, query: dict) -> str:
        # normalise_record reads a query without kind as a latent mark; so do quotas.
        return "finger" if query.get("kind") == "person" else "finger_latent"

    def placeholder(self, reference: str) -> dict:
        return {"query": reference, "hit": False, "candidates": []}


class VehicleDesk(_ChunkedDesk):
    category = "vehicle"
    chunk = VEHICLE_CHUNK

    def problem(self, query: dict) -> str | None:
        try:
            normalise_query(query)
        except RecordRejected as exc:
            return "; ".join(exc.reasons)
        return None


def cut_candidates(answers: Sequence[dict], limit: int) -> list[dict]:
    """Fingerprint answers with at most ``limit`` candidates each; ``hit`` then says whether
    a *listed* candidate is a hit (the contract: true when any candidate is flagged hit)."""
    out = []
    for answer in answers:
        if "candidates" in answer and len(answer["candidates"]) > limit:
            kept = answer["candidates"][:limit]
            answer = {**answer, "candidates": kept, "hit": any(c["hit"] for c in kept)}
        out.append(answer)
    return out
