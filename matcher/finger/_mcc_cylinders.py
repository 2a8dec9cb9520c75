"""numba kernel that builds bit-based Minutia Cylinder-Code cylinders (spec 4; Cappelli,
Ferrara, Maltoni, TPAMI 32(12) 2010, sections 3 and 6).

Frame: right-handed, x to the right, y up (the image's y negated), angles counter-clockwise
in [0, 2 pi] (``mcc.make_cylinders`` normalises them).

Cylinder of minutia m = (x, y, theta): NS x NS cells of side dS = 2R/NS in the plane,
turned with the minutia (cell (i, j) sits at offset (i - (NS-1)/2, j - (NS-1)/2) * dS along
(d, n), d = (cos theta, sin theta), n = (-sin theta, cos theta)), times ND direction bins
centred on dphi_k = -pi + (k + 1/2) 2pi/ND.  A neighbour t (t != m, within 3 sigma_S of the
cell centre p) adds

    G_S(|p - t|) * G_D(wrap(dphi_k - wrap(theta_m - theta_t)))

with G_S the normal density (sigma_S) and G_D the normal mass (sigma_D) over the bin's
width around that angle.  The cell's bit is 1 when the sum reaches mu_psi (the bit form of
the sigmoid Psi).  A cell is valid when it lies inside the radius R and within Omega of the
convex hull of all minutiae; invalid cells keep bit 0.  A cylinder is kept when at least
min_vc of the cells inside the radius are valid and at least min_m other minutiae lie
within R + 3 sigma_S.

Bit layout (``mcc.Cylinders``): spatial cell c = i * NS + j, S = ceil(NS^2 / 64) words per
direction bin; bit (c, k) is bit c % 64 of word k * S + c // 64.  Validity is the same for
every direction bin, so it is stored once: bit c % 64 of word c // 64.
"""

from __future__ import annotations

import math
import os

import numpy as np
from numba import njit

_CACHE = os.environ.get("MATCHER_NUMBA_NO_CACHE") is None

#: Layout of the ``settings`` vector of ``build``.
(C_RADIUS, C_NS, C_ND, C_SIGMA_S, C_SIGMA_D, C_MU_PSI, C_OMEGA, C_MIN_VC, C_MIN_M) = range(9)
N_CYLINDER_SETTINGS = 9

_SQRT_2PI = math.sqrt(2.0 * math.pi)


@njit("float64(float64)", nogil=True, cache=_CACHE, inline="always")
def wrap_angle(angle):
    """``angle`` moved into [-pi, pi] by one turn, for |angle| < 3 pi: every angle this
    package wraps is a difference of two directions in [0, 2 pi] or of two wrapped angles.
    A compare and an add (LLVM emits a select, no branch): the textbook
    ``a - 2 pi floor((a + pi) / 2 pi)`` put a 25-cycle dependency chain into every pair of
    the scoring loops."""
    if angle >= math.pi:
        return angle - 2.0 * math.pi
    if angle < -math.pi:
        return angle + 2.0 * math.pi
    return angle


@njit("float64(float64)", nogil=True, cache=_CACHE, inline="always")
def half_turn(angle):
    """The opposite direction of ``angle`` in [-pi, pi], in [-pi, pi]."""
    return angle - math.pi if angle > 0.0 else angle + math.pi


@njit("float64(float64, float64)", nogil=True, cache=_CACHE, inline="always")
def vector_angle(dx, dy):
    """Direction of the vector (dx, dy), in [-pi, pi].  Of a vector and its opposite only
    the one pointing right (or straight up) goes through atan2; the other is its half turn.
    A pair of minutiae then needs one atan2 for both of its radial angles, and every
    implementation that follows this rule gets the same bits whichever way round it
    computes them.  The zero vector has angle 0."""
    if dx > 0.0 or (dx == 0.0 and dy >= 0.0):
        return math.atan2(dy, dx)
    return half_turn(math.atan2(-dy, -dx))


@njit("int64(float64[::1], float64[::1], float64[::1], float64[::1])", nogil=True, cache=_CACHE)
def convex_hull(x, y, hull_x, hull_y):
    """Vertices of the convex hull of the points, counter-clockwise, collinear points
    dropped (Andrew's monotone chain), into ``hull_x``/``hull_y`` (room for 2n + 1);
    returns their number (1 for a single point, 2 for a segment, 0 for no point)."""
    n = x.shape[0]
    if n == 0:
        return 0
    order = np.arange(n)
    for a in range(1, n):  # insertion sort by (x, y): n <= 255 and stable
        current = order[a]
        b = a
        while b > 0 and (x[order[b - 1]] > x[current]
                         or (x[order[b - 1]] == x[current] and y[order[b - 1]] > y[current])):
            order[b] = order[b - 1]
            b -= 1
        order[b] = current
    h = 0
    for sweep in range(2):  # lower chain left to right, then upper chain right to left
        start = h
        for r in range(n):
            p = order[r] if sweep == 0 else order[n - 1 - r]
            while h - start >= 2 and ((hull_x[h - 1] - hull_x[h - 2]) * (y[p] - hull_y[h - 2])
                                      - (hull_y[h - 1] - hull_y[h - 2]) * (x[p] - hull_x[h - 2])
                                      <= 0.0):
                h -= 1
            hull_x[h] = x[p]
            hull_y[h] = y[p]
            h += 1
        h -= 1  # each chain's last point starts the other chain
    return max(h, 1)


@njit("boolean(float64, float64, float64[::1], float64[::1], int64, float64)",
      nogil=True, cache=_CACHE)
def near_hull(px, py, hull_x, hull_y, h, omega):
    """Whether (px, py) lies inside the convex polygon ``hull`` (h counter-clockwise
    vertices) or within ``omega`` of its boundary (a point or segment when h < 3)."""
    if h == 0:
        return False
    if h >= 3:
        inside = True
        for e in range(h):
            f = (e + 1) % h
            if ((hull_x[f] - hull_x[e]) * (py - hull_y[e])
                    - (hull_y[f] - hull_y[e]) * (px - hull_x[e])) < 0.0:
                inside = False
                break
        if inside:
            return True
    edges = h if h >= 3 else 1
    for e in range(edges):
        f = (e + 1) % h
        ex = hull_x[f] - hull_x[e]
        ey = hull_y[f] - hull_y[e]
        length2 = ex * ex + ey * ey
        t = 0.0
        if length2 > 0.0:
            t = min(1.0, max(0.0, ((px - hull_x[e]) * ex + (py - hull_y[e]) * ey) / length2))
        dx = px - (hull_x[e] + t * ex)
        dy = py - (hull_y[e] + t * ey)
        if dx * dx + dy * dy <= omega * omega:
            return True
    return False


@njit("int64(float64[::1], float64[::1], float64[::1], float64[::1], uint64[:, ::1],"
      " uint64[:, ::1], int64[::1])", nogil=True, cache=_CACHE)
def build(x, y, theta, settings, out_bits, out_valid, out_index):
    """Cylinders of the minutiae (x, y, theta) with ``settings`` laid out as C_*; writes the
    kept ones' bits, validity and minutia index to the first rows and returns how many
    were kept.  Not a hot path (once per template): float64 throughout and the formula
    evaluated as written, so the bits equal a plain reference implementation's."""
    n = x.shape[0]
    radius = settings[C_RADIUS]
    ns = np.int64(settings[C_NS])
    nd = np.int64(settings[C_ND])
    sigma_s = settings[C_SIGMA_S]
    sigma_d = settings[C_SIGMA_D]
    mu_psi = settings[C_MU_PSI]
    cell_side = 2.0 * radius / ns
    bin_width = 2.0 * math.pi / nd
    words = (ns * ns + 63) // 64
    reach = 3.0 * sigma_s
    hull_x = np.empty(2 * n + 1)
    hull_y = np.empty(2 * n + 1)
    h = convex_hull(x, y, hull_x, hull_y)
    offset_u = np.empty(ns * ns)
    offset_v = np.empty(ns * ns)
    in_radius = np.zeros(ns * ns, np.bool_)
    n_inside = 0
    for c in range(ns * ns):
        offset_u[c] = cell_side * ((c // ns) - (ns - 1) / 2.0)
        offset_v[c] = cell_side * ((c % ns) - (ns - 1) / 2.0)
        if offset_u[c] * offset_u[c] + offset_v[c] * offset_v[c] <= radius * radius:
            in_radius[c] = True
            n_inside += 1
    neighbours = np.empty(n, np.int64)
    direction = np.empty((n, nd))
    sums = np.empty(nd)
    valid = np.zeros(ns * ns, np.bool_)
    kept = 0
    for m in range(n):
        count = 0
        for t in range(n):
            dx = x[t] - x[m]
            dy = y[t] - y[m]
            if t != m and dx * dx + dy * dy <= (radius + reach) * (radius + reach):
                neighbours[count] = t
                count += 1
        if count < settings[C_MIN_M]:
            continue
        cos_m = math.cos(theta[m])
        sin_m = math.sin(theta[m])
        n_valid = 0
        for c in range(ns * ns):
            valid[c] = in_radius[c] and near_hull(
                x[m] + offset_u[c] * cos_m - offset_v[c] * sin_m,
                y[m] + offset_u[c] * sin_m + offset_v[c] * cos_m,
                hull_x, hull_y, h, settings[C_OMEGA])
            n_valid += valid[c]
        if n_valid < settings[C_MIN_VC] * n_inside:
            continue
        for r in range(count):
            difference = wrap_angle(theta[m] - theta[neighbours[r]])
            for k in range(nd):
                alpha = wrap_angle(-math.pi + (k + 0.5) * bin_width - difference)
                direction[r, k] = 0.5 * (
                    math.erf((alpha + bin_width / 2.0) / (math.sqrt(2.0) * sigma_d))
                    - math.erf((alpha - bin_width / 2.0) / (math.sqrt(2.0) * sigma_d)))
        out_bits[kept, :] = 0
        out_valid[kept, :] = 0
        for c in range(ns * ns):
            if not valid[c]:
                continue
            bit = np.uint64(1) << np.uint64(c % 64)
            out_valid[kept, c // 64] |= bit
            px = x[m] + offset_u[c] * cos_m - offset_v[c] * sin_m
            py = y[m] + offset_u[c] * sin_m + offset_v[c] * cos_m
            sums[:] = 0.0
            for r in range(count):
                t = neighbours[r]
                d2 = (px - x[t]) * (px - x[t]) + (py - y[t]) * (py - y[t])
                if d2 <= reach * reach:
                    spatial = math.exp(-d2 / (2.0 * sigma_s * sigma_s)) / (sigma_s * _SQRT_2PI)
                    for k in range(nd):
                        sums[k] += spatial * direction[r, k]
            for k in range(nd):
                if sums[k] >= mu_psi:
                    out_bits[kept, k * words + c // 64] |= bit
        out_index[kept] = m
        kept += 1
    return kept
