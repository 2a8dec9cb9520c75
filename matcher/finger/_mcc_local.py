"""numba kernels for MCC's local similarity (spec 4; Cappelli, Ferrara, Maltoni, TPAMI
32(12) 2010, section 4): popcounts of bit-based cylinders, the validity layout they need,
and nP, the number of pairs a consolidation averages.

Local similarity of probe cylinder a and gallery cylinder b (bits already zero outside
their own validity, so ``a & vb`` is a restricted to the cells valid in both):

    lambda = 1 - sqrt(|(a & vb) ^ (b & va)|) / (sqrt(|a & vb|) + sqrt(|b & va|))

and 0 when |wrap(theta_a - theta_b)| > delta_theta, when fewer than minME of the cells are
valid in both, or when both restricted cylinders are empty.

Speed: the popcount is the standard SWAR bit count, which LLVM recognises as ``ctpop``
and, with the validity words repeated per direction bin so the loop is a plain reduction
over W words, vectorises to ``vpopcntq`` (AVX-512 VPOPCNTDQ) on this machine; indexing the
per-cell validity with ``w % S`` inside the loop blocked the vectoriser (3.4x slower).
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit

_CACHE = os.environ.get("MATCHER_NUMBA_NO_CACHE") is None

# Indices into the settings vector; the same values as ``_mcc_kernels.M_*``.
_M_MIN_NP, _M_MAX_NP, _M_MU_P, _M_TAU_P = 2, 3, 4, 5

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@njit("uint64(uint64)", nogil=True, cache=_CACHE, inline="always")
def popcount(word):
    """Set bits of a 64-bit word (SWAR form, compiled to ``popcnt``/``vpopcntq``)."""
    word = word - ((word >> np.uint64(1)) & _M1)
    word = (word & _M2) + ((word >> np.uint64(2)) & _M2)
    word = (word + (word >> np.uint64(4))) & _M4
    return (word * _H01) >> np.uint64(56)


@njit("UniTuple(uint64, 3)(uint64[:, ::1], uint64[:, ::1], int64, uint64[:, ::1],"
      " uint64[:, ::1], int64, int64, int64)", nogil=True, cache=_CACHE, inline="always")
def pair_counts(a, va, i, b, vb, j, vb_row, words):
    """(|a & vb|, |b & va|, |(a & vb) ^ (b & va)|) of rows a[i], b[j] over ``words`` words,
    vb's row ``vb_row``.  Rows are indexed in place: taking ``a[i]`` as a view would cost an
    atomic reference-count update per pair."""
    na = np.uint64(0)
    nb = np.uint64(0)
    nx = np.uint64(0)
    for w in range(words):
        x = a[i, w] & vb[vb_row, w]
        y = b[j, w] & va[i, w]
        na += popcount(x)
        nb += popcount(y)
        nx += popcount(x ^ y)
    return na, nb, nx


@njit("int64(int64, int64, float64[::1])", nogil=True, cache=_CACHE, inline="always")
def pair_count(n_a, n_b, settings):
    """nP = minNP + round(Psi(min(nA, nB); muP, tauP) * (maxNP - minNP)), round half up."""
    smaller = min(n_a, n_b)
    psi = 1.0 / (1.0 + np.exp(-settings[_M_TAU_P] * (smaller - settings[_M_MU_P])))
    spread = settings[_M_MAX_NP] - settings[_M_MIN_NP]
    return np.int64(settings[_M_MIN_NP]) + np.int64(np.floor(psi * spread + 0.5))


@njit("void(uint64[:, ::1], int64, int64, uint64[:, ::1])", nogil=True, cache=_CACHE)
def widen_validity(valid, start, stop, out):
    """Rows ``start:stop`` of the per-cell validity, repeated once per direction bin into
    ``out[0:stop - start]`` (the layout of the bits, so the popcount loop is a plain
    reduction)."""
    spatial = valid.shape[1]
    bins = out.shape[1] // spatial
    for r in range(stop - start):
        for k in range(bins):  # no w % spatial: a division per word cost ~2 us a template
            for s in range(spatial):
                out[r, k * spatial + s] = valid[start + r, s]
