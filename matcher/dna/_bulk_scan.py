"""numba kernel of bulk DNA comparison: the brute-force scan of the pairs keys cannot
guarantee, over a reordered copy of the index (``_bulk_segments``).  Every surviving row
is decided by ``kernels._compare_row``, the same rule code as a single search.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from matcher.dna._bulk_guarantee import hittable
from matcher.dna._bulk_hash import _popcount
from matcher.dna.kernels import _CACHE, BLOCK, NO_HIT, _compare_row, _filter_block


@njit(
    "int64(uint8[:, :, ::1], uint8[::1], uint64[::1], uint64[::1], int16[:, ::1], int64[::1],"
    " int64[::1], int64[::1], int64[::1], int64[:, ::1], int64[::1], uint8[:, ::1],"
    " uint8[:, ::1], uint8[:, ::1], uint8[:, ::1], int16[:, :, ::1], uint64[::1], int64, int64,"
    " int64, int64[::1], int64[::1], int64[::1], int64[:, ::1], uint8[::1], int64[::1],"
    " int64[::1], int64[::1], int64[::1], int64[::1], uint8[::1], uint64[::1], int64[::1],"
    " int64)",
    nogil=True, cache=_CACHE,
)
def residual_scan(alleles, start_counts, block_loci, block_full, codes, seg_start, seg_stop,
                  seg_queries_start, seg_queries, cols, n_cols, lo_a, cnt_a, lo_b, cnt_b,
                  queries, query_full, min_matching_loci, max_mismatches, tile, row_of,
                  out_queries, out_rows, out_results, counts, stats, block_keys, block_short,
                  query_keys, query_short, query_low, locus_bits, without,
                  short_shift):
    """Brute force over segments of a reordered copy of the index (``alleles`` etc., rows
    ``row_of`` in the index): segment s (rows ``seg_start[s]..seg_stop[s]``, BLOCK-aligned)
    against the queries ``seg_queries[seg_queries_start[s]:seg_queries_start[s + 1]]``,
    tiled like ``kernels.search_many`` with its per-query plan (``cols``, ``lo_a`` ...).

    A block is skipped for a query when no row of it can share ``min_matching_loci`` fully
    designated loci with it (``block_full``: OR of its rows' fully designated loci bits,
    ``query_full``: the query's), or, for a low-coverage query (``query_low``, the queries
    probed with the short groups too), when keys guarantee every pair of it: the groups
    every row of the block is keyable on (``block_keys``, and ``block_short`` shifted by
    ``short_shift``) shared with the query's cannot all be met by ``max_mismatches`` loci.  Hits are reported with index rows; adds the rows filtered to
    ``stats[0]``.
    """
    found = 0
    capacity = out_rows.shape[0]
    limit = np.uint8(max_mismatches)
    scanned = 0
    for s in range(seg_start.shape[0]):
        first, last = seg_queries_start[s], seg_queries_start[s + 1]
        if first == last:
            continue
        for tile_start in range(seg_start[s], seg_stop[s], tile):
            tile_stop = min(tile_start + tile, seg_stop[s])
            for p in range(first, last):
                q = seg_queries[p]
                k = n_cols[q]
                q_cols = cols[q, :k]
                q_lo_a = lo_a[q, :k]
                q_cnt_a = cnt_a[q, :k]
                q_lo_b = lo_b[q, :k]
                q_cnt_b = cnt_b[q, :k]
                query = queries[q]
                full = query_full[q]
                for start in range(tile_start, tile_stop, BLOCK):
                    b = start // BLOCK
                    if _popcount(full & block_full[b]) < min_matching_loci:
                        continue
                    # other queries' segments passed the default family's table already
                    if query_low[q] and not hittable(
                            locus_bits, without, (query_keys[q] & block_keys[b])
                            | ((query_short[q] & block_short[b]) << short_shift),
                            max_mismatches):
                        continue
                    scanned += BLOCK
                    if _filter_block(alleles, start_counts, block_loci[b], start, q_cols,
                                     q_lo_a, q_cnt_a, q_lo_b, q_cnt_b, limit, counts):
                        for i in range(BLOCK):
                            if counts[i] <= limit and _compare_row(
                                    alleles, codes, start + i, q_cols, query, min_matching_loci,
                                    max_mismatches, out_results[min(found, capacity)]) != NO_HIT:
                                if found < capacity:
                                    out_queries[found] = q
                                    out_rows[found] = row_of[start + i]
                                found += 1
    stats[0] += scanned
    return found
