"""rho, the support two pairs of MCC's LSS-R give each other (Cappelli, Ferrara,
Maltoni, TPAMI 32(12) 2010, section 5.2; spec 4): ``_mcc_relaxation`` consolidates with it.

Pairs t = (a_t, b_t) and k: rho(t, k) = Z(d1; mu1, tau1) Z(d2; mu2, tau2) Z(d3; mu3, tau3),
Z(v) = 1 / (1 + e^(-tau (v - mu))), with

    d1 = | |a_k - a_t| - |b_k - b_t| |                                (distances agree)
    d2 = | wrap(wrap(theta(a_t) - theta(a_k)) - wrap(theta(b_t) - theta(b_k))) |
    d3 = | wrap(R(a_t, a_k) - R(b_t, b_k)) |, R(m, n) = wrap(theta(m) - angle(n - m))

and rho 0 when a factor's exponent -tau (v - mu) exceeds ``MccParameters.rho_cutoff``
(part of the score's definition; the reference applies it too).  d1 and d2 are the same
for (t, k) and (k, t); d3 is not.

Speed (~45 selected pairs, ~950 pairs of pairs, ~10 % within both the distance and the
direction cutoffs, ~65 non-zero rho per comparison):

* the probe's side of d1, d2, d3 is computed once per search (``probe_geometry``);
* ``candidate_mask`` tests every pair of pairs against the distance and direction
  cutoffs in float32 with margins (a superset of the exact tests), a vectorised loop
  with one gather of the probe's side a pair;
* ``rho_pairs`` evaluates rho(t, k) and rho(k, t) of the survivors exactly, in float64,
  in another vectorised loop: ``_mcc_math``'s exp and atan2 (within two ulps of libm's;
  calls to libm kept the loop scalar) and 1 / ((1 + e^x1)(1 + e^x2)(1 + e^x3)) for the
  product of the three sigmoids.

A branchy cascade with libm calls took ~11 us a comparison, this ~3 us.
"""

from __future__ import annotations

import math
import os

import numpy as np
from numba import njit

from matcher.finger._mcc_cylinders import half_turn, vector_angle, wrap_angle
from matcher.finger._mcc_math import atan2_right, exp

_CACHE = os.environ.get("MATCHER_NUMBA_NO_CACHE") is None

# Indices into the settings vector; the same values as ``_mcc_kernels.M_*``.
_M_MU_DISTANCE, _M_TAU_DISTANCE, _M_MU_DIRECTION, _M_TAU_DIRECTION = 8, 9, 10, 11
_M_MU_RADIAL, _M_TAU_RADIAL, _M_RHO_CUTOFF = 12, 13, 14

#: Fields of the probe geometry (``probe_geometry``), n x n x GEOMETRY_FIELDS: the four
#: values a pair of pairs needs share a cache line.
G_DISTANCE, G_DIRECTION, G_RADIAL, G_RADIAL_BACK = range(4)
GEOMETRY_FIELDS = 4
#: Pairs of pairs ``candidate_mask`` is given at once, a multiple of its vector loop's
#: step, so no scalar remainder runs; its inputs hold that many entries of padding.
LANE_BLOCK_RHO = 16
#: Rows of the staged pairs of pairs (``rho_pairs``).
(S_DX, S_DY, S_THETA_T, S_THETA_K, S_DISTANCE, S_DIRECTION, S_RADIAL_TK,
 S_RADIAL_KT) = range(8)
STAGED_ROWS = 8


@njit("void(float32[::1], float32[::1], float32[::1], float64[:, :, ::1], float32[:, :, ::1])",
      nogil=True, cache=_CACHE)
def probe_geometry(x, y, theta, geometry, approx):
    """Per ordered pair (t, k) of the probe's cylinders (once per search): the distance
    |m_k - m_t|, the direction difference wrap(theta_t - theta_k), the radial angles at t,
    wrap(theta_t - angle of m_k - m_t), and at k (the probe's side of d1, d2, d3), and in
    ``approx`` the distance and the direction difference rounded to float32 for
    ``candidate_mask``."""
    n = x.shape[0]
    for t in range(n):
        for k in range(n):
            dx = np.float64(x[k]) - np.float64(x[t])
            dy = np.float64(y[k]) - np.float64(y[t])
            distance = np.sqrt(dx * dx + dy * dy)
            direction = wrap_angle(np.float64(theta[t]) - np.float64(theta[k]))
            geometry[t, k, G_DISTANCE] = distance
            geometry[t, k, G_DIRECTION] = direction
            geometry[t, k, G_RADIAL] = wrap_angle(np.float64(theta[t]) - vector_angle(dx, dy))
            approx[0, t, k] = np.float32(distance)
            approx[1, t, k] = np.float32(direction)
    for t in range(n):
        for k in range(n):
            geometry[t, k, G_RADIAL_BACK] = geometry[k, t, G_RADIAL]


@njit("UniTuple(float32, 3)(float64[::1])", nogil=True, cache=_CACHE, inline="always")
def limits(settings):
    """Where rho's distance and direction factors can pass the cutoff: the largest
    |probe distance - gallery distance| (inf when tau1 >= 0) and the range of d2, widened
    by margins far above the error of ``candidate_mask``'s float32 arithmetic (which adds
    a relative margin of 1e-6 to the distance bounds; d2 is off by 3e-6 rad at most)."""
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
def candidate_mask(first, count, i_t, x_t, y_t, theta_t, pairs32, rows32, approx, reach,
                   d2_low, d2_high):
    """Bit q set for each k = first + q (q < count <= 32) that may pass rho's distance and
    direction cutoffs: the gallery distance within ``reach`` of the probe's, d2 within
    [d2_low, d2_high] (``limits``), in float32 with margins (a superset; ``rho_pairs``
    applies the exact tests).  The direction factor is the same both ways (wrap is odd:
    d2(t, k) = d2(k, t) to the bit).  float32 fills eight lanes a vector (the mask is
    kept in 32 bits for that), there is no store in the loop and indices are unsigned
    (no wraparound select), so LLVM vectorises it with two gathers; ``count`` is a
    multiple of LANE_BLOCK_RHO and entries past n_sel fail (NaN positions): no scalar
    remainder runs."""
    mask = np.uint32(0)
    row = np.uint64(i_t)
    start = np.uint64(first)
    turn = np.float32(2.0 * math.pi)
    zero = np.float32(0.0)
    shrink = np.float32(1.0 - 1e-6)  # relative margins: float32 rounding is relative
    grow = np.float32(1.0 + 1e-6)
    for q in range(np.uint32(count)):
        k = start + np.uint64(q)
        dx = pairs32[0, k] - x_t
        dy = pairs32[1, k] - y_t
        squared = dx * dx + dy * dy
        i_k = np.uint32(rows32[k])
        distance = approx[0, row, i_k]
        low = max(distance - reach, zero) * shrink
        high = (distance + reach) * grow
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
def rho_pairs(count, staged, rho, settings):
    """rho(t, k) into ``rho[0]`` and rho(k, t) into ``rho[1]`` (0 where a factor is cut
    off) for ``count`` pairs of pairs staged in rows S_*.  Straight-line code over
    contiguous rows, so LLVM vectorises it (error_model="numpy": a division check would
    be an early exit)."""
    cutoff = settings[_M_RHO_CUTOFF]
    mu_distance = settings[_M_MU_DISTANCE]
    tau_distance = settings[_M_TAU_DISTANCE]
    mu_direction = settings[_M_MU_DIRECTION]
    tau_direction = settings[_M_TAU_DIRECTION]
    mu_radial = settings[_M_MU_RADIAL]
    tau_radial = settings[_M_TAU_RADIAL]
    for s in range(count):
        dx = staged[S_DX, s]
        dy = staged[S_DY, s]
        theta_t = staged[S_THETA_T, s]
        theta_k = staged[S_THETA_K, s]
        d1 = abs(staged[S_DISTANCE, s] - np.sqrt(dx * dx + dy * dy))
        distance1 = -tau_distance * (d1 - mu_distance)
        direction2 = -tau_direction * (abs(wrap_angle(
            staged[S_DIRECTION, s] - wrap_angle(theta_t - theta_k))) - mu_direction)
        # vector_angle's rule: one atan2, of the vector pointing right, for both ways
        right = (dx > 0.0) | ((dx == 0.0) & (dy >= 0.0))
        angle = atan2_right(dy if right else -dy, dx if right else -dx)
        turned = angle if (dx == 0.0) & (dy == 0.0) else half_turn(angle)
        forward3 = -tau_radial * (abs(wrap_angle(staged[S_RADIAL_TK, s] - wrap_angle(
            theta_t - (angle if right else turned)))) - mu_radial)
        backward3 = -tau_radial * (abs(wrap_angle(staged[S_RADIAL_KT, s] - wrap_angle(
            theta_k - (turned if right else angle)))) - mu_radial)
        shared = (1.0 + exp(distance1)) * (1.0 + exp(direction2))
        near = (distance1 <= cutoff) & (direction2 <= cutoff)
        rho[0, s] = 1.0 / (shared * (1.0 + exp(forward3))) if near & (forward3 <= cutoff) else 0.0
        rho[1, s] = 1.0 / (shared * (1.0 + exp(backward3))) if near & (
            backward3 <= cutoff) else 0.0


