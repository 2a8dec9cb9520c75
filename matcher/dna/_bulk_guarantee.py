"""numba kernels of the pigeonhole guarantee: can ``max_mismatches`` loci meet every locus
group of a set?  If not, a hitting pair keyable on all of those groups has a group free of
mismatches in common, so it shares that group's key (``_bulk_keys``) and is *guaranteed*
to be found by key probing; if they can, the pair needs the brute-force scan.

A set of groups is a bit mask (bit g = group g, at most 63 groups); ``locus_bits[g]`` has
bit ``col`` set for each locus column of group g, and ``without[col]`` is the mask of the
groups that do not hold column ``col`` (``without_masks``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from matcher.dna._bulk_hash import _popcount
from matcher.dna.kernels import _CACHE


def without_masks(locus_bits: np.ndarray, n_columns: int = 64) -> np.ndarray:
    """int64 per column: the groups (bits) whose loci do not include that column."""
    out = np.zeros(n_columns, np.int64)
    for col in range(n_columns):
        for g, bits in enumerate(locus_bits):
            if not (int(bits) >> col) & 1:
                out[col] |= 1 << g
    return out


@njit("boolean(uint64[::1], int64[::1], int64, int64)", nogil=True, cache=_CACHE)
def hittable(locus_bits, without, mask, budget):
    """True when at most ``budget`` loci meet every group of ``mask`` (the empty set is met
    by none).  Bounded search: some chosen locus must lie in the lowest group of the set,
    so try each of its loci and recurse on the groups it leaves (at most 4^budget calls)."""
    if mask == 0:
        return True
    if budget == 0:
        return False
    first = _popcount(np.uint64((mask & -mask) - 1))
    bits = locus_bits[first]
    while bits != np.uint64(0):
        low = bits & (~bits + np.uint64(1))
        col = _popcount(low - np.uint64(1))
        bits ^= low
        if hittable(locus_bits, without, mask & without[col], budget - 1):
            return True
    return False


@njit("void(uint64[::1], int64[::1], int64, uint8[::1])", nogil=True, cache=_CACHE)
def guaranteed_subsets(locus_bits, without, max_mismatches, table):
    """``table[m]`` = 1 when ``max_mismatches`` loci cannot meet every group of subset m."""
    for m in range(table.shape[0]):
        table[m] = 0 if hittable(locus_bits, without, m, max_mismatches) else 1
