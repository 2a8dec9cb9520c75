"""numba kernels of bulk DNA comparison keys: the key hash of a locus group's genotype, the
stored rows' key hashes, the stored alleles a query allele may pair with, and popcount.

Pure functions over arrays (layout in ``matcher.dna.index`` and ``_bulk_keys``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from matcher.dna.kernels import _CACHE

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
