"""The load generator: single-profile SearchDna calls over mutual TLS, one ``grpc.aio``
channel (one connection, many calls in flight on it), as a partner's node would send them.

- ``closed_loop``: C callers, each sends its next call when its last one is answered, for a
  warm-up then a measured window; throughput = calls answered inside the window.
- ``open_loop``: calls sent on a fixed schedule (rate R) whatever the answers do; latency
  runs from each call's *scheduled* time, so a node that falls behind is charged for the
  queueing it causes (no coordinated omission).

Every call carries one query and a fresh request id; every answer's hit count is checked
against the in-process answer of the same query.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import grpc

from matcher._proto.prum.v1 import common_pb2, dna_pb2, dna_pb2_grpc
from matcher.service import convert

#: Deadline of each call (s): far above any healthy latency; a call past it is an error.
CALL_DEADLINE_S = 30
#: Open loop: calls in flight beyond which the node is overloaded and the run stops.
MAX_IN_FLIGHT = 5_000
OFFICER, PURPOSE = "bench-officer", "service load benchmark"


@dataclass
class Run:
    name: str
    window_s: float = 0.0
    latencies: list[float] = field(default_factory=list)   # of calls answered in the window
    errors: Counter = field(default_factory=Counter)       # gRPC status name -> calls
    wrong: int = 0                                         # answers whose hit count differs
    server_cpu_s: float = float("nan")
    client_cpu_s: float = float("nan")
    stopped_early: str = ""

    @property
    def qps(self) -> float:
        return len(self.latencies) / self.window_s if self.window_s else 0.0


class Caller:
    """One mutual-TLS channel to the node and the query pool as request messages."""

    def __init__(self, cert_dir, port: int, server_name: str, client: str,
                 queries: list[dict], expected: list[int]):
        credentials = grpc.ssl_channel_credentials(
            root_certificates=(cert_dir / "ca.pem").read_bytes(),
            private_key=(cert_dir / f"{client}.key").read_bytes(),
            certificate_chain=(cert_dir / f"{client}.pem").read_bytes())
        self.channel = grpc.aio.secure_channel(
            f"127.0.0.1:{port}", credentials,
            options=[("grpc.ssl_target_name_override", server_name)])
        self.stub = dna_pb2_grpc.DnaServiceStub(self.channel)
        self.pool = [convert.dna_query_to_proto(q) for q in queries]
        self.expected = expected
        self._next = itertools.count()

    async def ready(self, timeout: float = 30) -> None:
        await asyncio.wait_for(self.channel.channel_ready(), timeout)

    async def call(self, run: Run, measured_from: float, started: float | None = None) -> None:
        """One call; recorded in ``run`` when it ends at or after ``measured_from``
        (perf_counter); latency from ``started`` (default: now)."""
        i = next(self._next) % len(self.pool)
        request = dna_pb2.SearchDnaRequest(
            header=common_pb2.RequestHeader(request_id=str(uuid.uuid4()), officer_id=OFFICER,
                                            purpose=PURPOSE),
            queries=[self.pool[i]])
        began = time.perf_counter() if started is None else started
        try:
            response = await self.stub.SearchDna(request, timeout=CALL_DEADLINE_S)
        except grpc.aio.AioRpcError as error:
            if time.perf_counter() >= measured_from:
                run.errors[error.code().name] += 1
            return
        ended = time.perf_counter()
        if ended >= measured_from:
            run.latencies.append(ended - began)
            if len(response.answers[0].hits) != self.expected[i]:
                run.wrong += 1

    async def close(self) -> None:
        await self.channel.close()


async def closed_loop(caller: Caller, callers: int, warmup_s: float, seconds: float,
                      cpu=lambda: float("nan")) -> Run:
    run = Run(f"over mTLS, {callers} concurrent caller{'s' if callers > 1 else ''}")
    begin = time.perf_counter()
    measured_from, stop = begin + warmup_s, begin + warmup_s + seconds
    marks: dict[str, float] = {}

    async def one_caller() -> None:
        while time.perf_counter() < stop:
            await caller.call(run, measured_from)

    async def mark() -> None:
        await asyncio.sleep(max(0.0, measured_from - time.perf_counter()))
        marks["server"], marks["client"] = cpu(), time.process_time()

    marker = asyncio.get_running_loop().create_task(mark())
    await asyncio.gather(*(one_caller() for _ in range(callers)))
    await marker
    ended = time.perf_counter()
    # Calls answered after `stop` were sent inside the window; counting them over the
    # window stretched to the last answer keeps the rate unbiased.
    run.window_s = ended - measured_from
    run.server_cpu_s = cpu() - marks["server"]
    run.client_cpu_s = time.process_time() - marks["client"]
    return run


async def open_loop(caller: Caller, rate: float, warmup_s: float, seconds: float,
                    cpu=lambda: float("nan")) -> Run:
    run = Run(f"over mTLS, open loop at {rate:,.0f} calls/s")
    interval = 1.0 / rate
    begin = time.perf_counter() + 0.01
    measured_from = begin + warmup_s
    total = int((warmup_s + seconds) * rate)
    in_flight: set[asyncio.Task] = set()
    loop = asyncio.get_running_loop()
    server0 = client0 = None
    for n in range(total):
        scheduled = begin + n * interval
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if server0 is None and scheduled >= measured_from:
            server0, client0 = cpu(), time.process_time()
        if len(in_flight) > MAX_IN_FLIGHT:
            run.stopped_early = f"more than {MAX_IN_FLIGHT} calls in flight after " \
                                f"{time.perf_counter() - begin:.1f} s: the node cannot keep up"
            break
        # Scheduled calls before the window are warm-up: recorded only if they end in it,
        # which a healthy node never lets happen; measured_from = their own schedule.
        task = loop.create_task(caller.call(run, measured_from if scheduled >= measured_from
                                            else float("inf"), scheduled))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.gather(*in_flight)
    run.window_s = min(seconds, time.perf_counter() - measured_from)
    if server0 is not None:
        run.server_cpu_s = cpu() - server0
        run.client_cpu_s = time.process_time() - client0
    return run
