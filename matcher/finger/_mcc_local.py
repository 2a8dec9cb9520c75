"""numba kernels for MCC's local similarity (spec 4; Cappelli, Ferrara, Maltoni, TPAMI
32(12) 2010, section 4): the popcounts of bit-based cylinder pairs, and nP, the number of
pairs a consolidation averages.

Local similarity of probe cylinder a and gallery cylinder b:

    lambda = 1 - sqrt(|x ^ y|) / (sqrt(|x|) + sqrt(|y|)),  x = a & vb, y = b & va

and no pair (a similarity of 0) when |wrap(theta_a - theta_b)| > delta_theta, when fewer
than minME of the cells are valid in both, or when |x| = |y| = 0.

Counts.  With cnt_a(c) the number of direction bins set at spatial cell c, held as bit
planes (cnt = P0 + 2 P1 + 4 P2 for ND = 6), |x| = sum_p 2^p |P_p(a) & vb| and likewise
|y|; |x ^ y| = |x| + |y| - 2 |x & y| and |x & y| = sum_k |a_k & b_k & va & vb|: 13
popcounts a pair for NS = 8 instead of 18.

``count_lanes`` runs, for each gallery cylinder, a loop over the probe lanes of its
window (``_mcc_lanes``) that LLVM vectorises (``vpopcntq``, four lanes at a time) and
packs the three counts of each lane in one word; ``lane_similarities`` turns them into
lambda in another vectorised loop.  ``popcount`` is ``llvm.ctpop`` itself: LLVM's
recognition of the bit-twiddling idiom broke when a shift followed it (a 2-3x slower
loop).
"""

from __future__ import annotations

import math
import os

import numpy as np
from numba import njit
from numba.core.extending import intrinsic
from numba.cpython.unsafe.numbers import viewer

from matcher.finger._mcc_lanes import BUCKETS, LANE_BLOCK, plane_words

_CACHE = os.environ.get("MATCHER_NUMBA_NO_CACHE") is None

# Indices into the settings vector; the same values as ``_mcc_kernels.M_*``.
_M_MIN_NP, _M_MAX_NP, _M_MU_P, _M_TAU_P = 2, 3, 4, 5

#: Bits of each count in a packed lane word (|x|, |y|, |x & y|).
_FIELD = np.uint64(21)
_FIELD_MASK = np.uint64((1 << 21) - 1)


@intrinsic
def _ctpop(typingctx, word):
    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])
    return word(word), codegen


@njit("uint64(uint64)", nogil=True, cache=_CACHE, inline="always")
def popcount(word):
    """Set bits of a 64-bit word (``llvm.ctpop``: ``popcnt``, ``vpopcntq`` in loops)."""
    return _ctpop(word)


@njit("int64(int64, int64, float64[::1])", nogil=True, cache=_CACHE, inline="always")
def pair_count(n_a, n_b, settings):
    """nP = minNP + round(Psi(min(nA, nB); muP, tauP) * (maxNP - minNP)), round half up."""
    smaller = min(n_a, n_b)
    psi = 1.0 / (1.0 + np.exp(-settings[_M_TAU_P] * (smaller - settings[_M_MU_P])))
    spread = settings[_M_MAX_NP] - settings[_M_MIN_NP]
    return np.int64(settings[_M_MIN_NP]) + np.int64(np.floor(psi * spread + 0.5))


@njit("UniTuple(uint64, 2)(uint64[::1], uint64, int64, int64, int64, int64, int64, int64)",
      nogil=True, cache=_CACHE, inline="always")
def _word_counts(lanes, r, stride, s, words, spatial, nd, planes):
    """Counts of lane r against the gallery cylinder in column stride - 1 over spatial
    word s: (|x|, |y|, |x & y| packed by ``_FIELD`` bits; cells valid in both)."""
    g = np.uint64(stride - 1)
    size = np.uint64(stride)
    va = lanes[np.uint64(words + planes * spatial + s) * size + r]
    vb = lanes[np.uint64(words + planes * spatial + s) * size + g]
    overlap = va & vb
    size_a = np.uint64(0)
    size_b = np.uint64(0)
    both = np.uint64(0)
    for p in range(planes):
        row = np.uint64(words + p * spatial + s) * size
        size_a += popcount(lanes[row + r] & vb) << np.uint64(p)
        size_b += popcount(lanes[row + g] & va) << np.uint64(p)
    for k in range(nd):
        row = np.uint64(k * spatial + s) * size
        both += popcount(lanes[row + r] & lanes[row + g] & overlap)
    return size_a | (size_b << _FIELD) | (both << (_FIELD + _FIELD)), popcount(overlap)


@njit("int64(uint64[::1], float64[::1], int64[:, ::1], uint64[:, ::1], uint64[:, ::1],"
      " float32[::1], int64, int64, float64, int64, int64, int64, int64, int64, int64,"
      " uint64[::1], uint64[::1], int64[:, ::1])", nogil=True, cache=_CACHE,
      inline="always", error_model="numpy")
def count_lanes(lanes, lane_theta, table, g_bits, g_valid, g_theta, start, n_b,
                delta_theta, min_common, words, spatial, nd, planes, stride, packed, common,
                runs):
    """Counts (|x|, |y|, |x & y|, packed by ``_FIELD`` bits) of every gallery cylinder of
    the template against the probe lanes of its window, into ``packed``; lanes out of the
    exact window or with fewer than ``min_common`` cells valid in both get 0.  Run of
    gallery cylinder j: ``runs[0, j]`` its first slot, ``runs[1, j]`` its first lane,
    ``runs[2, j]`` its length.  Returns the slots used.  ``common``: scratch of
    n + LANE_BLOCK words (NS > 8).

    The gallery cylinder's words (and planes) go to the lanes' last column, so the loop
    loads from one array with compile-time row offsets and stores to one: LLVM's runtime
    overlap checks before each run (one per pair of arrays and rows) had cost a fifth of
    the kernel.  The lane loop is innermost, one pass per spatial word (LLVM vectorises
    innermost loops only), and indices are unsigned (numba's wraparound of negative
    indices turned every load into a gather)."""
    used = 0
    scale = BUCKETS / (2.0 * math.pi)
    size = np.uint64(stride)
    g = np.uint64(stride - 1)
    valid_row = words + planes * spatial
    theta_row = np.uint64(valid_row + spatial) * size
    for j in range(n_b):
        row = start + j
        for w in range(words):
            lanes[np.uint64(w) * size + g] = g_bits[row, w]
        for w in range(spatial):
            counts = plane_words(g_bits, row, w, spatial, nd)
            for p in range(planes):
                lanes[np.uint64(words + p * spatial + w) * size + g] = counts[p]
            lanes[np.uint64(valid_row + w) * size + g] = g_valid[row, w]
        theta_b = np.float64(g_theta[row])
        bucket = min(np.int64(theta_b * scale), BUCKETS - 1)
        low = table[0, bucket]
        last = table[1, bucket]
        span = (max(last - low, 0) + LANE_BLOCK - 1) // LANE_BLOCK * LANE_BLOCK
        runs[0, j] = used
        runs[1, j] = low
        runs[2, j] = span
        first = np.uint64(low)
        end = np.uint64(last)
        slot = np.uint64(used)
        for s in range(spatial - 1):
            for q in range(np.uint64(span)):
                counts, overlap = _word_counts(lanes, first + q, stride, s, words, spatial, nd,
                                               planes)
                if s == 0:
                    packed[slot + q] = counts
                    common[q] = overlap
                else:
                    packed[slot + q] += counts
                    common[q] += overlap
        for q in range(np.uint64(span)):
            r = first + q
            counts, overlap = _word_counts(lanes, r, stride, spatial - 1, words, spatial, nd,
                                           planes)
            if spatial > 1:
                counts += packed[slot + q]
                overlap += common[q]
            difference = viewer(lanes[theta_row + r], np.float64) - theta_b
            if difference >= math.pi:
                difference -= 2.0 * math.pi
            if difference < -math.pi:
                difference += 2.0 * math.pi
            keep = (r < end) & (abs(difference) <= delta_theta) & (
                np.int64(overlap) >= min_common)
            packed[slot + q] = counts if keep else np.uint64(0)
        used += span
    return used


@njit("void(int64, uint64[::1], float64[::1], float64[::1], int32[::1], int64)", nogil=True,
      cache=_CACHE, inline="always", error_model="numpy")
def lane_similarities(count, packed, sqrt_table, out, bins, n_bins):
    """lambda of each packed lane into ``out`` (0 for no pair: both sizes 0 or lambda <= 0)
    and its histogram bin into ``bins``: 0 for no pair, else 1 + floor(lambda n_bins)
    (at most n_bins).  ``sqrt_table[c]`` = sqrt(c), the same correctly rounded values as
    sqrt itself; the kernel passes a compile-time constant (a table LLVM cannot prove
    distinct from ``out`` would keep it from vectorising the loop, and three vsqrtpd a
    lane made this loop a fifth of the kernel)."""
    for q in range(np.uint64(count)):
        word = packed[q]
        size_a = word & _FIELD_MASK
        size_b = (word >> _FIELD) & _FIELD_MASK
        both = word >> (_FIELD + _FIELD)
        denominator = sqrt_table[size_a] + sqrt_table[size_b]
        similarity = 1.0 - sqrt_table[size_a + size_b - both - both] / denominator
        keep = (denominator != 0.0) & (similarity > 0.0)
        out[q] = similarity if keep else 0.0
        bins[q] = np.int32(min(np.int64(similarity * n_bins), n_bins - 1) + 1 if keep else 0)
