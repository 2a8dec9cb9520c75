"""DNA search speed on one core: our kernels against a vectorised numpy implementation of
the same rules and against the time to read the encoded array once.

    python benchmarks/dna_search.py --profiles 2000000 --queries 1000

Builds N synthetic profiles (``matcher.dna.synth``: realistic kit mix, stains, partial
profiles, relatives), encodes them as the engine does, then measures:

- single: one query per call, end to end (query planning, filter kernel, verification),
  nanoseconds per stored profile;
- batched: all Q queries in one call (tiled kernel), nanoseconds per profile-comparison;
- numpy: the same rules vectorised in numpy (benchmarks/_dna_numpy_baseline.py) on a few
  queries, whose hits must equal ours;
- bandwidth: one streaming pass over the encoded array (the faster of a numba byte-max and
  numpy's max): the memory-bandwidth bound of the encoding (``bandwidth_fraction`` = that time / single-query time; above 1
  means the early exit reads less than the whole array).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from _dna_numpy_baseline import NumpyBaseline  # noqa: E402
from matcher.config import DnaSettings  # noqa: E402
from matcher.dna import kernels  # noqa: E402
from matcher.dna.index import KIND_CODES, DnaIndex, presence_order  # noqa: E402
from matcher.dna.profile import Normaliser, ProfileRejected  # noqa: E402
from matcher.dna.synth import generate_database, generate_queries  # noqa: E402

BUILD_CHUNK = 50_000
NUMPY_QUERIES = 5


def encode(normaliser, records, column):
    codes = np.zeros((len(records), len(column), 2), np.int16)
    kinds = np.zeros(len(records), np.uint8)
    kept = 0
    for record in records:
        try:
            profile = normaliser.normalise(record)
        except ProfileRejected:
            continue
        for name, pair in profile.loci.items():
            codes[kept, column[name]] = pair
        kinds[kept] = KIND_CODES[profile.kind]
        kept += 1
    return codes[:kept], kinds[:kept]


def build(n_profiles: int, n_queries: int, seed: int):
    settings = DnaSettings()
    normaliser = Normaliser(settings)
    column = {n: i for i, n in enumerate(normaliser.table.compared)}
    index = DnaIndex(normaliser.table, capacity=n_profiles)
    chunk: list[dict] = []
    next_rowid = 1
    sample: list[dict] = []

    def flush():
        nonlocal next_rowid
        codes, kinds = encode(normaliser, chunk, column)
        order = presence_order(codes)  # as the database stores each committed batch
        codes, kinds = codes[order], kinds[order]
        index.add(np.arange(next_rowid, next_rowid + len(codes)), kinds, codes)
        next_rowid += len(codes)

    rng = np.random.default_rng(seed)
    for record in generate_database(n_profiles, seed=seed):
        chunk.append(record)
        if len(sample) < 200_000 and rng.random() < 200_000 / n_profiles:
            sample.append(record)
        if len(chunk) >= BUILD_CHUNK:
            flush()
            chunk = []
    flush()
    queries = generate_queries(sample, n_queries, seed=seed + 1)
    qcodes, _ = encode(normaliser, [dict(q, kind="stain") for q in queries], column)
    return index, qcodes, settings


def best_of(fn, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", type=int, default=2_000_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--single", type=int, default=200, help="queries timed one by one")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    index, queries, settings = build(args.profiles, args.queries, args.seed)
    n = index.live
    mm, mloci = settings.max_mismatches, settings.min_matching_loci
    print(f"built {n:,} profiles and {len(queries):,} queries in {time.perf_counter() - started:.1f} s; "
          f"index {index.bytes_per_profile()} bytes/profile "
          f"({index.memory_bytes() / n:.1f} with capacity slack and fixed tables), "
          f"{len(index.columns)} locus columns")

    index.search(queries[:2], mloci, mm)  # compile / warm caches
    singles = []
    hits_single = 0
    for q in queries[: args.single]:
        one = q[None]
        start = time.perf_counter()
        found = index.search(one, mloci, mm)
        singles.append(time.perf_counter() - start)
        hits_single += len(found.row)
    single_s = float(np.median(singles))
    single_ns = single_s / n * 1e9

    batch_s = best_of(lambda: index.search(queries, mloci, mm), repeats=3)
    batched_ns = batch_s / (n * len(queries)) * 1e9
    found = index.search(queries, mloci, mm)

    baseline = NumpyBaseline(index)
    numpy_times = []
    for qi in range(min(NUMPY_QUERIES, len(queries))):
        start = time.perf_counter()
        rows, mismatches, matching, compared, quality = baseline.search(queries[qi], mloci, mm)
        numpy_times.append(time.perf_counter() - start)
        theirs = sorted(zip(rows[quality >= 0].tolist(), quality[quality >= 0].tolist(),
                            matching[quality >= 0].tolist(), mismatches[quality >= 0].tolist()))
        mine = found.query == qi
        ours = sorted(zip(found.row[mine].tolist(), found.quality[mine].tolist(),
                          found.matching_loci[mine].tolist(), found.mismatches[mine].tolist()))
        if theirs != ours:
            print(f"MISMATCH between numpy baseline and kernels on query {qi}", file=sys.stderr)
            return 1
    numpy_ns = float(np.median(numpy_times)) / n * 1e9

    live_bytes = index.alleles[:, :, : index.n_rows]
    alleles = np.ascontiguousarray(live_bytes)
    kernels.read_all(alleles)
    # The bound is the faster of a numba byte-max pass and numpy's max: both read every byte.
    read_s = min(best_of(lambda: kernels.read_all(alleles), repeats=7),
                 best_of(lambda: alleles.max(), repeats=7))
    read_ns = read_s / n * 1e9
    gbps = alleles.nbytes / read_s / 1e9

    print(f"single query : {single_s * 1e3:8.2f} ms  {single_ns:6.3f} ns/profile "
          f"(median of {len(singles)}, {hits_single} hits)")
    print(f"batched      : {batch_s * 1e3:8.1f} ms  {batched_ns:6.3f} ns/comparison "
          f"({len(queries)} queries, {len(found.row)} hits, {len(queries) / batch_s:,.0f} queries/s)")
    print(f"numpy        : {np.median(numpy_times) * 1e3:8.1f} ms  {numpy_ns:6.3f} ns/profile "
          f"(same hits on {len(numpy_times)} queries)")
    print(f"read once    : {read_s * 1e3:8.2f} ms  {read_ns:6.3f} ns/profile "
          f"({alleles.nbytes / 1e6:.0f} MB at {gbps:.1f} GB/s)")
    print(f"ratios       : single vs numpy {numpy_ns / single_ns:.1f}x, "
          f"batched vs numpy {numpy_ns / batched_ns:.1f}x, "
          f"bandwidth bound / single {read_s / single_s:.2f}")
    print(f"dna_search N={n} single_ns_per_profile={single_ns:.3f} "
          f"batched_ns_per_profile={batched_ns:.3f} vs_numpy={numpy_ns / single_ns:.1f}x "
          f"bandwidth_fraction={read_s / single_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
