"""The probe's layout for MCC's local similarity (``_mcc_local``): lanes.

The probe's cylinders, sorted by direction, are repeated over three turns (directions -
2 pi, as they are, + 2 pi) and stored word-major in one flat array, one lane per cylinder
copy: row x of lane r at x * stride + r, the rows being the W bit words, the bit planes
of each cell's count of set direction bins (P planes x S spatial words: ``plane_words``)
and the S validity words, and the direction's float64 bits.  The probe cylinders within
delta_theta of a gallery cylinder are then one run of lanes, found from a table by
direction bucket (``window_table``: a superset of the exact window, which
``_mcc_local.count_lanes`` applies lane by lane).  ``stride`` is a power of two, a
compile-time constant of the kernel: rows at constant offsets share LLVM's overlap
checks (one per array instead of one per row).  The last column holds the gallery
cylinder being compared.
"""

from __future__ import annotations

import math
import os

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import viewer

_CACHE = os.environ.get("MATCHER_NUMBA_NO_CACHE") is None

#: Lanes a run is rounded up to (the vector width of the counting loop).
LANE_BLOCK = 4
#: Direction buckets of ``window_table``.
BUCKETS = 64
#: Margin (rad) of the window around +-delta_theta: far above rounding error, so every
#: pair the exact test accepts lies inside.
_WINDOW_MARGIN = 1e-6


def plane_count(nd: int) -> int:
    """Bit planes that hold a count of 0..nd."""
    return max(int(nd).bit_length(), 1)


def lane_rows(words: int, spatial: int, planes: int) -> int:
    """Rows of the probe lanes (``probe_lanes``)."""
    return words + planes * spatial + spatial + 1


def lane_stride(n: int) -> int:
    """Lanes a row of ``probe_lanes`` holds for n probe cylinders: a power of two >= 256
    (a compile-time constant of the kernel, one compilation per size class)."""
    need = 3 * n + LANE_BLOCK + 1
    return max(256, 1 << (need - 1).bit_length())


#: Most bit planes a direction count may need (ND <= 15).
MAX_PLANES = 4


@njit("UniTuple(uint64, 4)(uint64[:, ::1], int64, int64, int64, int64)", nogil=True,
      cache=_CACHE, inline="always")
def plane_words(bits, source, s, spatial, nd):
    """Bit planes of the direction counts of ``bits[source]`` at spatial word s (plane p:
    bit p of each cell's count of set direction bins), by a ripple-carry add of each
    bin, in registers."""
    p0 = np.uint64(0)
    p1 = np.uint64(0)
    p2 = np.uint64(0)
    p3 = np.uint64(0)
    for k in range(nd):
        carry = bits[source, k * spatial + s]
        next_carry = p0 & carry
        p0 ^= carry
        carry = next_carry
        next_carry = p1 & carry
        p1 ^= carry
        carry = next_carry
        next_carry = p2 & carry
        p2 ^= carry
        p3 ^= next_carry
    return p0, p1, p2, p3


@njit("void(uint64[:, ::1], uint64[:, ::1], float32[::1], int64, int64, int64, int64,"
      " uint64[::1], float64[::1], int64[::1])", nogil=True, cache=_CACHE)
def probe_lanes(bits, valid, theta, spatial, nd, planes, stride, lanes, lane_theta,
                lane_index):
    """The probe's lanes (once per search) into the flat ``lanes``: row x lane r at
    x * stride + r, rows = the W bit words, P x S plane words, S validity words and the
    direction's float64 bits (``lane_rows``); ``lane_theta`` the unrolled direction;
    ``lane_index`` the cylinder.  Lanes 3n .. stride - 2 are empty (no bit, no validity,
    direction +inf); column stride - 1 is ``count_lanes``'s."""
    n = bits.shape[0]
    words = bits.shape[1]
    valid_row = words + planes * spatial
    theta_row = valid_row + spatial
    for r in range(stride - 1):
        for w in range(theta_row + 1):
            lanes[w * stride + r] = 0
        lane_theta[r] = np.inf
        lane_index[r] = 0
        if r < 3 * n:
            turn = np.int64(r >= n) + np.int64(r >= 2 * n)
            source = r - turn * n
            for w in range(words):
                lanes[w * stride + r] = bits[source, w]
            for s in range(spatial):
                counts = plane_words(bits, source, s, spatial, nd)
                for p in range(planes):
                    lanes[(words + p * spatial + s) * stride + r] = counts[p]
                lanes[(valid_row + s) * stride + r] = valid[source, s]
            lanes[theta_row * stride + r] = viewer(np.float64(theta[source]), np.uint64)
            lane_theta[r] = np.float64(theta[source]) + (turn - 1) * 2.0 * math.pi
            lane_index[r] = source


@njit("void(float64[::1], int64, float64, int64[:, ::1])", nogil=True, cache=_CACHE)
def window_table(lane_theta, n, delta_theta, table):
    """For each direction bucket b (gallery directions in [b, b + 1) * 2 pi / BUCKETS):
    ``table[0, b]`` the first lane and ``table[1, b]`` the end of the lanes any gallery
    cylinder of the bucket can be compared with, at most n lanes (each probe cylinder
    once)."""
    width = 2.0 * math.pi / BUCKETS
    low = 0
    high = 0
    for b in range(BUCKETS):
        while low < 3 * n and lane_theta[low] < b * width - delta_theta - _WINDOW_MARGIN:
            low += 1
        high = max(high, low)
        while high < 3 * n and lane_theta[high] <= (
                (b + 1) * width + delta_theta + _WINDOW_MARGIN):
            high += 1
        table[0, b] = low
        table[1, b] = min(high, low + n)


