"""The part of a master that touched the surface, and points drawn inside it.

Rolled and plain prints touch an ellipse around the finger centre (four quarter ellipses,
the foreground's half-axes times a per-axis contact scale: ~0.97 rolled, ~0.65 plain, whose
contact area is then ~40 % of the rolled one).  A latent mark touches an elongated patch
anywhere on the finger: the master minutiae nearest a random minutia in a metric stretched
along a random heading, as many as the mark must hold (``choose_area``'s ``wanted``).

All points are in the master's y-up frame centred on its foreground.  An *area* is a small
float64 vector (layout ``A_*``); only this module reads it, so its kernels compile together
with its layout.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from matcher.finger._synth_orientation import _CACHE
from matcher.finger._synth_random import below, between, normal, uniform

A_CENTRE_U, A_CENTRE_V, A_SCALE_U, A_SCALE_V, A_LATENT = 0, 1, 2, 3, 4
A_COS, A_SIN, A_RATIO, A_RADIUS = 5, 6, 7, 8
AREA_SIZE = 9


@njit(cache=_CACHE, nogil=True)
def area_distance(u, v, area, half_axes):
    """Normalised distance of (u, v) from the area's centre: ≤ 1 inside the touched area."""
    du, dv = u - area[A_CENTRE_U], v - area[A_CENTRE_V]
    if area[A_LATENT] > 0.5:
        along = (area[A_COS] * du + area[A_SIN] * dv) / area[A_RATIO]
        across = -area[A_SIN] * du + area[A_COS] * dv
        return math.sqrt(along * along + across * across) / area[A_RADIUS]
    ax = (half_axes[1] if du >= 0.0 else half_axes[0]) * area[A_SCALE_U]
    bv = (half_axes[2] if dv >= 0.0 else half_axes[3]) * area[A_SCALE_V]
    return math.sqrt((du / ax) ** 2 + (dv / bv) ** 2)


@njit(cache=_CACHE, nogil=True)
def area_centre(area):
    return area[A_CENTRE_U], area[A_CENTRE_V]


@njit(cache=_CACHE, nogil=True)
def choose_area(state, u, v, half_axes, latent, contact_low, contact_high, offset_sd,
                count_low, count_high, missing, spurious, ratio_low, ratio_high):
    """The touched area of a master whose minutiae are at (u, v).

    Returns the indices of the master minutiae inside it, the area vector, and for a latent
    the number of minutiae the mark must report in all (drawn uniformly in
    [count_low, count_high]) and how many of them are genuine; the patch holds
    genuine / (1 − missing) master minutiae so that the missing share holds too.
    """
    n = u.shape[0]
    area = np.zeros(AREA_SIZE, np.float64)
    area[A_SCALE_U] = area[A_SCALE_V] = area[A_COS] = area[A_RATIO] = area[A_RADIUS] = 1.0
    wanted = genuine_wanted = 0
    if latent:
        seed = below(state, n)
        area[A_LATENT] = 1.0
        area[A_CENTRE_U] = u[seed] + offset_sd * normal(state)
        area[A_CENTRE_V] = v[seed] + offset_sd * normal(state)
        area[A_RATIO] = between(state, ratio_low, ratio_high)
        heading = math.pi * uniform(state)
        area[A_COS], area[A_SIN] = math.cos(heading), math.sin(heading)
        wanted = count_low + below(state, count_high - count_low + 1)
        genuine_wanted = int(round(wanted / (1.0 + spurious)))
        touched = min(n, max(genuine_wanted, int(round(genuine_wanted / (1.0 - missing)))))
        distance = np.empty(n, np.float64)
        for i in range(n):
            distance[i] = area_distance(u[i], v[i], area, half_axes)
        order = np.argsort(distance)
        # the border runs halfway to the next minutia, or 5 px beyond the last one
        gap = 0.5 * (distance[order[touched]] - distance[order[touched - 1]]) if touched < n else 5.0
        area[A_RADIUS] = distance[order[touched - 1]] + gap
        return order[:touched], area, wanted, genuine_wanted
    area[A_CENTRE_U] = offset_sd * normal(state)
    area[A_CENTRE_V] = offset_sd * normal(state)
    area[A_SCALE_U] = between(state, contact_low, contact_high)
    area[A_SCALE_V] = between(state, contact_low, contact_high)
    inside = np.zeros(n, np.bool_)
    for i in range(n):
        inside[i] = area_distance(u[i], v[i], area, half_axes) <= 1.0
    return np.nonzero(inside)[0], area, wanted, genuine_wanted


@njit(cache=_CACHE, nogil=True)
def sample_in_area(state, area, half_axes, attempts):
    """A uniform point of the touched area that lies on the finger: (found, u, v, distance)."""
    if area[A_LATENT] > 0.5:
        box_u = box_v = 2.0 * area[A_RADIUS] * area[A_RATIO]
    else:
        box_u = 2.0 * max(half_axes[0], half_axes[1])
        box_v = 2.0 * max(half_axes[2], half_axes[3])
    for _ in range(attempts):
        su = area[A_CENTRE_U] + (uniform(state) - 0.5) * box_u
        sv = area[A_CENTRE_V] + (uniform(state) - 0.5) * box_v
        distance = area_distance(su, sv, area, half_axes)
        on_finger = ((su / (half_axes[1] if su >= 0 else half_axes[0])) ** 2
                     + (sv / (half_axes[2] if sv >= 0 else half_axes[3])) ** 2) <= 1.0
        if distance <= 1.0 and on_finger:
            return True, su, sv, distance
    return False, 0.0, 0.0, 0.0
