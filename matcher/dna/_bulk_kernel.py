"""numba kernels of bulk DNA comparison: key hashing, key probing with verification, the
brute-force scan of the pairs keys cannot guarantee, and the group-subset guarantee table.

Pure functions over arrays (layout in ``matcher.dna.index`` and ``_bulk_keys``).  Every
candidate pair is decided by ``kernels._compare_row``, the same rule code as a single
search, so a bulk hit carries exactly the fields a single search computes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from matcher.dna.kernels import _CACHE, BLOCK, NO_HIT, _compare_row, _filter_block

_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit("uint64(uint64)", nogil=True, cache=_CACHE, inline="always")
def _mix(x):
    """splitmix64 finaliser: a bijection that spreads every input bit over the word."""
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


@njit("uint64(uint64, int64, int64)", nogil=True, cache=_CACHE, inline="always")
def _add_pair(h, low_id, high_id):
    """Fold one locus genotype (sorted allele ids) into a group's key hash."""
    return _mix(h + _GOLDEN + np.uint64(low_id * 256 + high_id))


@njit("uint64(int64)", nogil=True, cache=_CACHE, inline="always")
def _group_seed(group):
    return _mix(np.uint64(group + 1) * _GOLDEN)


@njit("int64(uint64)", nogil=True, cache=_CACHE, inline="always")
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(
    "void(uint8[:, :, ::1], uint8[::1], int64, int64[:, ::1], int64[::1], uint8[:, ::1],"
    " uint64[:, ::1], uint8[:, ::1])",
    nogil=True, cache=_CACHE,
)
def stored_hashes(alleles, eligible, n_rows, group_cols, group_sizes, common, out_hash,
                  out_keyable):
    """Key hash of each eligible row on each group it is fully designated on with common
    alleles only (``common[col, id]``; a rare allele makes the group not keyable)."""
    for g in range(group_cols.shape[0]):
        size = group_sizes[g]
        for row in range(n_rows):
            if eligible[row] == 0:
                continue
            h = _group_seed(g)
            keyable = True
            for j in range(size):
                col = group_cols[g, j]
                low = alleles[col, 0, row]
                high = alleles[col, 1, row]
                # a wildcard sorts first: low == 0 is not fully designated (or absent)
                if low == 0 or common[col, low] == 0 or common[col, high] == 0:
                    keyable = False
                    break
                h = _add_pair(h, np.int64(low), np.int64(high))
            if keyable:
                out_hash[g, row] = h
                out_keyable[g, row] = 1


@njit("int64(int16[:, ::1], uint8[:, ::1], int64, int64, int64[::1])", nogil=True, cache=_CACHE,
      inline="always")
def _compatible_ids(lut, common, col, code, out):
    """Ids of the common stored alleles at ``col`` that do not MISMATCH ``code`` (equal, or
    one code step away: spec 5 microvariant equivalence); returns how many (0 to 3)."""
    n = 0
    for shift in range(-1, 2):
        allele_id = lut[col, code + shift]
        if allele_id > 0 and common[col, allele_id]:
            out[n] = allele_id
            n += 1
    return n


@njit(
    "int64(uint8[:, :, ::1], int16[:, ::1], int16[:, ::1], uint8[:, ::1], int16[:, :, ::1],"
    " int64[:, ::1], int64[::1], int64, uint64[::1], int64[::1], int64[::1], int64[::1], int64[::1], int64,"
    " int64, int64[::1], int64[::1], int64[::1], int64[:, ::1], int64[::1], int64[::1])",
    nogil=True, cache=_CACHE,
)
def probe_verify(alleles, codes, lut, common, queries, group_cols, group_sizes, expansion_cap, t_hash,
                 t_rows, directory, dir_start, dir_bits, min_matching_loci, max_mismatches,
                 seen, out_queries, out_rows, out_results, query_masks, stats):
    """Every hit of each query among the stored rows it shares a key with.

    For each query and group it is fully designated on, expands the query's genotype of
    the group into every stored genotype of common alleles without a MISMATCH (at most ``expansion_cap``
    keys, else the group is skipped as not keyable), probes the key table, and compares
    each new candidate row in full.  ``seen`` (one slot per index row, all -1 on entry)
    dedupes rows within a query.  Writes ``query_masks[q]`` = the groups the query was keyed
    on, adds the candidates compared to ``stats[0]``; hits and the return value as in
    ``kernels.search_many``.
    """
    n_queries, n_cols = queries.shape[0], queries.shape[1]
    width = group_cols.shape[1]
    q_cols_all = np.empty(n_cols, np.int64)
    pair_low = np.empty((width, 9), np.int64)
    pair_high = np.empty((width, 9), np.int64)
    n_pairs = np.empty(width, np.int64)
    digit = np.empty(width, np.int64)
    ids_a = np.empty(3, np.int64)
    ids_b = np.empty(3, np.int64)
    found = 0
    capacity = out_rows.shape[0]
    candidates = 0
    for q in range(n_queries):
        query = queries[q]
        k = 0
        for col in range(n_cols):
            if query[col, 1] != 0:
                q_cols_all[k] = col
                k += 1
        q_cols = q_cols_all[:k]
        mask = 0
        for g in range(group_cols.shape[0]):
            size = group_sizes[g]
            product = 1
            keyable = True
            for j in range(size):
                col = group_cols[g, j]
                a = np.int64(query[col, 0])
                if a == 0:
                    keyable = False
                    break
                na = _compatible_ids(lut, common, col, a, ids_a)
                nb = _compatible_ids(lut, common, col, np.int64(query[col, 1]), ids_b)
                n = 0
                for x in range(na):
                    for y in range(nb):
                        low = min(ids_a[x], ids_b[y])
                        high = max(ids_a[x], ids_b[y])
                        fresh = True
                        for z in range(n):
                            if pair_low[j, z] == low and pair_high[j, z] == high:
                                fresh = False
                        if fresh:
                            pair_low[j, n] = low
                            pair_high[j, n] = high
                            n += 1
                n_pairs[j] = n
                product *= n
                if product > expansion_cap:
                    keyable = False
                    break
            if not keyable:
                continue
            mask |= 1 << g
            digit[:size] = 0
            bits = dir_bits[g]
            for _ in range(product):  # product 0: no stored genotype is compatible
                h = _group_seed(g)
                for j in range(size):
                    h = _add_pair(h, pair_low[j, digit[j]], pair_high[j, digit[j]])
                bucket = dir_start[g] + np.int64(h >> np.uint64(64 - bits))
                for e in range(directory[bucket], directory[bucket + 1]):
                    if t_hash[e] != h:
                        continue
                    row = t_rows[e]
                    if seen[row] == q:
                        continue
                    seen[row] = q
                    candidates += 1
                    if _compare_row(alleles, codes, row, q_cols, query, min_matching_loci,
                                    max_mismatches, out_results[min(found, capacity)]) != NO_HIT:
                        if found < capacity:
                            out_queries[found] = q
                            out_rows[found] = row
                        found += 1
                j = 0
                while j < size:
                    digit[j] += 1
                    if digit[j] < n_pairs[j]:
                        break
                    digit[j] = 0
                    j += 1
        query_masks[q] = mask
    stats[0] += candidates
    return found


@njit(
    "int64(uint8[:, :, ::1], uint8[::1], uint64[::1], uint64[::1], int16[:, ::1], int64[::1],"
    " int64[::1], int64[::1], int64[::1], int64[:, ::1], int64[::1], uint8[:, ::1],"
    " uint8[:, ::1], uint8[:, ::1], uint8[:, ::1], int16[:, :, ::1], uint64[::1], int64, int64,"
    " int64, int64[::1], int64[::1], int64[::1], int64[:, ::1], uint8[::1], int64[::1])",
    nogil=True, cache=_CACHE,
)
def residual_scan(alleles, start_counts, block_loci, block_full, codes, seg_start, seg_stop,
                  seg_queries_start, seg_queries, cols, n_cols, lo_a, cnt_a, lo_b, cnt_b,
                  queries, query_full, min_matching_loci, max_mismatches, tile, row_of,
                  out_queries, out_rows, out_results, counts, stats):
    """Brute force over segments of a reordered copy of the index (``alleles`` etc., rows
    ``row_of`` in the index): segment s (rows ``seg_start[s]..seg_stop[s]``, BLOCK-aligned)
    against the queries ``seg_queries[seg_queries_start[s]:seg_queries_start[s + 1]]``,
    tiled like ``kernels.search_many`` with its per-query plan (``cols``, ``lo_a`` ...).
    A block is skipped for a query when no row of it can share ``min_matching_loci`` fully
    designated loci with it (``block_full``: OR of its rows' fully designated loci bits,
    ``query_full``: the query's).  Hits are reported with index rows; adds the rows
    filtered to ``stats[0]``.
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


@njit("void(uint64[::1], int64, uint8[::1])", nogil=True, cache=_CACHE)
def guaranteed_subsets(locus_bits, max_mismatches, table):
    """``table[m]`` = 1 when the groups in subset ``m`` cannot all be met by
    ``max_mismatches`` loci (so a pair keyable on all of them and within the mismatch
    limit has a mismatch-free group in common)."""
    n_groups = locus_bits.shape[0]
    positions = np.empty(64, np.int64)
    chosen = np.empty(max(max_mismatches, 1), np.int64)
    for m in range(1, 1 << n_groups):
        union = np.uint64(0)
        for g in range(n_groups):
            if (m >> g) & 1:
                union |= locus_bits[g]
        n_loci = 0
        for bit in range(64):
            if (union >> np.uint64(bit)) & np.uint64(1):
                positions[n_loci] = bit
                n_loci += 1
        k = max_mismatches
        if k == 0:
            table[m] = 1
            continue
        if k >= n_loci:
            table[m] = 0  # the mismatches can sit on every locus of every group
            continue
        for i in range(k):
            chosen[i] = i
        safe = True
        while safe:
            hit_set = np.uint64(0)
            for i in range(k):
                hit_set |= np.uint64(1) << np.uint64(positions[chosen[i]])
            every_group_met = True
            for g in range(n_groups):
                if (m >> g) & 1 and (locus_bits[g] & hit_set) == 0:
                    every_group_met = False
                    break
            if every_group_met:
                safe = False
                break
            i = k - 1
            while i >= 0 and chosen[i] == n_loci - k + i:
                i -= 1
            if i < 0:
                break
            chosen[i] += 1
            for j in range(i + 1, k):
                chosen[j] = chosen[j - 1] + 1
        table[m] = 1 if safe else 0
