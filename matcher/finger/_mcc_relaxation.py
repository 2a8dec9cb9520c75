"""numba kernel for MCC's LSS-R consolidation (Cappelli, Ferrara, Maltoni, TPAMI 32(12)
2010, section 5.2; spec 4).

Start from the n_sel <= nR = min(nA, nB) best pairs (zero similarities left out: they
add nothing and have no efficiency); with rho(t, k) the support of pairs t and k
(``_mcc_rho``), run nrel rounds of

    l_t <- wR l_t + (1 - wR) sum_(k != t) rho(t, k) l_k / (nR - 1)

and score the sum of the relaxed l over the nP pairs of highest efficiency l / l^0,
divided by nP.  Sums run over k in increasing order, as in the reference (zeros add
nothing); the kernel lets LLVM fuse a multiply and an add (fastmath "contract"), which
changes results by rounding only.
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from matcher.finger._mcc_rho import (
    G_DIRECTION, G_DISTANCE, G_RADIAL, G_RADIAL_BACK, LANE_BLOCK_RHO, S_DIRECTION, S_DISTANCE,
    S_DX, S_DY, S_RADIAL_KT, S_RADIAL_TK, S_THETA_K, S_THETA_T, candidate_mask, limits,
    rho_pairs)
from matcher.finger._mcc_select import gallery_cylinder, insert_descending, probe_cylinder

_CACHE = os.environ.get("MATCHER_NUMBA_NO_CACHE") is None

# Indices into the settings vector; the same values as ``_mcc_kernels.M_*``.
_M_N_REL, _M_W_R = 6, 7

#: Rows of ``relax``'s per-pair work array.
_LAM0, _LAM, _SUMS = range(3)
PAIR_ROWS = 3


@njit("float64(float64[::1], int64[::1], int64, int64, int64, float64[:, :, ::1],"
      " float32[:, :, ::1], float32[:, ::1], int32[::1], float32[::1], float32[::1],"
      " float32[::1], int64, float64[::1], float64[:, ::1], int64[::1], int64[:, ::1],"
      " uint32[::1], float64[:, ::1], float64[:, ::1], int64[:, ::1], float64[::1],"
      " float64[::1], int64[::1], float64[:, ::1])", nogil=True, cache=_CACHE,
      error_model="numpy", fastmath={"contract"})
def relax(top_value, top_pair, n_sel, n_r, n_p, geometry, approx, pairs32, rows32, g_x, g_y,
          g_theta, start, settings, per_pair, probe_row, survivor, masks, staged, rho, entry,
          entry_value, rank_value, rank, evidence):
    """LSS-R score of the ``n_sel`` best pairs (``top_pair`` items, similarity
    ``top_value``) given the probe's ``geometry`` and ``approx``
    (``_mcc_rho.probe_geometry``) and the gallery template starting at row ``start``.
    Work, with n_sel <= L, B = LANE_BLOCK_RHO and H = L(L-1)/2: ``pairs32`` 3 x (L + B),
    ``rows32``, ``probe_row`` L + B, ``per_pair`` PAIR_ROWS x (L + B), ``survivor`` 2 x H,
    ``masks`` L (L // 32 + 1),
    ``staged`` STAGED_ROWS x H, ``rho`` 2 x H, ``entry`` 2 x 2H, ``entry_value`` 2H,
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
    # Pairs of pairs (t < k) that may pass the distance and direction cutoffs, in (t, k)
    # order, then staged in rows for rho_pairs.
    reach, d2_low, d2_high = limits(settings)
    # The masks first, then their bits: a branch on a mask still being computed (its
    # gathers' latency) stalled the masks of the next rows and cost as much again.
    chunk = 0
    for t in range(n_sel):
        for first in range(t + 1, n_sel, 32):
            count = (min(n_sel - first, 32) + LANE_BLOCK_RHO - 1) // LANE_BLOCK_RHO
            masks[chunk] = candidate_mask(first, count * LANE_BLOCK_RHO, probe_row[t],
                                          pairs32[0, t], pairs32[1, t], pairs32[2, t], pairs32,
                                          rows32, approx, reach, d2_low, d2_high)
            chunk += 1
    survivors = 0
    chunk = 0
    for t in range(n_sel):
        for first in range(t + 1, n_sel, 32):
            mask = masks[chunk]
            chunk += 1
            while mask:
                survivor[0, survivors] = t
                survivor[1, survivors] = first + trailing_zeros(mask)
                survivors += 1
                mask &= mask - np.uint32(1)
    for s in range(survivors):  # no branch: the loads overlap
        t = survivor[0, s]
        k = survivor[1, s]
        i_t = probe_row[t]
        i_k = probe_row[k]
        staged[S_DX, s] = np.float64(pairs32[0, k]) - np.float64(pairs32[0, t])
        staged[S_DY, s] = np.float64(pairs32[1, k]) - np.float64(pairs32[1, t])
        staged[S_THETA_T, s] = np.float64(pairs32[2, t])
        staged[S_THETA_K, s] = np.float64(pairs32[2, k])
        staged[S_DISTANCE, s] = geometry[i_t, i_k, G_DISTANCE]
        staged[S_DIRECTION, s] = geometry[i_t, i_k, G_DIRECTION]
        staged[S_RADIAL_TK, s] = geometry[i_t, i_k, G_RADIAL]
        staged[S_RADIAL_KT, s] = geometry[i_t, i_k, G_RADIAL_BACK]
    rho_pairs(survivors, staged, rho, settings)
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
