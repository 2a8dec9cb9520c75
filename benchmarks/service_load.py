"""Partner-service load: single-profile DNA queries per second over mutual TLS on loopback,
against the same searches in-process.

    python benchmarks/service_load.py --profiles 1000000 --seconds 10

Steps, each bounded in time (the run stops by itself; loopback only):

1. a home of ``--profiles`` synthetic DNA profiles (built once, cached under ``--out`` by
   N and seed; or ``--home``), fresh development certificates, a node configuration whose
   daily DNA quota for the caller exceeds any run, a pool of ``--queries`` queries
   (``generate_queries`` over the stored profiles);
2. in-process baseline, in this process with nothing else running: ``home.dna.search``
   one query per call for ``--seconds``; again with the server's audit append per query
   (the audit's share of a query's cost); and 64 queries per call (informative);
3. the node as ``python -m matcher.cli serve`` in a fresh interpreter; from one
   ``grpc.aio`` channel, 1, 8 and 64 concurrent callers (``--callers``) each sending
   one-query SearchDna calls for a warm-up then ``--seconds``: calls/s, p50, p99;
4. "half load": an open-loop run at 50 % of the 64-caller throughput: p99 (target
   <= 50 ms).

Both sides share this machine's cores: the node's event loop, TLS, kernel and audit, and
the load generator.  Last line::

    service_load profiles=N qps=Q p99_ms=P vs_inprocess=R

with Q and P of the best concurrency level and R = Q / in-process single-query qps.
Exit status 1 when a call failed or an answer's hits differed from the in-process answer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
#: Fraction of the 64-caller throughput the open-loop latency run offers.
HALF_LOAD = 0.5
#: Target of the issue: p99 at half load (ms); audit share of a query's cost; TLS vs in-process.
P99_TARGET_MS, AUDIT_TARGET, RATIO_TARGET = 50.0, 0.10, 0.70


def _arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000,
                        help="DNA profiles in the node's home (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1, help="synthetic data seed")
    parser.add_argument("--queries", type=int, default=1_000, help="query pool size")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="measured seconds of each run (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="unmeasured seconds before each over-TLS run (default 2)")
    parser.add_argument("--callers", default="1,8,64",
                        help="concurrency levels, comma-separated (default 1,8,64)")
    parser.add_argument("--home", type=Path, default=None,
                        help="use (or build) this home instead of the cached one")
    parser.add_argument("--out", type=Path, default=HERE / "out",
                        help="cache and log folder (default benchmarks/out)")
    args = parser.parse_args(argv)
    args.callers = sorted({int(c) for c in args.callers.split(",")})
    if args.profiles < 1 or args.queries < 1 or args.seconds <= 0 or args.warmup < 0 \
            or min(args.callers) < 1:
        parser.error("--profiles, --queries, --callers must be >= 1, --seconds > 0, "
                     "--warmup >= 0")
    return args


def _say(text: str = "") -> None:
    print(text, flush=True)


def _row(name: str, qps: float, p50: float, p99: float, extra: str = "") -> None:
    _say(f"  {name:<40} {qps:>9,.0f} q/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms{extra}")


def _inprocess(prepared, seconds: float):
    import matcher
    import _service_load_inprocess as inproc
    with matcher.open_home(prepared.home, create=False) as home:
        started = time.perf_counter()
        expected = inproc.expected_hits(home, prepared.queries)
        _say(f"pool: {len(prepared.queries):,} queries, {sum(1 for e in expected if e):,} "
             f"with hits, {sum(expected):,} hits (one pass {time.perf_counter() - started:.1f} s)")
        runs = [inproc.single(home, prepared.queries, seconds),
                inproc.audited(home, prepared.queries, seconds),
                inproc.batched(home, prepared.queries, seconds)]
    return expected, runs


async def _over_tls(prepared, node, expected, args):
    from _service_load_client import Caller, closed_loop, open_loop
    from _service_load_node import CALLER, SERVER
    caller = Caller(prepared.certs, node.port, SERVER, CALLER, prepared.queries, expected)
    try:
        await caller.ready()
        runs = [await closed_loop(caller, c, args.warmup, args.seconds, node.cpu_seconds)
                for c in args.callers]
        top = runs[-1]          # the highest concurrency (64 by default)
        rate = HALF_LOAD * top.qps
        half = await open_loop(caller, rate, min(args.warmup, 1.0), args.seconds,
                               node.cpu_seconds) if rate > 0 else None
    finally:
        await caller.close()
    return runs, top, half


def main(argv=None) -> int:
    args = _arguments(argv)
    from _service_load_node import NodeProcess, prepare
    load = os.getloadavg()
    _say(f"service_load: {args.profiles:,} profiles, {args.seconds:g} s per run, callers "
         f"{args.callers}, {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} "
         f"{load[2]:.2f}")
    prepared = prepare(args.out, args.profiles, args.seed, args.queries, args.home, _say)
    _say(f"home {prepared.home}: {prepared.profiles:,} profiles"
         + (f" (built in {prepared.built_s:.0f} s)" if prepared.built_s else " (reused)"))
    if not prepared.queries:
        _say("no usable query: the home holds no person profile to draw queries from")
        return 2

    expected, (single, audited, batched) = _inprocess(prepared, args.seconds)
    _say("in-process (this process, nothing else running):")
    for run in (single, audited, batched):
        _row(run.name, run.qps, run.percentile_ms(50), run.percentile_ms(99),
             f"   CPU {run.cpu_ms_per_query:.3f} ms/query"
             + ("   (latency per call of 64)" if run is batched else ""))
    audit_share = single.qps / audited.qps - 1 if audited.qps else float("nan")
    audit_cpu = audited.cpu_ms_per_query / single.cpu_ms_per_query - 1
    _say(f"  audit append per query adds {100 * audit_share:.1f} % to a query's wall time, "
         f"{100 * audit_cpu:.1f} % to its CPU time (target <= {100 * AUDIT_TARGET:.0f} %)")

    node = NodeProcess(prepared.config, prepared.workdir / "server.log")
    try:
        runs, top, half = asyncio.run(_over_tls(prepared, node, expected, args))
    finally:
        status = node.stop()
    _say(f"over mutual TLS (node pid {node.process.pid}, exit {status}; log "
         f"{node.log_path}):")
    measured = runs + ([half] if half else [])
    for run in measured:
        calls = max(1, len(run.latencies))
        _row(run.name, run.qps, _pct(run, 50), _pct(run, 99),
             f"   CPU node {1e3 * run.server_cpu_s / calls:.3f} + "
             f"client {1e3 * run.client_cpu_s / calls:.3f} ms/query")
    best = max(runs, key=lambda r: r.qps)
    ratio = best.qps / single.qps if single.qps else 0.0
    _say("ratios:")
    _say(f"  best over TLS / in-process single : {ratio:.2f} (target >= {RATIO_TARGET:.2f}; "
         f"{best.name})")
    _say(f"  best over TLS / in-process batched: {best.qps / batched.qps:.2f}")
    if half:
        _say(f"  p99 at half load ({half.qps:,.0f} q/s): {_pct(half, 99):.1f} ms "
             f"(target <= {P99_TARGET_MS:.0f} ms) {half.stopped_early}".rstrip())
    failures = 0
    for run in measured:
        failures += sum(run.errors.values()) + run.wrong
        if run.errors or run.wrong:
            _say(f"  PROBLEM in '{run.name}': errors {dict(run.errors)}, {run.wrong} answers "
                 "differ from in-process")
    load = os.getloadavg()
    _say(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    _say(f"service_load profiles={prepared.profiles} qps={best.qps:.0f} "
         f"p99_ms={_pct(best, 99):.1f} vs_inprocess={ratio:.2f}")
    return 1 if failures or status != 0 else 0


def _pct(run, q: float) -> float:
    return 1e3 * float(np.percentile(run.latencies, q)) if run.latencies else float("nan")


if __name__ == "__main__":
    sys.exit(main())
