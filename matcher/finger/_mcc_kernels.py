"""numba kernel that scores one MCC template against many (spec 4; Cappelli, Ferrara,
Maltoni, TPAMI 32(12) 2010, sections 4-5): local similarity of every comparable cylinder
pair (``_mcc_local``), selection of the best pairs (``_mcc_select``), consolidation by LSS
or LSS-R (``_mcc_relaxation``).  Pure functions over arrays; ``matcher.finger.mcc`` owns
the layout (``_mcc_cylinders``), the parameters and the work buffers
(``_mcc_workspace``).

LSS: the sum of the nP best local similarities divided by nP (a missing one counts 0).
Pairs are ranked by (similarity descending, probe minutia, gallery minutia), so ties
resolve the same way in every implementation whatever order cylinders are stored in.

Speed (``benchmarks/mcc_speed.py``, one thread, ~47-minutia plain impressions, NS = 8):
~105,000 comparisons/s with LSS-R, ~250,000/s with LSS (before this layout: ~42,000 and
~82,000).  The probe is laid out once per search (lanes, window table, nP table,
relaxation geometry); then, per gallery template, ~2 us of counting (~800 comparable
cylinder pairs, ``_mcc_local``), ~0.5 us of similarities, ~1-2 us of selection (nP or nR
best pairs) and ~4.5 us of relaxation.  What mattered, measured: loops LLVM vectorises
(unsigned indices, no store beside a gather, error_model="numpy" so a division is no
early exit, no call to libm, the lane loop innermost, constant row offsets so LLVM's
overlap checks stay few), fewer popcounts (bit planes), compile-time word counts, no
array views inside loops (each costs an atomic reference count), no integer division in
inner loops, a counting sort for the best pairs.  512-bit vectors (LLVM prefers 256 on
this machine) did not pay: the runs are short and longer vector steps pad them more.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import sys
from pathlib import Path

import numpy as np
from numba import njit

from matcher.finger import (
    _mcc_cylinders, _mcc_lanes, _mcc_local, _mcc_math, _mcc_relaxation, _mcc_rho, _mcc_select)
from matcher.finger._mcc_lanes import probe_lanes, window_table
from matcher.finger._mcc_local import count_lanes, lane_similarities, pair_count
from matcher.finger._mcc_relaxation import relax
from matcher.finger._mcc_rho import probe_geometry
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
    " int32[::1], int64[::1], int64[::1], float64[::1], boolean, "
    + signature_types() + ", float64[:, ::1], float64[::1])")
_SCORERS = {}


def scorer(words: int, spatial: int, nd: int, planes: int, stride: int):
    """``score_many`` compiled for cylinders of ``words`` bit words, ``spatial``
    validity words, ``nd`` direction bins held in ``planes`` bit planes, and probe lanes
    ``stride`` apart (``_mcc_lanes.lane_stride``).  The counts are compile-time constants
    inside it: with them read from the arrays' shapes LLVM kept a generic loop and the
    kernel ran 2.5x slower."""
    key = (words, spatial, nd, planes, stride)
    if key not in _SCORERS:
        _SCORERS[key] = _make_scorer(words, spatial, nd, planes, stride)
    return _SCORERS[key]


def _source_stamp() -> int:
    """A digest of every module whose code is compiled into ``score_many``.  numba's
    cache checks only the file a function is defined in, while ``score_many`` inlines or
    links code from these; as a closure variable, the digest is part of its cache key, so
    an edit to any of them recompiles it instead of loading stale code."""
    digest = hashlib.sha1()
    for module in (_mcc_cylinders, _mcc_lanes, _mcc_local, _mcc_math, _mcc_relaxation,
                   _mcc_rho, _mcc_select, sys.modules[__name__]):
        digest.update(Path(module.__file__).read_bytes())
    return int.from_bytes(digest.digest()[:7], "little")


def _make_scorer(words, spatial, nd, planes, stride):
    sqrt_table = np.sqrt(np.arange(64 * words + 1, dtype=np.float64))  # frozen constant
    source_stamp = _source_stamp()

    @njit(_SCORE_MANY_SIGNATURE, nogil=True, cache=_CACHE, error_model="numpy")
    def score_many(p_bits, p_valid, p_x, p_y, p_theta, p_minutia,
                   g_bits, g_valid, g_x, g_y, g_theta, g_minutia, g_starts, g_counts,
                   settings, relaxation,
                   lanes, packed, common, lane_theta, lane_index, table, pairs_averaged,
                   runs, similarities, bins, histogram, slot_run, best_values, best_items,
                   geometry, approx, pairs32, rows32, per_pair, probe_row, survivor, masks,
                   staged, rho, entry, entry_value, rank_value, rank, evidence, out):
        """Score of the probe against each gallery template t (the ``g_counts[t]``
        cylinders from row ``g_starts[t]``; templates may be any rows of the arrays, so a
        shortlist is scored where it lies) into ``out[t]``: LSS-R when ``relaxation``, else LSS;
        0..1.  Work arrays as ``_mcc_workspace`` lays them out.  ``evidence`` (maxNP x 4)
        receives, for the last template, the pairs behind the score: probe cylinder,
        gallery cylinder, initial and final similarity (rows past nP are -1)."""
        if source_stamp < 0:  # never: makes the stamp part of the cache key
            return
        n_a = p_bits.shape[0]
        delta_theta = settings[M_DELTA_THETA]
        min_common = np.int64(settings[M_MIN_COMMON])
        if n_a > 0:
            probe_lanes(p_bits, p_valid, p_theta, spatial, nd, planes, stride, lanes,
                        lane_theta, lane_index)
            window_table(lane_theta, n_a, delta_theta, table)
            for smaller in range(n_a + 1):  # nP depends on min(nA, nB) <= nA only
                pairs_averaged[smaller] = pair_count(smaller, smaller, settings)
            if relaxation:
                probe_geometry(p_x, p_y, p_theta, geometry, approx)
        for template in range(g_starts.shape[0]):
            start = g_starts[template]
            n_b = g_counts[template]
            out[template] = 0.0
            if n_a == 0 or n_b == 0:
                continue
            used = count_lanes(lanes, lane_theta, table, g_bits, g_valid, g_theta, start, n_b,
                               delta_theta, min_common, words, spatial, nd, planes, stride,
                               packed, common, runs)
            lane_similarities(used, packed, sqrt_table, similarities, bins, BINS)
            n_p = pairs_averaged[min(n_a, n_b)]
            n_r = min(n_a, n_b)
            capacity = max(n_r, n_p) if relaxation else n_p
            count = select_lanes(similarities, bins, runs, used, n_b, lane_index, p_minutia,
                                 g_minutia, start, capacity, histogram, slot_run,
                                 best_values, best_items)
            if relaxation:
                out[template] = relax(best_values, best_items, min(count, n_r), n_r, n_p,
                                      geometry, approx, pairs32, rows32, g_x, g_y, g_theta,
                                      start, settings, per_pair, probe_row, survivor, masks,
                                      staged, rho, entry, entry_value, rank_value, rank,
                                      evidence)
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

    work = list(inspect.signature(score_many.py_func).parameters)[16:16 + len(ARRAYS)]
    if work != [name for name, _, _ in ARRAYS]:
        raise AssertionError(f"score_many's work arguments {work} differ from the workspace's")
    return score_many


__all__ = ["N_MATCH_SETTINGS", "scorer"]
