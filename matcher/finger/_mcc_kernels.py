"""numba kernel that scores one MCC template against many (spec 4; Cappelli, Ferrara,
Maltoni, TPAMI 32(12) 2010, sections 4-5): local similarity of every comparable cylinder
pair (``_mcc_local``), selection of the best pairs (``_mcc_select``), consolidation by LSS
or LSS-R (``_mcc_relaxation``).  Pure functions over arrays; ``matcher.finger.mcc`` owns
the layout (``_mcc_cylinders``) and the parameters.

LSS: the sum of the nP best local similarities divided by nP (a missing one counts 0).
Pairs are ranked by (similarity descending, probe minutia, gallery minutia), so ties
resolve the same way in every implementation whatever order cylinders are stored in.

Speed (``benchmarks/mcc_speed.py``, one thread, ~47-minutia plain impressions, NS = 8):
~82,000 comparisons/s with LSS, ~42,000/s with LSS-R, of which relaxation takes half.
What mattered, measured: no array views inside the pair loop (each costs an atomic
reference count), compile-time word counts, cylinders sorted by direction (the
delta_theta test turned from a coin-toss branch into a window), no integer division in
inner loops, a counting sort instead of a heap for the best nR pairs.
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit

from matcher.finger._mcc_cylinders import wrap_angle
from matcher.finger._mcc_local import pair_counts, pair_count, popcount, widen_validity
from matcher.finger._mcc_relaxation import probe_geometry, relax
from matcher.finger._mcc_select import BINS, PAIR_MASK, PAIR_SHIFT, select_best

_CACHE = os.environ.get("MATCHER_NUMBA_NO_CACHE") is None

#: Layout of the ``settings`` vector of ``score_many`` (built by ``mcc.MccParameters``).
(M_DELTA_THETA, M_MIN_MATCHABLE, M_MIN_NP, M_MAX_NP, M_MU_P, M_TAU_P, M_N_REL, M_W_R,
 M_MU_DISTANCE, M_TAU_DISTANCE, M_MU_DIRECTION, M_TAU_DIRECTION, M_MU_RADIAL, M_TAU_RADIAL,
 M_RHO_CUTOFF, M_ND) = range(16)
N_MATCH_SETTINGS = 16


_SCORE_MANY_SIGNATURE = (
    "void(uint64[:, ::1], uint64[:, ::1], uint64[:, ::1], float32[::1], float32[::1],"
    " float32[::1], int32[::1], uint64[:, ::1], uint64[:, ::1], float32[::1], float32[::1],"
    " float32[::1], int32[::1], int64[::1], float64[::1], boolean, float64[::1],"
    " float64[::1], int64[::1], uint64[::1], float64[:, ::1], float64[::1])")
_SCORERS = {}
#: Margin (rad) of the direction window around +-delta_theta: far above rounding error, so
#: the window holds every pair the exact test accepts.
_WINDOW_MARGIN = 1e-6


def scorer(words: int, spatial: int):
    """``score_many`` compiled for cylinders of ``words`` bit words and ``spatial``
    validity words.  The counts are compile-time constants inside it: with them read from
    the arrays' shapes LLVM kept a generic loop and the kernel ran 2.5x slower."""
    key = (words, spatial)
    if key not in _SCORERS:
        _SCORERS[key] = _make_scorer(words, spatial)
    return _SCORERS[key]


@njit("float64(float32[::1], int64, int64, int64)", nogil=True, cache=_CACHE, inline="always")
def _unrolled_direction(theta, start, n, index):
    """Direction of entry ``index`` of a template's cylinders (sorted by direction)
    repeated three times, one turn apart: index in [0, 3n) covers [-2 pi, 4 pi)."""
    turn = np.int64(index >= n) + np.int64(index >= 2 * n)  # no division in the hot loop
    return np.float64(theta[start + index - turn * n]) + (turn - 1) * 2.0 * np.pi


def _make_scorer(words, spatial):
    @njit(_SCORE_MANY_SIGNATURE, nogil=True, cache=_CACHE)
    def score_many(p_bits, p_valid, p_valid_wide, p_x, p_y, p_theta, p_minutia,
                   g_bits, g_valid, g_x, g_y, g_theta, g_minutia, g_offsets,
                   settings, relaxation, sqrt_table, work_f64, work_i64, work_u64, evidence,
                   out):
        """Score of the probe against each gallery template t (cylinders ``g_offsets[t]``
        to ``g_offsets[t + 1]``) into ``out[t]``: LSS-R when ``relaxation``, else LSS; 0..1.

        Cylinders are sorted by direction in both templates, so the gallery cylinders
        within delta_theta of a probe cylinder form one run of the gallery's directions
        unrolled over three turns; two pointers that only move forward find each run,
        and only pairs in it are tested.

        ``p_valid_wide`` is the probe's validity widened to the bit layout;
        ``sqrt_table[c]`` = sqrt(c) for every possible count.  Work buffers (sizes from
        ``mcc._Workspace``): ``work_u64`` = exactly L x W words of widened gallery
        validity, L the largest gallery template (L is read from its size); with P = max(n_a L, maxNP) candidate pairs, ``work_f64`` =
        4 n_a^2 + 2 P + 11 n_a + maxNP, ``work_i64`` = 2 n_a^2 + 2 P + BINS + 1 + 2 n_a +
        maxNP.
        ``evidence`` (maxNP x 4) receives, for the last template, the pairs behind the
        score: probe cylinder, gallery cylinder, initial and final similarity (rows past
        nP are -1).
        """
        n_a = p_bits.shape[0]
        largest = work_u64.shape[0] // words
        pairs = max(n_a * largest, np.int64(settings[M_MAX_NP]))
        square = n_a * n_a
        geometry = work_f64[:3 * square].reshape((3, n_a, n_a))
        if relaxation:
            probe_geometry(p_x, p_y, p_theta, geometry[0], geometry[1], geometry[2])
        rho_value = work_f64[3 * square:4 * square]
        candidate_value = work_f64[4 * square:4 * square + pairs]
        top_value = work_f64[4 * square + pairs:4 * square + 2 * pairs]
        relax_f64 = work_f64[4 * square + 2 * pairs:]
        candidate_pair = work_i64[:pairs]
        top_pair = work_i64[pairs:2 * pairs]
        histogram = work_i64[2 * pairs:2 * pairs + BINS + 1]
        ints = work_i64[2 * pairs + BINS + 1:]
        g_valid_wide = work_u64.reshape((-1, words))
        delta_theta = settings[M_DELTA_THETA]
        min_matchable = settings[M_MIN_MATCHABLE]
        nd = np.int64(settings[M_ND])
        for template in range(g_offsets.shape[0] - 1):
            start = g_offsets[template]
            n_b = g_offsets[template + 1] - start
            out[template] = 0.0
            if n_a == 0 or n_b == 0:
                continue
            widen_validity(g_valid, start, start + n_b, g_valid_wide)
            n_p = pair_count(n_a, n_b, settings)
            n_r = min(n_a, n_b)
            capacity = max(n_r, n_p) if relaxation else n_p
            count = 0
            low = 0
            high = 0
            for i in range(n_a):
                theta_a = np.float64(p_theta[i])
                key_a = np.int64(p_minutia[i]) << 15
                while low < 3 * n_b and _unrolled_direction(g_theta, start, n_b, low) < (
                        theta_a - delta_theta - _WINDOW_MARGIN):
                    low += 1
                high = max(high, low)
                while high < 3 * n_b and _unrolled_direction(g_theta, start, n_b, high) <= (
                        theta_a + delta_theta + _WINDOW_MARGIN):
                    high += 1
                first = low
                last = min(high, low + n_b)
                for index in range(first, last):
                    j = index - n_b * (np.int64(index >= n_b) + np.int64(index >= 2 * n_b))
                    if abs(wrap_angle(theta_a - np.float64(g_theta[start + j]))) > delta_theta:
                        continue
                    common = np.uint64(0)
                    for s in range(spatial):
                        common += popcount(p_valid[i, s] & g_valid[start + j, s])
                    if np.float64(common * nd) < min_matchable:
                        continue
                    na, nb, nx = pair_counts(p_bits, p_valid_wide, i, g_bits,
                                             g_valid_wide, start + j, j, words)
                    denominator = sqrt_table[na] + sqrt_table[nb]
                    if denominator == 0.0:
                        continue
                    similarity = 1.0 - sqrt_table[nx] / denominator
                    if similarity > 0.0:
                        candidate_value[count] = similarity
                        candidate_pair[count] = ((key_a + g_minutia[start + j]) << PAIR_SHIFT) | (
                            i * n_b + j)
                        count += 1
            count = select_best(candidate_value, candidate_pair, count, capacity, histogram,
                                top_value, top_pair)
            if relaxation:
                out[template] = relax(top_value, top_pair, min(count, n_r), n_r, n_p, n_b,
                                      geometry, g_x, g_y, g_theta, start, settings, rho_value,
                                      relax_f64, ints, evidence)
            else:
                total = 0.0
                evidence[:, :] = -1.0
                for r in range(min(count, n_p)):
                    total += top_value[r]
                    evidence[r, 0] = (top_pair[r] & PAIR_MASK) // n_b
                    evidence[r, 1] = (top_pair[r] & PAIR_MASK) % n_b
                    evidence[r, 2] = top_value[r]
                    evidence[r, 3] = top_value[r]
                out[template] = total / n_p

    return score_many
