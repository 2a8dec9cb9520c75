"""numba kernel of bulk DNA comparison: probe the key tables with each query's expanded keys
and decide every candidate with ``kernels._compare_row``, the same rule code as a single
search, so a bulk hit carries exactly the fields a single search computes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from matcher.dna._bulk_hash import _add_pair, _compatible_ids, _group_seed
from matcher.dna.kernels import _CACHE, NO_HIT, _compare_row


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
