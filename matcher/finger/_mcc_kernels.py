"""numba kernel that scores one MCC template against many (spec 4; Cappelli, Ferrara,
Maltoni, TPAMI 32(12) 2010, sections 4-5): local similarity of every comparable cylinder
pair (``_mcc_local``), selection of the best pairs (``_mcc_select``), consolidation by LSS
or LSS-R (``_mcc_relaxation``).  Pure functions over arrays; ``matcher.finger.mcc`` owns
the layout (``_mcc_cylinders``), the parameters and the work buffers
(``_mcc_workspace``).

LSS: the sum of the nP best local similarities divided by nP (a missing one counts 0).
Pairs are ranked by (similarity descending, probe minutia, gallery minutia), so ties
resolve the same way in every implementation whatever order cylinders are stored in.

Speed (``benchmarks/mcc_speed.py``, one thread, ~47-minutia plain impressions, NS = 8),
per comparison: the probe is laid out once per search (lanes, window table, relaxation
geometry); then per gallery template ~2 us of counting, ~0.5 us of similarities, ~1 us
of selection and ~4 us of relaxation.  What mattered, measured: loops LLVM can
vectorise (unsigned lane indices, no store beside a gather, error_model="numpy" so a
division is no early exit, no call to libm), fewer popcounts (bit planes), compile-time
word counts, no array views inside loops (each costs an atomic reference count), no
integer division in inner loops, a counting sort for the best pairs.
"""

from __future__ import annotations

import inspect
import os

import numpy as np
from numba import njit

from matcher.finger._mcc_local import (
    BUCKETS, count_lanes, gallery_planes, lane_similarities, pair_count, probe_lanes,
    window_table)
from matcher.finger._mcc_relaxation import probe_geometry, relax
from matcher.finger._mcc_select import BINS, gallery_cylinder, probe_cylinder, select_lanes
from matcher.finger._mcc_workspace import ARRAYS, signature_types

_CACHE = os.environ.get("MATCHER_NUMBA_NO_CACHE") is None

#: Layout of the ``settings`` vector of ``score_many`` (built by ``mcc.MccParameters``).
(M_DELTA_THETA, M_MIN_MATCHABLE, M_MIN_NP, M_MAX_NP, M_MU_P, M_TAU_P, M_N_REL, M_W_R,
 M_MU_DISTANCE, M_TAU_DISTANCE, M_MU_DIRECTION, M_TAU_DIRECTION, M_MU_RADIAL, M_TAU_RADIAL,
 M_RHO_CUTOFF, M_ND, M_MIN_COMMON) = range(17)
N_MATCH_SETTINGS = 17

_SCORE_MANY_SIGNATURE = (
    "void(uint64[:, ::1], uint64[:, ::1], float32[::1], float32[::1], float32[::1],"
    " int32[::1], uint64[:, ::1], uint64[:, ::1], float32[::1], float32[::1], float32[::1],"
    " int32[::1], int64[::1], float64[::1], boolean, "
    + signature_types() + ", float64[:, ::1], float64[::1])")
_SCORERS = {}


def scorer(words: int, spatial: int, nd: int, planes: int, stride: int):
    """``score_many`` compiled for cylinders of ``words`` bit words, ``spatial``
    validity words, ``nd`` direction bins held in ``planes`` bit planes, and probe lanes
    ``stride`` apart (``_mcc_local.lane_stride``).  The counts are compile-time constants
    inside it: with them read from the arrays' shapes LLVM kept a generic loop and the
    kernel ran 2.5x slower."""
    key = (words, spatial, nd, planes, stride)
    if key not in _SCORERS:
        _SCORERS[key] = _make_scorer(words, spatial, nd, planes, stride)
    return _SCORERS[key]


def _make_scorer(words, spatial, nd, planes, stride):
    sqrt_table = np.sqrt(np.arange(64 * words + 1, dtype=np.float64))  # frozen constant

    @njit(_SCORE_MANY_SIGNATURE, nogil=True, cache=_CACHE, error_model="numpy")
    def score_many(p_bits, p_valid, p_x, p_y, p_theta, p_minutia,
                   g_bits, g_valid, g_x, g_y, g_theta, g_minutia, g_offsets,
                   settings, relaxation,
                   lanes, g_planes, packed, common, lane_theta, lane_index, table, runs,
                   similarities, bins, histogram, best_values,
                   best_items, geometry, approx, pairs32, rows32, per_pair, probe_row,
                   survivor, staged, rho, entry, entry_value, rank_value, rank,
                   evidence, out):
        """Score of the probe against each gallery template t (cylinders ``g_offsets[t]``
        to ``g_offsets[t + 1]``) into ``out[t]``: LSS-R when ``relaxation``, else LSS;
        0..1.  Work arrays as ``_mcc_workspace`` lays them out.  ``evidence`` (maxNP x 4)
        receives, for the last template, the pairs behind the score: probe cylinder,
        gallery cylinder, initial and final similarity (rows past nP are -1)."""
        n_a = p_bits.shape[0]
        delta_theta = settings[M_DELTA_THETA]
        min_common = np.int64(settings[M_MIN_COMMON])
        if n_a > 0:
            probe_lanes(p_bits, p_valid, p_theta, spatial, nd, planes, stride, lanes,
                        lane_theta, lane_index)
            window_table(lane_theta, n_a, delta_theta, table)
            if relaxation:
                probe_geometry(p_x, p_y, p_theta, geometry, approx)
        for template in range(g_offsets.shape[0] - 1):
            start = g_offsets[template]
            n_b = g_offsets[template + 1] - start
            out[template] = 0.0
            if n_a == 0 or n_b == 0:
                continue
            gallery_planes(g_bits, start, n_b, spatial, nd, planes, g_planes)
            used = count_lanes(lanes, lane_theta, table, g_bits, g_valid, g_planes, g_theta,
                               start, n_b, delta_theta, min_common, words, spatial, nd, planes,
                               stride, packed, common, runs)
            lane_similarities(used, packed, sqrt_table, similarities, bins, BINS)
            n_p = pair_count(n_a, n_b, settings)
            n_r = min(n_a, n_b)
            capacity = max(n_r, n_p) if relaxation else n_p
            count = select_lanes(similarities, bins, runs, used, n_b, lane_index, p_minutia,
                                 g_minutia, start, capacity, histogram, best_values,
                                 best_items)
            if relaxation:
                out[template] = relax(best_values, best_items, min(count, n_r), n_r, n_p,
                                      geometry, approx, pairs32, rows32, g_x, g_y, g_theta,
                                      start, settings, per_pair,
                                      probe_row, survivor, staged, rho, entry, entry_value,
                                      rank_value, rank, evidence)
            else:
                total = 0.0
                for r in range(evidence.shape[0]):
                    for c in range(evidence.shape[1]):
                        evidence[r, c] = -1.0
                for r in range(min(count, n_p)):
                    total += best_values[r]
                    evidence[r, 0] = probe_cylinder(best_items[r])
                    evidence[r, 1] = gallery_cylinder(best_items[r])
                    evidence[r, 2] = best_values[r]
                    evidence[r, 3] = best_values[r]
                out[template] = total / n_p

    work = list(inspect.signature(score_many.py_func).parameters)[15:15 + len(ARRAYS)]
    if work != [name for name, _, _ in ARRAYS]:
        raise AssertionError(f"score_many's work arguments {work} differ from the workspace's")
    return score_many


__all__ = ["BUCKETS", "N_MATCH_SETTINGS", "scorer"]
