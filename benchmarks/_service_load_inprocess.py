"""The in-process baseline: the same DNA searches without the service, in this process with
nothing else running (the node is not started yet).

- ``single``: ``home.dna.search([query])``, one query per call in a loop: what a caller
  that links the engine gets for the same single-profile searches;
- ``audited``: the same loop plus, per query, what the server's audit does for a
  one-query request (exchange.py): serialise the query message, keyed hash of it, an
  ``AuditEntry`` with the hit references, ``AuditLog.append`` (durable when it returns);
- ``batched``: ``home.dna.search`` of 64 queries per call: the batched kernel the server's
  micro-batcher feeds (informative: the ceiling of batching, not the baseline).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from matcher.service import convert
from matcher.service.audit import AuditEntry, AuditLog

#: Queries per call of the informative batched run: the server's DEFAULT_MAX_QUERIES.
BATCH = 64
OFFICER, PURPOSE = "bench-officer", "service load benchmark"


@dataclass
class Loop:
    """One timed loop: queries answered, wall and CPU seconds, per-call latencies (s)."""

    name: str
    queries: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def qps(self) -> float:
        return self.queries / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_ms_per_query(self) -> float:
        return 1e3 * self.cpu_s / self.queries if self.queries else float("nan")

    def percentile_ms(self, q: float) -> float:
        return 1e3 * float(np.percentile(self.latencies, q)) if self.latencies else float("nan")


def expected_hits(home, queries: list[dict]) -> list[int]:
    """Hits per pool query (one pass; also warms the kernels and caches)."""
    return [len(home.dna.search([q])[0].get("hits", ())) for q in queries]


def _timed(name: str, seconds: float, step) -> Loop:
    """Call ``step(i)`` (returns queries done) with i = 0, 1, ... for ``seconds``."""
    loop = Loop(name)
    started, cpu = time.perf_counter(), time.process_time()
    end = started + seconds
    i = 0
    now = started
    while now < end:
        loop.queries += step(i)
        after = time.perf_counter()
        loop.latencies.append(after - now)
        now = after
        i += 1
    loop.wall_s = now - started
    loop.cpu_s = time.process_time() - cpu
    return loop


def single(home, queries: list[dict], seconds: float) -> Loop:
    search = home.dna.search
    n = len(queries)
    return _timed("in-process, 1 query per call", seconds,
                  lambda i: len(search([queries[i % n]])))


def batched(home, queries: list[dict], seconds: float) -> Loop:
    search = home.dna.search
    chunks = [queries[i:i + BATCH] for i in range(0, len(queries), BATCH)]
    return _timed(f"in-process, {BATCH} queries per call", seconds,
                  lambda i: len(search(chunks[i % len(chunks)])))


def audited(home, queries: list[dict], seconds: float) -> Loop:
    """``single`` with the server's audit work per query, on the home's own audit log."""
    messages = [convert.dna_query_to_proto(q) for q in queries]
    search = home.dna.search
    n = len(queries)
    log = AuditLog.for_home(home)

    def step(i: int) -> int:
        answers = search([queries[i % n]])
        digest = log.digest(messages[i % n].SerializeToString(deterministic=True))
        log.append(AuditEntry(
            partner="DE", category="dna", outcome="answered", status="OK", officer=OFFICER,
            purpose=PURPOSE, request_id=str(uuid.uuid4()), answer_id=str(uuid.uuid4()),
            queries=1, hits=tuple(h["reference"] for h in answers[0].get("hits", ())),
            query_digest=digest))
        return 1

    try:
        return _timed("in-process + audit append", seconds, step)
    finally:
        log.close()
