"""numba kernels for MCC's LSS-R consolidation (Cappelli, Ferrara, Maltoni, TPAMI 32(12)
2010, section 5.2; spec 4).

Start from the n_sel <= nR = min(nA, nB) best pairs (zero similarities left out: they
add nothing and have no efficiency).  Pairs t = (a_t, b_t) and k support each other by
rho(t, k) = Z(d1; mu1, tau1) Z(d2; mu2, tau2) Z(d3; mu3, tau3), Z(v) = 1 / (1 + e^(-tau (v - mu))):

    d1 = | |a_k - a_t| - |b_k - b_t| |                                (distances agree)
    d2 = | wrap(wrap(theta(a_t) - theta(a_k)) - wrap(theta(b_t) - theta(b_k))) |
    d3 = | wrap(R(a_t, a_k) - R(b_t, b_k)) |, R(m, n) = wrap(theta(m) - angle(n - m))

then nrel rounds of l_t <- wR l_t + (1 - wR) sum_(k != t) rho(t, k) l_k / (nR - 1).  The
score is the sum of the relaxed l over the nP pairs of highest efficiency l / l^0,
divided by nP.

rho is sparse: a factor whose exponent -tau (v - mu) exceeds ``MccParameters.rho_cutoff``
makes rho 0 (part of the score's definition; the reference applies it too).  Sums run
over k in increasing order, as in the reference (zeros add nothing).

Speed (~45 selected pairs, ~950 pairs of pairs, ~18 % within the distance cutoff, ~65
rho entries per comparison): one branch-free pass over every pair of pairs keeps those
whose gallery distance squared lies within the probe's bounds (``probe_geometry``: no
sqrt, no atan2; a superset of the exact test, which follows); one branch-free pass over
the survivors evaluates both rho(t, k) and rho(k, t) with ``_mcc_math``'s exp and atan2
(within two ulps of libm's; calls to libm kept the loop scalar and cost half the time),
so LLVM vectorises both; the entries are then compacted.  A branchy cascade with libm
calls took ~11 us a comparison, this ~2 us.
"""

from __future__ import annotations

import math
import os

import numpy as np
from numba import njit

from matcher.finger._mcc_cylinders import half_turn, vector_angle, wrap_angle
from matcher.finger._mcc_math import atan2_right, exp
from matcher.finger._mcc_select import gallery_cylinder, insert_descending, probe_cylinder
from numba.cpython.unsafe.numbers import trailing_zeros, viewer

_CACHE = os.environ.get("MATCHER_NUMBA_NO_CACHE") is None

# Indices into the settings vector; the same values as ``_mcc_kernels.M_*``.
_M_N_REL, _M_W_R = 6, 7
_M_MU_DISTANCE, _M_TAU_DISTANCE, _M_MU_DIRECTION, _M_TAU_DIRECTION = 8, 9, 10, 11
_M_MU_RADIAL, _M_TAU_RADIAL, _M_RHO_CUTOFF = 12, 13, 14

#: Planes of the probe geometry (``probe_geometry``), each n_a x n_a.
G_DISTANCE, G_DIRECTION, G_RADIAL = range(3)
GEOMETRY_PLANES = 3
#: Rows of ``relax``'s per-pair work array.
_LAM0, _LAM, _SUMS, _X, _Y, _THETA = range(6)
PAIR_ROWS = 6
#: Pairs of pairs tested at once (``_candidate_mask``); ``per_pair`` and ``probe_row``
#: hold n + LANE_BLOCK_RHO entries.
LANE_BLOCK_RHO = 16
#: Rows of the staged pairs of pairs (``relax``, ``_rho_pairs``).
(_S_DX, _S_DY, _S_THETA_T, _S_THETA_K, _S_DISTANCE, _S_DIRECTION, _S_RADIAL_TK,
 _S_RADIAL_KT) = range(8)
STAGED_ROWS = 8


@njit("void(float32[::1], float32[::1], float32[::1], float64[:, :, ::1], float32[:, :, ::1])",
      nogil=True, cache=_CACHE)
def probe_geometry(x, y, theta, geometry, approx):
    """Per ordered pair (t, k) of the probe's cylinders (once per search): the distance
    |m_k - m_t|, the direction difference wrap(theta_t - theta_k) and the radial angle at
    t, wrap(theta_t - angle of m_k - m_t) (the probe's side of d1, d2, d3), and in
    ``approx`` the distance and the direction difference rounded to float32 for
    ``_candidate_mask``."""
    n = x.shape[0]
    for t in range(n):
        for k in range(n):
            dx = np.float64(x[k]) - np.float64(x[t])
            dy = np.float64(y[k]) - np.float64(y[t])
            distance = np.sqrt(dx * dx + dy * dy)
            direction = wrap_angle(np.float64(theta[t]) - np.float64(theta[k]))
            geometry[G_DISTANCE, t, k] = distance
            geometry[G_DIRECTION, t, k] = direction
            geometry[G_RADIAL, t, k] = wrap_angle(np.float64(theta[t]) - vector_angle(dx, dy))
            approx[0, t, k] = np.float32(distance)
            approx[1, t, k] = np.float32(direction)


@njit("UniTuple(float32, 3)(float64[::1])", nogil=True, cache=_CACHE, inline="always")
def _limits(settings):
    """Where rho's distance and direction factors can pass the cutoff: the largest
    |probe distance - gallery distance| (inf when tau1 >= 0) and the range of d2, widened
    by margins far above the error of ``_candidate_mask``'s float32 arithmetic (1e-4 px
    at 1,000 px, 1e-6 rad)."""
    cutoff = settings[_M_RHO_CUTOFF]
    tau = settings[_M_TAU_DISTANCE]
    reach = np.inf
    if tau < 0.0:
        reach = settings[_M_MU_DISTANCE] + cutoff / -tau + 0.01
    tau = settings[_M_TAU_DIRECTION]
    mu = settings[_M_MU_DIRECTION]
    low = -np.inf
    high = np.inf
    if tau < 0.0:  # -tau (d2 - mu) <= cutoff: d2 <= mu + cutoff / -tau
        high = mu + cutoff / -tau + 1e-5
    elif tau > 0.0:
        low = mu - cutoff / tau - 1e-5
    elif cutoff < 0.0:
        high = -np.inf
    return np.float32(reach), np.float32(low), np.float32(high)


@njit("uint32(int64, int64, int64, float32, float32, float32, float32[:, ::1], int32[::1],"
      " float32[:, :, ::1], float32, float32, float32)", nogil=True, cache=_CACHE,
      error_model="numpy", inline="always")
def _candidate_mask(first, count, i_t, x_t, y_t, theta_t, pairs32, rows32, approx, reach,
                    d2_low, d2_high):
    """Bit q set for each k = first + q (q < count <= 32) that may pass rho's distance and
    direction cutoffs: the gallery distance within ``reach`` of the probe's, d2 within
    [d2_low, d2_high] (``_limits``), in float32 with margins (a superset; ``_rho_pairs``
    applies the exact tests).  The direction factor is the same both ways (wrap is odd:
    d2(t, k) = d2(k, t) to the bit).  float32 and 32-bit indices fill eight lanes a
    vector, there is no store in the loop and indices are unsigned (no wraparound
    select), so LLVM vectorises it with gathers; ``count`` is a multiple of
    LANE_BLOCK_RHO and entries past n_sel fail (NaN positions): no scalar remainder."""
    mask = np.uint32(0)
    row = np.uint64(i_t)
    start = np.uint64(first)
    turn = np.float32(2.0 * math.pi)
    zero = np.float32(0.0)
    for q in range(np.uint32(count)):
        k = start + np.uint64(q)
        dx = pairs32[0, k] - x_t
        dy = pairs32[1, k] - y_t
        squared = dx * dx + dy * dy
        i_k = np.uint32(rows32[k])
        distance = approx[0, row, i_k]
        low = max(distance - reach, zero)
        high = distance + reach
        # d2 = |wrap(direction - wrap(theta_t - theta_k))|: the distance of the
        # difference (in (-3 pi, 3 pi)) to the nearest whole turn
        difference = abs(approx[1, row, i_k] - theta_t + pairs32[2, k])
        d2 = min(difference, abs(difference - turn))
        inside = ((squared >= low * low) & (squared <= high * high) & (d2 >= d2_low)
                  & (d2 <= d2_high))
        mask = np.uint32(mask | (np.uint32(inside) << q))  # numba widens to 64 bits
    return mask


@njit("void(int64, float64[:, ::1], float64[:, ::1], float64[::1])", nogil=True, cache=_CACHE,
      error_model="numpy", inline="always")
def _rho_pairs(count, staged, rho, settings):
    """rho(t, k) into ``rho[0]`` and rho(k, t) into ``rho[1]`` (0 where a factor is cut
    off) for ``count`` pairs of pairs staged by ``relax``.  Straight-line code over
    contiguous rows, so LLVM vectorises it (error_model="numpy": a division check would
    be an early exit).  rho = 1 / ((1 + e^x1)(1 + e^x2)(1 + e^x3)), the product of the
    three sigmoids with one division (rounding aside)."""
    cutoff = settings[_M_RHO_CUTOFF]
    mu_distance = settings[_M_MU_DISTANCE]
    tau_distance = settings[_M_TAU_DISTANCE]
    mu_direction = settings[_M_MU_DIRECTION]
    tau_direction = settings[_M_TAU_DIRECTION]
    mu_radial = settings[_M_MU_RADIAL]
    tau_radial = settings[_M_TAU_RADIAL]
    for s in range(count):
        dx = staged[_S_DX, s]
        dy = staged[_S_DY, s]
        theta_t = staged[_S_THETA_T, s]
        theta_k = staged[_S_THETA_K, s]
        d1 = abs(staged[_S_DISTANCE, s] - np.sqrt(dx * dx + dy * dy))
        distance1 = -tau_distance * (d1 - mu_distance)
        direction2 = -tau_direction * (abs(wrap_angle(
            staged[_S_DIRECTION, s] - wrap_angle(theta_t - theta_k))) - mu_direction)
        # vector_angle's rule: one atan2, of the vector pointing right, for both ways
        right = (dx > 0.0) | ((dx == 0.0) & (dy >= 0.0))
        angle = atan2_right(dy if right else -dy, dx if right else -dx)
        turned = angle if (dx == 0.0) & (dy == 0.0) else half_turn(angle)
        forward3 = -tau_radial * (abs(wrap_angle(staged[_S_RADIAL_TK, s] - wrap_angle(
            theta_t - (angle if right else turned)))) - mu_radial)
        backward3 = -tau_radial * (abs(wrap_angle(staged[_S_RADIAL_KT, s] - wrap_angle(
            theta_k - (turned if right else angle)))) - mu_radial)
        shared = (1.0 + exp(distance1)) * (1.0 + exp(direction2))
        near = (distance1 <= cutoff) & (direction2 <= cutoff)
        rho[0, s] = 1.0 / (shared * (1.0 + exp(forward3))) if near & (forward3 <= cutoff) else 0.0
        rho[1, s] = 1.0 / (shared * (1.0 + exp(backward3))) if near & (
            backward3 <= cutoff) else 0.0


@njit("float64(float64[::1], int64[::1], int64, int64, int64, float64[:, :, ::1],"
      " float32[:, :, ::1], float32[:, ::1], int32[::1], float32[::1], float32[::1], float32[::1], int64, float64[::1], float64[:, ::1],"
      " int64[::1], int64[:, ::1], float64[:, ::1], float64[:, ::1], int64[:, ::1],"
      " float64[::1], float64[::1], int64[::1], float64[:, ::1])", nogil=True, cache=_CACHE,
      error_model="numpy")
def relax(top_value, top_pair, n_sel, n_r, n_p, geometry, approx, pairs32, rows32, g_x, g_y,
          g_theta, start,
          settings, per_pair, probe_row, survivor, staged, rho, entry, entry_value,
          rank_value, rank, evidence):
    """LSS-R score of the ``n_sel`` best pairs (``top_pair`` items, similarity
    ``top_value``) given the probe's ``geometry`` (``probe_geometry``) and the gallery
    template starting at row ``start``.  Work, with n_sel <= L and H = L(L-1)/2:
    ``per_pair`` PAIR_ROWS x L, ``probe_row`` L, ``survivor`` 2 x H, ``staged``
    STAGED_ROWS x H, ``rho`` 2 x H, ``entry`` 2 x 2H, ``entry_value`` 2H,
    ``rank_value``/``rank`` nP.  Writes the nP pairs behind the score to ``evidence``
    (probe cylinder, gallery cylinder, lambda^0, lambda^nrel)."""
    for r in range(evidence.shape[0]):
        for c in range(evidence.shape[1]):
            evidence[r, c] = -1.0
    if n_sel == 0:
        return 0.0
    for t in range(n_sel, n_sel + LANE_BLOCK_RHO):  # padding: no pair passes
        pairs32[0, t] = np.nan
        pairs32[1, t] = np.nan
        pairs32[2, t] = 0.0
        rows32[t] = 0
    for t in range(n_sel):
        per_pair[_LAM0, t] = top_value[t]
        per_pair[_LAM, t] = top_value[t]
        probe_row[t] = probe_cylinder(top_pair[t])
        rows32[t] = np.int32(probe_row[t])
        row = start + gallery_cylinder(top_pair[t])
        pairs32[0, t] = g_x[row]
        pairs32[1, t] = g_y[row]
        pairs32[2, t] = g_theta[row]
        per_pair[_X, t] = np.float64(g_x[row])
        per_pair[_Y, t] = np.float64(g_y[row])
        per_pair[_THETA, t] = np.float64(g_theta[row])
    # Pairs of pairs (t < k) that pass the distance and direction cutoffs, in (t, k)
    # order, staged in rows for _rho_pairs.
    cutoff = settings[_M_RHO_CUTOFF]
    tau_direction = settings[_M_TAU_DIRECTION]
    mu_direction = settings[_M_MU_DIRECTION]
    reach, d2_low, d2_high = _limits(settings)
    survivors = 0
    for t in range(n_sel):
        i_t = probe_row[t]
        x_t = per_pair[_X, t]
        y_t = per_pair[_Y, t]
        theta_t = per_pair[_THETA, t]
        for first in range(t + 1, n_sel, 32):
            count = (min(n_sel - first, 32) + LANE_BLOCK_RHO - 1) // LANE_BLOCK_RHO * LANE_BLOCK_RHO
            mask = _candidate_mask(first, count, i_t, pairs32[0, t], pairs32[1, t],
                                   pairs32[2, t], pairs32, rows32, approx, reach, d2_low,
                                   d2_high)
            while mask:
                k = first + trailing_zeros(mask)
                mask &= mask - np.uint32(1)
                i_k = probe_row[k]
                survivor[0, survivors] = t
                survivor[1, survivors] = k
                staged[_S_DX, survivors] = per_pair[_X, k] - x_t
                staged[_S_DY, survivors] = per_pair[_Y, k] - y_t
                staged[_S_THETA_T, survivors] = theta_t
                staged[_S_THETA_K, survivors] = per_pair[_THETA, k]
                staged[_S_DISTANCE, survivors] = geometry[G_DISTANCE, i_t, i_k]
                staged[_S_DIRECTION, survivors] = geometry[G_DIRECTION, i_t, i_k]
                staged[_S_RADIAL_TK, survivors] = geometry[G_RADIAL, i_t, i_k]
                staged[_S_RADIAL_KT, survivors] = geometry[G_RADIAL, i_k, i_t]
                survivors += 1
    _rho_pairs(survivors, staged, rho, settings)
    # Entries (row, column, rho) in survivor order: row r receives (r, t < r) from the
    # survivors (t, r) before (r, k > r) from the survivors (r, k), so every row's
    # entries come in increasing column order, the order of the reference's sums.
    entries = 0
    for s in range(survivors):
        t = survivor[0, s]
        k = survivor[1, s]
        entry[0, entries] = t
        entry[1, entries] = k
        entry_value[entries] = rho[0, s]
        entries += np.int64(rho[0, s] > 0.0)
        entry[0, entries] = k
        entry[1, entries] = t
        entry_value[entries] = rho[1, s]
        entries += np.int64(rho[1, s] > 0.0)
    w_r = settings[_M_W_R]
    divisor = max(n_r - 1, 1)
    for _ in range(np.int64(settings[_M_N_REL])):
        for t in range(n_sel):
            per_pair[_SUMS, t] = 0.0
        for e in range(entries):
            per_pair[_SUMS, entry[0, e]] += entry_value[e] * per_pair[_LAM, entry[1, e]]
        for t in range(n_sel):
            per_pair[_LAM, t] = (w_r * per_pair[_LAM, t]
                                 + (1.0 - w_r) * per_pair[_SUMS, t] / divisor)
    kept = 0
    for t in range(n_sel):
        kept = insert_descending(per_pair[_LAM, t] / per_pair[_LAM0, t], t, rank_value, rank,
                                 kept, n_p)
    total = 0.0
    for r in range(kept):
        t = rank[r]
        total += per_pair[_LAM, t]
        evidence[r, 0] = probe_cylinder(top_pair[t])
        evidence[r, 1] = gallery_cylinder(top_pair[t])
        evidence[r, 2] = per_pair[_LAM0, t]
        evidence[r, 3] = per_pair[_LAM, t]
    return total / n_p
