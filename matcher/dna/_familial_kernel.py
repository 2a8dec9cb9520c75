"""numba kernels of the familial search: kinship index sums over the encoded DNA arrays.

Pure functions, no I/O.  ``matcher.dna.kinship`` prepares, per query and locus column, the
base-10 logarithm of the sibling and parent–child index for each way a stored genotype can
relate to the query's (the "share class" below); the kernels only classify stored genotypes
and add up table entries, so the floating-point formulas live in one place.

Share class of a stored pair (c, d) against the query pair (a, b), for a heterozygous query
``a != b``: 0 no allele shared, 1 ``a,x``, 2 ``b,x``, 3 ``a,b`` (identical), 4 ``a,a``,
5 ``b,b``.  A homozygous query passes ``b`` = "no allele" (it equals no stored allele), so its
stored ``a,x`` is class 1 and ``a,a`` (identical) class 4.  NO_ID is "no allele" among the
index's ids (0..254), NO_CODE among allele codes (0 or >= 6).  The same function serves the
index's ids (``familial_scan``) and raw allele codes (``familial_pairs``): it only tests
equality, and 0 (wildcard) never takes part because such loci are skipped.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from matcher.dna.kernels import _CACHE, BLOCK

#: Query allele that no stored allele equals: a homozygote's second slot, or (ids only) an
#: allele the index dictionary does not hold.  Stored ids are 0..254; codes are 0 or >= 6.
NO_ID = 255
NO_CODE = -1
#: Share classes per table row (see the module docstring); the last, NOT_COMPARED, is a
#: stored locus with a wildcard or absent, whose table entry is 0 (factor 1).
SHARE_CLASSES = 7
NOT_COMPARED = 6
#: Kind code of a removed index row (``matcher.dna.index.REMOVED``).
_REMOVED = 255


@njit("int64(int64, int64, int64, int64)", nogil=True, cache=_CACHE, inline="always")
def _share_class(a, b, c, d):
    """Share class of stored (c, d) against query (a, b); see the module docstring."""
    shares_a = np.int64((c == a) | (d == a))
    shares_b = np.int64((c == b) | (d == b))
    homozygous = np.int64(c == d)
    return shares_a + 2 * shares_b + 3 * (homozygous & (shares_a | shares_b))


@njit("void(uint8[:, :, ::1], int64, int64[::1], uint8[:, ::1], int64[::1], int64[::1])",
      nogil=True, cache=_CACHE)
def _count_loci(alleles, row, cols, query_ids, identical_class, counts):
    """(loci compared, loci sharing an allele, identical loci) of one reported row."""
    counts[:] = 0
    for col in cols:
        c = np.int64(alleles[col, 0, row])
        if c == 0:
            continue
        k = _share_class(np.int64(query_ids[col, 0]), np.int64(query_ids[col, 1]), c,
                         np.int64(alleles[col, 1, row]))
        counts[0] += 1
        counts[1] += k > 0
        counts[2] += k == identical_class[col]


@njit(
    "int64(uint8[:, :, ::1], uint8[::1], int64, int64[:, ::1], int64[::1], uint8[:, :, ::1],"
    " float64[:, :, ::1], float64[:, :, ::1], int64[:, ::1], float64, int64, int64[::1],"
    " int64[::1], float64[:, ::1], int64[:, ::1])",
    nogil=True, cache=_CACHE,
)
def familial_scan(alleles, kinds, n_rows, cols, n_visit, query_ids, log_sibling, log_parent,
                  identical_class, log_threshold, tile, out_query, out_row, out_logs, out_counts):
    """Every (query, row) whose sibling or parent–child log10 index reaches ``log_threshold``.

    ``alleles[column, side, row]`` is the index's id array (rows in multiples of BLOCK),
    ``kinds[row]`` 255 for a removed row.  Query q visits columns ``cols[q, :n_visit[q]]``
    (its fully designated loci with frequencies); ``query_ids[q, column]`` holds its allele
    ids (NO_ID as described above), ``log_sibling[q, column, share_class]`` and
    ``log_parent[...]`` the per-locus log10 indices (entry NOT_COMPARED = 0: a stored locus
    with a wildcard, or absent, is skipped), ``identical_class[q, column]`` the share class
    meaning "same genotype".

    Per block of rows and locus, share classes are first computed with one-byte arithmetic
    (which LLVM turns into byte SIMD), then the table entries are added in a second loop:
    measured 4.5x faster than classifying and adding in one loop.  Rows are tiled (``tile``
    a multiple of BLOCK) so each tile comes from memory once for the whole batch.

    Writes up to ``len(out_row)`` results: query, row, (log sibling, log parent–child) and
    (loci compared, loci sharing an allele, identical loci); the result arrays have one spare
    row used as scratch once full.  Returns how many there are (more than ``len(out_row)``:
    retry with more room).  Rows that compare no locus are never reported.
    """
    found = 0
    capacity = out_row.shape[0]
    sibling = np.empty(BLOCK, np.float64)
    parent = np.empty(BLOCK, np.float64)
    share = np.empty(BLOCK, np.uint8)
    for tile_start in range(0, n_rows, tile):
        tile_stop = min(tile_start + tile, n_rows)
        for q in range(cols.shape[0]):
            for start in range(tile_start, tile_stop, BLOCK):
                sibling[:] = 0.0
                parent[:] = 0.0
                for j in range(n_visit[q]):
                    col = cols[q, j]
                    a = query_ids[q, col, 0]
                    b = query_ids[q, col, 1]
                    side0 = alleles[col, 0, start:start + BLOCK]
                    side1 = alleles[col, 1, start:start + BLOCK]
                    for i in range(BLOCK):
                        c = side0[i]
                        d = side1[i]
                        shares_a = np.uint8(c == a) | np.uint8(d == a)
                        shares_b = np.uint8(c == b) | np.uint8(d == b)
                        same = np.uint8(c == d) & (shares_a | shares_b)
                        k = np.uint8(shares_a + np.uint8(2) * shares_b + np.uint8(3) * same)
                        wild = np.uint8(c == 0)  # wildcard sorts first; absent is (0, 0)
                        share[i] = np.uint8(k * (np.uint8(1) - wild) + wild * np.uint8(NOT_COMPARED))
                    table = log_sibling[q, col]
                    for i in range(BLOCK):
                        sibling[i] += table[share[i]]
                    table = log_parent[q, col]
                    for i in range(BLOCK):
                        parent[i] += table[share[i]]
                for i in range(BLOCK):
                    row = start + i
                    if max(sibling[i], parent[i]) < log_threshold or kinds[row] == _REMOVED:
                        continue
                    slot = min(found, capacity)
                    _count_loci(alleles, row, cols[q, :n_visit[q]], query_ids[q],
                                identical_class[q], out_counts[slot])
                    if out_counts[slot, 0] == 0:
                        continue
                    out_logs[slot, 0] = sibling[i]
                    out_logs[slot, 1] = parent[i]
                    if found < capacity:
                        out_query[found] = q
                        out_row[found] = row
                    found += 1
    return found


@njit(
    "void(int64[:, ::1], int64[::1], int64[:, :, ::1], int64[::1], int16[:, :, ::1],"
    " float64[:, :, ::1], float64[:, :, ::1], int64[:, ::1], float64[:, ::1], int64[:, ::1])",
    nogil=True, cache=_CACHE,
)
def familial_pairs(cols, n_visit, query_codes, pair_query, pair_codes, log_sibling, log_parent,
                   identical_class, out_logs, out_counts):
    """``familial_scan``'s sums for explicit stored code pairs (profiles kept outside the
    encoded array): pair p is stored ``pair_codes[p]`` (columns, 2) against query
    ``pair_query[p]``, whose allele codes are ``query_codes[q, column]`` (NO_CODE for "no
    allele").  Writes every pair's logs and counts, whatever the threshold."""
    for p in range(pair_query.shape[0]):
        q = pair_query[p]
        out_logs[p, 0] = 0.0
        out_logs[p, 1] = 0.0
        out_counts[p, :] = 0
        for j in range(n_visit[q]):
            col = cols[q, j]
            c = np.int64(pair_codes[p, col, 0])
            if c == 0:
                continue
            k = _share_class(query_codes[q, col, 0], query_codes[q, col, 1], c,
                             np.int64(pair_codes[p, col, 1]))
            out_logs[p, 0] += log_sibling[q, col, k]
            out_logs[p, 1] += log_parent[q, col, k]
            out_counts[p, 0] += 1
            out_counts[p, 1] += k > 0
            out_counts[p, 2] += k == identical_class[q, col]
