"""Bulk DNA comparison on one core: the key index (matcher.dna._bulk_index) joining two
synthetic national databases, against the tiled brute-force kernel on a sample.

    python benchmarks/dna_bulk.py --n 1000000 --m 1000000

Builds database B (M profiles, the searched home) and A (N profiles, the source) with
``matcher.dna.synth`` (realistic kit mix, 5 % partial persons, degraded stains, relatives,
duplicates), plants ``--planted`` true matches: copies of B persons put into A exact, with one
allele moved by one repeat (NEAR), with an allele turned wildcard and loci lost, or with a
microvariant step; each planted pair is checked to be a hit under the rules.  Measures:

- ``seconds``: building the key index on B plus joining all of A against it (index level:
  hit pairs with their fields; hit answers and statistics are not built);
- the brute-force time of the same join: ``--sample`` queries of A through
  ``DnaIndex.search`` (the tiled kernel), extrapolated to N; the sample's hits must equal
  the bulk hits of those queries (and for N x M <= 4e8 the whole join is checked);
- planted recall; candidates verified; rows the residual brute-force scan filtered;
- single-search latency against B: the key index vs ``search_one`` (10M is extrapolated:
  both costs grow linearly with M once the key tables leave the cache).
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

from dna_search import encode  # noqa: E402
from matcher.config import DnaSettings  # noqa: E402
from matcher.dna import kernels  # noqa: E402
from matcher.dna._bulk_index import BulkIndex  # noqa: E402
from matcher.dna.index import DnaIndex, presence_order  # noqa: E402
from matcher.dna.profile import Normaliser  # noqa: E402
from matcher.dna.synth import generate_database  # noqa: E402

BUILD_CHUNK = 50_000
JOIN_CHUNK = 50_000
#: Whole joins up to this many pairs are also checked against brute force in full.
FULL_CHECK_PAIRS = 4e8
MUTATIONS = ("exact", "near", "wildcard", "microvariant")


def encoded_database(count, seed, prefix, normaliser, column, keep_persons=0):
    """Codes and kinds of a synthetic database, plus up to ``keep_persons`` person records."""
    parts, kinds, kept = [], [], []
    chunk = []
    rng = np.random.default_rng(seed + 99)
    for record in generate_database(count, seed=seed, prefix=prefix):
        chunk.append(record)
        if keep_persons and record["kind"] == "person" and len(kept) < keep_persons * 3 \
                and rng.random() < keep_persons * 6 / max(count, 1):
            kept.append(record)
        if len(chunk) >= BUILD_CHUNK:
            codes, k = encode(normaliser, chunk, column)
            parts.append(codes)
            kinds.append(k)
            chunk = []
    codes, k = encode(normaliser, chunk, column)
    parts.append(codes)
    kinds.append(k)
    return np.concatenate(parts), np.concatenate(kinds), kept


def _mutate(record, how, rng, normaliser):
    loci = dict(record["loci"])
    names = [n for n in loci if n in normaliser.table.compared and "*" not in str(loci[n])]
    name = names[rng.integers(len(names))]
    values = [v.strip() for v in str(loci[name]).split(",") if v.strip()]
    if len(values) == 1:
        values = values * 2
    unit = normaliser.table.repeat_unit(name)
    if how == "near":
        n, _, d = values[1].partition(".")
        values[1] = f"{int(n) + 1}" + (f".{d}" if d else "")
    elif how == "wildcard":
        values[0] = "OL"
        for other in names[:2]:
            if other != name and len(names) > 9:
                loci.pop(other)
    elif how == "microvariant":
        n, _, d = values[0].partition(".")
        step = int(d or 0) + 1
        values[0] = f"{n}.{step}" if step < unit else str(int(n) + 1)
    loci[name] = ",".join(values)
    return {"reference": "PLANT-" + record["reference"], "kind": "stain", "loci": loci}


def plant(kept, count, rng, normaliser, column, b_codes, settings):
    """Planted A profiles (codes) and the B row each must hit (verified to be a hit)."""
    codes_out, targets, hows = [], [], []
    for record in kept:
        if len(codes_out) >= count:
            break
        how = MUTATIONS[len(codes_out) % len(MUTATIONS)]
        mutated = _mutate(record, how, rng, normaliser)
        original, _ = encode(normaliser, [record], column)
        planted, _ = encode(normaliser, [mutated], column)
        if not len(original) or not len(planted):
            continue
        out = np.empty((1, 4), np.int64)
        kernels.verify(planted, np.zeros(1, np.int64), original, settings.min_matching_loci,
                       settings.max_mismatches, out)
        if out[0, 3] < 0:
            continue
        key = original[0].tobytes()
        codes_out.append(planted[0])
        targets.append(key)
        hows.append(how)
    # map each planted pair to its B row (the original's codes; duplicates are all fine)
    wanted = set(targets)
    rows_of = {}
    for row in range(len(b_codes)):
        key = b_codes[row].tobytes()
        if key in wanted:
            rows_of.setdefault(key, set()).add(row)
    return np.array(codes_out, np.int16), [rows_of.get(t, set()) for t in targets], hows


def hit_set(found, query_offset=0, row_map=None):
    rows = found.row if row_map is None else row_map[found.row]
    return set(zip((found.query + query_offset).tolist(), rows.tolist(),
                   found.quality.tolist(), found.matching_loci.tolist(),
                   found.compared_loci.tolist(), found.mismatches.tolist()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="source profiles (A)")
    parser.add_argument("--m", type=int, default=1_000_000, help="home profiles (B)")
    parser.add_argument("--planted", type=int, default=1_000)
    parser.add_argument("--sample", type=int, default=2_000,
                        help="A queries timed through the brute-force kernel")
    parser.add_argument("--single", type=int, default=200, help="single searches timed")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    settings = DnaSettings()
    mloci, mm = settings.min_matching_loci, settings.max_mismatches
    normaliser = Normaliser(settings)
    column = {n: i for i, n in enumerate(normaliser.table.compared)}
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    planted_count = min(args.planted, max(args.n // 10, 1))
    b_codes, b_kinds, kept = encoded_database(args.m, args.seed, "NL", normaliser, column,
                                              keep_persons=planted_count)
    order = presence_order(b_codes)
    b_codes, b_kinds = b_codes[order], b_kinds[order]
    index = DnaIndex(normaliser.table, capacity=len(b_codes))
    index.add(np.arange(1, len(b_codes) + 1), b_kinds, b_codes)
    a_codes, _, _ = encoded_database(args.n - planted_count, args.seed + 1000, "DE", normaliser,
                                     column)
    planted, targets, hows = plant(kept, planted_count, rng, normaliser, column, b_codes, settings)
    positions = np.sort(rng.choice(len(a_codes) + len(planted), len(planted), replace=False))
    queries = np.zeros((len(a_codes) + len(planted), len(column), 2), np.int16)
    is_planted = np.zeros(len(queries), bool)
    is_planted[positions] = True
    queries[is_planted] = planted
    queries[~is_planted] = a_codes
    n, m = len(queries), index.live
    print(f"built A={n:,} B={m:,} profiles, {len(planted):,} planted "
          f"({', '.join(f'{h}: {hows.count(h)}' for h in MUTATIONS)}) in "
          f"{time.perf_counter() - started:.1f} s")

    BulkIndex(index, mm).search(queries[:50], mloci, mm)  # compile / load kernels
    t0 = time.perf_counter()
    bulk = BulkIndex(index, mm)
    t_build = time.perf_counter() - t0
    hits = set()
    for start in range(0, n, JOIN_CHUNK):
        hits |= hit_set(bulk.search(queries[start:start + JOIN_CHUNK], mloci, mm), start)
    seconds = time.perf_counter() - t0
    counters = bulk.counters
    print(f"bulk join: {seconds:.2f} s (key index build {t_build:.2f} s), {len(hits):,} hits, "
          f"{counters.key_candidates:,} key candidates verified "
          f"({counters.short_candidates:,} from short groups, "
          f"{int(bulk.rows.low.sum()):,} low-coverage rows in B), "
          f"{counters.scanned_pairs:,} rows filtered by the residual scan "
          f"({counters.scanned_pairs / (n * m):.4f} of all pairs), "
          f"{len(bulk.segments.seg_start)} coverage segments")

    found_pairs = {(q, r) for q, r, *_ in hits}
    planted_rows = np.flatnonzero(is_planted)
    recalled = sum(any((int(q), r) in found_pairs for r in rows)
                   for q, rows in zip(planted_rows, targets))
    recall = recalled / max(len(planted), 1)

    sample = np.sort(rng.choice(n, min(args.sample, n), replace=False))
    t0 = time.perf_counter()
    brute_sample = index.search(queries[sample], mloci, mm)
    brute_per_query = (time.perf_counter() - t0) / len(sample)
    brute_seconds = brute_per_query * n
    expected = hit_set(brute_sample, 0, None)
    expected = {(int(sample[q]), *rest) for q, *rest in expected}
    in_sample = set(sample.tolist())
    mine = {h for h in hits if h[0] in in_sample}
    if mine != expected:
        print(f"MISMATCH on the sample: {len(mine - expected)} extra, {len(expected - mine)} "
              "missed", file=sys.stderr)
        return 1
    if n * m <= FULL_CHECK_PAIRS:
        full = hit_set(index.search(queries, mloci, mm))
        if full != hits:
            print(f"MISMATCH on the whole join: {len(hits - full)} extra, {len(full - hits)} "
                  "missed", file=sys.stderr)
            return 1
        print(f"whole join checked against brute force: {len(full):,} hits equal")
    print(f"brute force (tiled kernel): {brute_per_query * 1e3:.2f} ms per query on "
          f"{len(sample):,} sampled queries ({len(expected):,} hits, equal to bulk), "
          f"extrapolated {brute_seconds:.1f} s for the whole join")

    singles_bulk, singles_scan = [], []
    for q in sample[: args.single]:
        one = queries[q: q + 1]
        t0 = time.perf_counter()
        bulk.search(one, mloci, mm)
        singles_bulk.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        index.search(one, mloci, mm)
        singles_scan.append(time.perf_counter() - t0)
    single_us = float(np.median(singles_bulk)) * 1e6
    scan_us = float(np.median(singles_scan)) * 1e6
    print(f"single search against {m:,}: key index {single_us:.0f} us (median; p90 "
          f"{np.percentile(singles_bulk, 90) * 1e6:.0f} us), search_one {scan_us:.0f} us; "
          f"10M extrapolated (linear in M): key index {single_us * 1e7 / m:.0f} us, "
          f"search_one {scan_us * 1e7 / m:.0f} us")
    print(f"planted recall {recalled}/{len(planted)}")
    print(f"dna_bulk N={n} M={m} seconds={seconds:.2f} "
          f"vs_bruteforce={brute_seconds / seconds:.1f}x planted_recall={recall:.3f} "
          f"single_us={single_us:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
