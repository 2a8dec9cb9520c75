"""numba kernels for DNA comparison: pure functions over the encoded arrays, no I/O.

Encoding (built by ``matcher.dna.index``): ``alleles[column, side, row]`` is a uint8 allele
id, locus-major so one query locus reads two contiguous columns.  Ids are assigned per locus
in allele-code order, 0 is the wildcard and a pair (0, 0) is an absent locus; a pair is
sorted, so a wildcard is always on side 0.  Because ids follow code order, the stored
alleles that do not MISMATCH a query allele (equal, or one base pair apart) form one
contiguous id range ``[lo, lo + count)``; a query wildcard has ``lo = 0, count = 255``.

``search_one`` / ``search_many`` make one pass over the array:

1. per block of ``BLOCK`` rows, count each stored profile's mismatching alleles under the
   best pairing at each query locus (spec 5 orders pairings by mismatches first, so this is
   the used pairing's count), query loci rarest first; the block is abandoned as soon as
   every row in it has more than ``max_mismatches``, so most blocks read only a few loci;
2. rows of a surviving block that stayed within ``max_mismatches`` get the full rule set
   at once (classes, pairing triples, the three counts, quality) on their real allele
   codes, while their bytes are still in cache.

``verify`` applies the same rules to explicit code pairs (profiles kept outside the array).
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit

#: Rows per early-exit block: 256 one-byte counters are four 64-byte vectors, small enough
#: to abandon often, large enough to amortise the per-block check.
BLOCK = 256
#: Starting count of a row that must never be returned (deleted, or verified separately).
#: Adding at most 2 per locus keeps it above any max_mismatches for up to 63 loci.
DEAD = 128
#: Profiles per tile in the batched kernel: 4,096 rows x 28 loci x 2 bytes = 224 KiB stays
#: in this machine's 2 MiB L2 while every query of the batch passes over it.
TILE = 4096

#: Compiled kernels are cached on disk (a new process loads them in ~0.1 s instead of
#: compiling for seconds); MATCHER_NUMBA_NO_CACHE=1 turns that off to inspect the assembly.
_CACHE = os.environ.get("MATCHER_NUMBA_NO_CACHE") is None

EXACT, WILDCARD_CLASS, MICROVARIANT_CLASS, MISMATCH = 0, 1, 2, 3
QUALITY_FULL, QUALITY_WILDCARD, QUALITY_MICROVARIANT, QUALITY_NEAR, NO_HIT = 0, 1, 2, 3, -1
QUALITY_NAMES = ("FULL", "WILDCARD", "MICROVARIANT", "NEAR")

_FILTER_BLOCK_SIG = (
    "int64(uint8[:, :, ::1], uint8[::1], uint64, int64, int64[::1], uint8[::1], uint8[::1],"
    " uint8[::1], uint8[::1], uint8, uint8[::1])"
)


@njit(_FILTER_BLOCK_SIG, nogil=True, cache=_CACHE, inline="always")
def _filter_block(alleles, start_counts, present, start, cols, lo_a, cnt_a, lo_b, cnt_b,
                  limit, counts):
    """Mismatch counts of the BLOCK rows from ``start`` into ``counts``; 0 if the block died.

    ``present`` has bit ``col`` set when some row of the block holds locus column ``col``;
    loci no row holds add no mismatch and are skipped (rows are stored grouped by which
    loci they hold, so a block typed with one kit skips the loci of the others).

    Fixed-length slices let LLVM see a constant trip count and emit straight byte-SIMD code
    (measured 2.7 ns -> 0.4 ns per profile against indexing ``alleles[col, 0, start + i]``).
    """
    first = start_counts[start:start + BLOCK]
    for i in range(BLOCK):
        counts[i] = first[i]
    for j in range(cols.shape[0]):
        col = cols[j]
        if (present >> np.uint64(col)) & np.uint64(1) == 0:
            continue
        la = lo_a[j]
        na = cnt_a[j]
        lb = lo_b[j]
        nb = cnt_b[j]
        side0 = alleles[col, 0, start:start + BLOCK]
        side1 = alleles[col, 1, start:start + BLOCK]
        for i in range(BLOCK):
            c = side0[i]
            d = side1[i]
            c_real = np.uint8(c != 0)
            d_real = np.uint8(d != 0)
            m_ac = np.uint8(np.uint8(c - la) >= na) & c_real
            m_bc = np.uint8(np.uint8(c - lb) >= nb) & c_real
            m_ad = np.uint8(np.uint8(d - la) >= na) & d_real
            m_bd = np.uint8(np.uint8(d - lb) >= nb) & d_real
            straight = np.uint8(m_ac + m_bd)
            crossed = np.uint8(m_ad + m_bc)
            counts[i] = np.uint8(counts[i] + min(straight, crossed))
        lowest = np.uint8(255)
        for i in range(BLOCK):
            lowest = min(lowest, counts[i])
        if lowest > limit:
            return 0
    return 1


@njit("int64(int64, int64)", nogil=True, cache=_CACHE, inline="always")
def _allele_class(u, v):
    """Spec 5 class of two allele codes (0 = wildcard); unit >= 2 makes 'codes one apart'
    imply 'one of them is a microvariant'."""
    if u == 0 or v == 0:
        return WILDCARD_CLASS
    if u == v:
        return EXACT
    if u - v == 1 or v - u == 1:
        return MICROVARIANT_CLASS
    return MISMATCH


@njit("int64(int64, int64)", nogil=True, cache=_CACHE, inline="always")
def _triple(x, y):
    """Pairing score (mismatches, microvariants, wildcards) packed so that integer order is
    the spec's left-to-right order (each count is at most 2)."""
    score = 0
    for cls in (x, y):
        if cls == MISMATCH:
            score += 16
        elif cls == MICROVARIANT_CLASS:
            score += 4
        elif cls == WILDCARD_CLASS:
            score += 1
    return score


@njit("int64(int64, int64, int64, int64)", nogil=True, cache=_CACHE, inline="always")
def _used_pairing(a, b, c, d):
    """Packed triple of the used pairing of query pair (a, b) against stored (c, d)."""
    straight = _triple(_allele_class(a, c), _allele_class(b, d))
    crossed = _triple(_allele_class(a, d), _allele_class(b, c))
    return min(straight, crossed)


@njit("void(int64, int64, int64, int64, int64[::1])", nogil=True, cache=_CACHE, inline="always")
def _tally(a, b, c, d, tally):
    """Add one compared locus (query pair (a, b), stored pair (c, d), both sorted and
    present) to ``tally`` = (mismatches, matching_loci, compared_loci, flags), flags bit 1 =
    a used pairing had a MICROVARIANT class, bit 0 = a WILDCARD class."""
    used = _used_pairing(a, b, c, d)
    locus_mismatches = used // 16
    tally[0] += locus_mismatches
    if locus_mismatches == 0 and a != 0 and c != 0:  # 0 sorts first: both fully designated
        tally[1] += 1
    tally[2] += 1
    if (used // 4) % 4 > 0:
        tally[3] |= 2
    if used % 4 > 0:
        tally[3] |= 1


@njit("int64(int64[::1], int64, int64)", nogil=True, cache=_CACHE, inline="always")
def _finish(tally, min_matching_loci, max_mismatches):
    """Turn a tally's flags slot into the spec-5 quality (NO_HIT when not a hit); returns it."""
    mismatches, matching, flags = tally[0], tally[1], tally[3]
    quality = NO_HIT
    if matching >= min_matching_loci and mismatches <= max_mismatches:
        if mismatches > 0:
            quality = QUALITY_NEAR
        elif flags & 2:
            quality = QUALITY_MICROVARIANT
        elif flags & 1:
            quality = QUALITY_WILDCARD
        else:
            quality = QUALITY_FULL
    tally[3] = quality
    return quality


@njit(
    "int64(uint8[:, :, ::1], int16[:, ::1], int64, int64[::1], int16[:, ::1], int64, int64,"
    " int64[::1])",
    nogil=True, cache=_CACHE, inline="always",
)
def _compare_row(alleles, codes, row, cols, query, min_matching_loci, max_mismatches, result):
    """Full spec-5 comparison of index row ``row`` with a query (its loci ``cols``, its code
    pairs ``query[col]``); writes (mismatches, matching, compared, quality) to ``result``
    and returns the quality (NO_HIT when it is not a hit)."""
    result[:] = 0
    for j in range(cols.shape[0]):
        col = cols[j]
        d_id = alleles[col, 1, row]
        if d_id == 0:
            continue  # (0, 0): the stored profile does not hold this locus
        _tally(np.int64(query[col, 0]), np.int64(query[col, 1]),
               np.int64(codes[col, alleles[col, 0, row]]), np.int64(codes[col, d_id]), result)
    return _finish(result, min_matching_loci, max_mismatches)


@njit(
    "int64(uint8[:, :, ::1], uint8[::1], uint64[::1], int16[:, ::1], int64, int64[::1],"
    " uint8[::1], uint8[::1], uint8[::1], uint8[::1], int16[:, ::1], int64, int64,"
    " int64[::1], int64[:, ::1], uint8[::1])",
    nogil=True, cache=_CACHE,
)
def search_one(alleles, start_counts, block_loci, codes, n_rows, cols, lo_a, cnt_a, lo_b, cnt_b,
               query, min_matching_loci, max_mismatches, out_rows, out_results, counts):
    """Every hit of one query among the first ``n_rows`` rows, in one pass over the array.

    ``cols`` lists the query's loci in visiting order with each allele's compatible id
    range (``lo_a``/``cnt_a``, ``lo_b``/``cnt_b``); ``query[col]`` holds its code pairs and
    ``codes[col, id]`` the allele code of each id.  Rows whose block survives the filter
    with at most ``max_mismatches`` are compared in full right away, while their bytes are
    in cache.  Writes up to ``len(out_rows)`` hits (row, and (mismatches, matching_loci,
    compared_loci, quality) in ``out_results``, which has one more row, used as scratch
    once ``out_rows`` is full) in row order and returns how many there are: more than
    ``len(out_rows)`` means retry with more room.  ``counts`` is BLOCK bytes
    of scratch.  The row capacity is a multiple of BLOCK with unused rows DEAD.
    """
    found = 0
    capacity = out_rows.shape[0]
    limit = np.uint8(max_mismatches)
    for start in range(0, n_rows, BLOCK):
        if _filter_block(alleles, start_counts, block_loci[start // BLOCK], start, cols, lo_a,
                         cnt_a, lo_b, cnt_b, limit, counts):
            for i in range(BLOCK):
                if counts[i] <= limit and _compare_row(
                        alleles, codes, start + i, cols, query, min_matching_loci,
                        max_mismatches, out_results[min(found, capacity)]) != NO_HIT:
                    if found < capacity:
                        out_rows[found] = start + i
                    found += 1
    return found


@njit(
    "int64(uint8[:, :, ::1], uint8[::1], uint64[::1], int16[:, ::1], int64, int64[:, ::1],"
    " int64[::1], uint8[:, ::1], uint8[:, ::1], uint8[:, ::1], uint8[:, ::1], int16[:, :, ::1],"
    " int64, int64, int64, int64[::1], int64[::1], int64[:, ::1], uint8[::1])",
    nogil=True, cache=_CACHE,
)
def search_many(alleles, start_counts, block_loci, codes, n_rows, cols, n_cols, lo_a, cnt_a,
                lo_b, cnt_b, queries, min_matching_loci, max_mismatches, tile, out_queries,
                out_rows, out_results, counts):
    """``search_one`` for a batch of queries, tiling the rows so each tile comes from memory
    once and from cache for every query of the batch.  Query q uses ``cols[q, :n_cols[q]]``
    and ``queries[q]``; ``tile`` is a multiple of BLOCK.  Hits come grouped by tile, then
    by query; returns their number.
    """
    found = 0
    capacity = out_rows.shape[0]
    limit = np.uint8(max_mismatches)
    for tile_start in range(0, n_rows, tile):
        tile_stop = min(tile_start + tile, n_rows)
        for q in range(cols.shape[0]):
            k = n_cols[q]
            q_cols = cols[q, :k]
            q_lo_a = lo_a[q, :k]
            q_cnt_a = cnt_a[q, :k]
            q_lo_b = lo_b[q, :k]
            q_cnt_b = cnt_b[q, :k]
            query = queries[q]
            for start in range(tile_start, tile_stop, BLOCK):
                if _filter_block(alleles, start_counts, block_loci[start // BLOCK], start, q_cols,
                                 q_lo_a, q_cnt_a, q_lo_b, q_cnt_b, limit, counts):
                    for i in range(BLOCK):
                        if counts[i] <= limit and _compare_row(
                                alleles, codes, start + i, q_cols, query, min_matching_loci,
                                max_mismatches, out_results[min(found, capacity)]) != NO_HIT:
                            if found < capacity:
                                out_queries[found] = q
                                out_rows[found] = start + i
                            found += 1
    return found


@njit(
    "void(int16[:, :, ::1], int64[::1], int16[:, :, ::1], int64, int64, int64[:, ::1])",
    nogil=True, cache=_CACHE,
)
def verify(query_codes, pair_query, pair_codes, min_matching_loci, max_mismatches, out):
    """Full spec-5 comparison of explicit code pairs, for profiles kept outside the encoded
    array (alleles beyond a full id dictionary).

    ``query_codes[q, locus]`` and ``pair_codes[p, locus]`` are sorted code pairs (0 =
    wildcard, (0, 0) = absent); pair p compares query ``pair_query[p]``.  Writes
    ``out[p] = (mismatches, matching_loci, compared_loci, quality)``.
    """
    n_loci = query_codes.shape[1]
    for p in range(pair_query.shape[0]):
        q = pair_query[p]
        tally = out[p]
        tally[:] = 0
        for locus in range(n_loci):
            b = query_codes[q, locus, 1]
            d = pair_codes[p, locus, 1]
            if b == 0 or d == 0:
                continue  # absent in one of the two profiles
            _tally(np.int64(query_codes[q, locus, 0]), np.int64(b),
                   np.int64(pair_codes[p, locus, 0]), np.int64(d), tally)
        _finish(tally, min_matching_loci, max_mismatches)


@njit("uint8(uint8[:, :, ::1])", nogil=True, cache=_CACHE)
def read_all(alleles):
    """Largest byte of the encoded array: one streaming pass, the memory-bandwidth bound
    of the encoding.  A byte max compiles to 64-byte ``vpmaxub`` and ran fastest of the
    reductions tried (uint64 sum 14 GB/s, uint64 OR 18 GB/s, byte max 24 GB/s here)."""
    flat = alleles.reshape(-1)
    largest = np.uint8(0)
    for i in range(flat.shape[0]):
        largest = max(largest, flat[i])
    return largest
