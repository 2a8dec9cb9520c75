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
makes rho 0 (part of the score's definition; the reference applies it too), which spares
most pairs of pairs their atan2.  Sums run over k in pair rank order, so results equal a
reference implementation's to the last bit.
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit

from matcher.finger._mcc_cylinders import half_turn, vector_angle, wrap_angle
from matcher.finger._mcc_select import PAIR_MASK, insert_descending

_CACHE = os.environ.get("MATCHER_NUMBA_NO_CACHE") is None

# Indices into the settings vector; the same values as ``_mcc_kernels.M_*``.
_M_N_REL, _M_W_R = 6, 7
_M_MU_DISTANCE, _M_TAU_DISTANCE, _M_MU_DIRECTION, _M_TAU_DIRECTION = 8, 9, 10, 11
_M_MU_RADIAL, _M_TAU_RADIAL, _M_RHO_CUTOFF = 12, 13, 14


@njit("float64(float64, float64, float64, float64, float64)", nogil=True, cache=_CACHE,
      inline="always")
def _direction_exponent(direction_a, theta_t, theta_k, tau, mu):
    """Exponent -tau2 (d2 - mu2) of rho's direction factor for (t, k)."""
    d2 = abs(wrap_angle(direction_a - wrap_angle(theta_t - theta_k)))
    return -tau * (d2 - mu)


@njit("float64(float64, float64, float64, float64[::1])", nogil=True, cache=_CACHE,
      inline="always")
def _radial_exponent(radial_a, theta_t, angle_tk, settings):
    """Exponent -tau3 (d3 - mu3) of rho's radial factor for (t, k), given the direction
    ``angle_tk`` of the gallery vector t -> k."""
    d3 = abs(wrap_angle(radial_a - wrap_angle(theta_t - angle_tk)))
    return -settings[_M_TAU_RADIAL] * (d3 - settings[_M_MU_RADIAL])


@njit("void(float32[::1], float32[::1], float32[::1], float64[:, ::1], float64[:, ::1],"
      " float64[:, ::1])", nogil=True, cache=_CACHE)
def probe_geometry(x, y, theta, distance, direction, radial):
    """Per ordered pair (t, k) of the probe's cylinders: the distance |m_k - m_t|, the
    direction difference wrap(theta_t - theta_k), and the radial angle at t,
    wrap(theta_t - angle of m_k - m_t): the probe's side of d1, d2 and d3, once per search."""
    n = x.shape[0]
    for t in range(n):
        for k in range(n):
            dx = np.float64(x[k]) - np.float64(x[t])
            dy = np.float64(y[k]) - np.float64(y[t])
            distance[t, k] = np.sqrt(dx * dx + dy * dy)
            direction[t, k] = wrap_angle(np.float64(theta[t]) - np.float64(theta[k]))
            radial[t, k] = wrap_angle(np.float64(theta[t]) - vector_angle(dx, dy))


@njit("float64(float64[::1], int64[::1], int64, int64, int64, int64, float64[:, :, ::1],"
      " float32[::1], float32[::1], float32[::1], int64, float64[::1], float64[::1],"
      " float64[::1], int64[::1], float64[:, ::1])", nogil=True, cache=_CACHE)
def relax(top_value, top_pair, n_sel, n_r, n_p, n_b, geometry, g_x, g_y, g_theta, start,
          settings, rho_value, work_f, work_i, evidence):
    """LSS-R score of the ``n_sel`` best pairs (``top_pair`` items, similarity
    ``top_value``) given the probe's ``geometry`` (``_mcc_kernels.probe_geometry``) and the
    gallery template starting at row ``start``.  Work: ``rho_value`` n_sel^2,
    ``work_f`` 11 n_sel + n_p, ``work_i`` 2 n_sel^2 + 2 n_sel + n_p.  Writes the nP pairs
    behind the score to ``evidence`` (probe cylinder, gallery cylinder, lambda^0, lambda^nrel)."""
    evidence[:, :] = -1.0
    if n_sel == 0:
        return 0.0
    lam0 = work_f[:n_sel]
    lam = work_f[n_sel:2 * n_sel]
    lam_next = work_f[2 * n_sel:3 * n_sel]
    sums = work_f[3 * n_sel:4 * n_sel]
    gallery_x = work_f[4 * n_sel:5 * n_sel]
    gallery_y = work_f[5 * n_sel:6 * n_sel]
    gallery_theta = work_f[6 * n_sel:7 * n_sel]
    exponents = work_f[7 * n_sel:8 * n_sel]
    distance_exponent = work_f[8 * n_sel:9 * n_sel]
    forward_direction = work_f[9 * n_sel:10 * n_sel]
    backward_direction = work_f[10 * n_sel:11 * n_sel]
    rank_value = work_f[11 * n_sel:11 * n_sel + n_p]
    rho_row = work_i[:n_sel * n_sel]
    rho_col = work_i[n_sel * n_sel:2 * n_sel * n_sel]
    probe_row = work_i[2 * n_sel * n_sel:2 * n_sel * n_sel + n_sel]
    near = work_i[2 * n_sel * n_sel + n_sel:2 * n_sel * n_sel + 2 * n_sel]
    rank = work_i[2 * n_sel * n_sel + 2 * n_sel:2 * n_sel * n_sel + 2 * n_sel + n_p]
    distance = geometry[0]
    direction = geometry[1]
    radial = geometry[2]
    for t in range(n_sel):
        lam0[t] = top_value[t]
        lam[t] = top_value[t]
        flat = top_pair[t] & PAIR_MASK
        probe_row[t] = flat // n_b  # divisions once per pair, not once per pair of pairs
        row = start + flat % n_b
        gallery_x[t] = np.float64(g_x[row])
        gallery_y[t] = np.float64(g_y[row])
        gallery_theta[t] = np.float64(g_theta[row])
    # Row r collects (r, k < r) while the outer loop is at k, then (r, k > r) at r: each
    # row's entries come in increasing k, the order of the reference's sum.
    entries = 0
    cutoff = settings[_M_RHO_CUTOFF]
    mu_distance = settings[_M_MU_DISTANCE]
    tau_distance = settings[_M_TAU_DISTANCE]
    mu_direction = settings[_M_MU_DIRECTION]
    tau_direction = settings[_M_TAU_DIRECTION]
    for t in range(n_sel):
        i_t = probe_row[t]
        x_t = gallery_x[t]
        y_t = gallery_y[t]
        theta_t = gallery_theta[t]
        # Two compaction passes keep the k that pass the distance cutoff, then those
        # that pass the direction cutoff one way or the other, in increasing order: the
        # index is always written and the count advanced by the test's outcome, so there
        # is no branch to mispredict (each test passes ~10-60 % of the time at random).
        close = 0
        for k in range(t + 1, n_sel):
            dx = gallery_x[k] - x_t
            dy = gallery_y[k] - y_t
            d1 = abs(distance[i_t, probe_row[k]] - np.sqrt(dx * dx + dy * dy))
            exponent = -tau_distance * (d1 - mu_distance)
            distance_exponent[close] = exponent
            near[close] = k
            close += np.int64(exponent <= cutoff)
        aligned = 0
        for c in range(close):
            k = near[c]
            i_k = probe_row[k]
            forward2 = _direction_exponent(direction[i_t, i_k], theta_t, gallery_theta[k],
                                           tau_direction, mu_direction)
            backward2 = _direction_exponent(direction[i_k, i_t], gallery_theta[k], theta_t,
                                            tau_direction, mu_direction)
            exponents[aligned] = distance_exponent[c]
            forward_direction[aligned] = forward2
            backward_direction[aligned] = backward2
            near[aligned] = k
            aligned += np.int64((forward2 <= cutoff) | (backward2 <= cutoff))
        for c in range(aligned):
            k = near[c]
            i_k = probe_row[k]
            theta_k = gallery_theta[k]
            forward2 = forward_direction[c]
            backward2 = backward_direction[c]
            dx = gallery_x[k] - x_t
            dy = gallery_y[k] - y_t
            # vector_angle's rule, with one atan2 for both directions
            if dx > 0.0 or (dx == 0.0 and dy >= 0.0):
                angle_forward = np.arctan2(dy, dx)
                angle_backward = angle_forward if dx == 0.0 and dy == 0.0 else half_turn(
                    angle_forward)
            else:
                angle_backward = np.arctan2(-dy, -dx)
                angle_forward = half_turn(angle_backward)
            forward3 = _radial_exponent(radial[i_t, i_k], theta_t, angle_forward, settings)
            backward3 = _radial_exponent(radial[i_k, i_t], theta_k, angle_backward, settings)
            forward = forward2 <= cutoff and forward3 <= cutoff
            backward = backward2 <= cutoff and backward3 <= cutoff
            if not (forward or backward):
                continue
            z_distance = 1.0 / (1.0 + np.exp(exponents[c]))
            if forward:
                rho_row[entries] = t
                rho_col[entries] = k
                rho_value[entries] = (z_distance * (1.0 / (1.0 + np.exp(forward2)))
                                      * (1.0 / (1.0 + np.exp(forward3))))
                entries += 1
            if backward:
                rho_row[entries] = k
                rho_col[entries] = t
                rho_value[entries] = (z_distance * (1.0 / (1.0 + np.exp(backward2)))
                                      * (1.0 / (1.0 + np.exp(backward3))))
                entries += 1
    w_r = settings[_M_W_R]
    divisor = max(n_r - 1, 1)
    for _ in range(np.int64(settings[_M_N_REL])):
        sums[:] = 0.0
        for e in range(entries):
            sums[rho_row[e]] += rho_value[e] * lam[rho_col[e]]
        for t in range(n_sel):
            lam_next[t] = w_r * lam[t] + (1.0 - w_r) * sums[t] / divisor
        lam[:] = lam_next
    kept = 0
    for t in range(n_sel):
        kept = insert_descending(lam[t] / lam0[t], t, rank_value, rank, kept, n_p)
    total = 0.0
    for r in range(kept):
        t = rank[r]
        total += lam[t]
        evidence[r, 0] = (top_pair[t] & PAIR_MASK) // n_b
        evidence[r, 1] = (top_pair[t] & PAIR_MASK) % n_b
        evidence[r, 2] = lam0[t]
        evidence[r, 3] = lam[t]
    return total / n_p
