"""numba kernel: the minutia-pair histogram behind ``matcher.finger.embedding``.

Every ordered pair of minutiae (i, j) whose distance d lies in [d_min, d_max] is described
by three numbers that neither a rotation nor a translation of the print changes:

    d                                   the distance, px at 500 dpi
    a_i = theta_i - phi_ij  (mod 2 pi)  direction of minutia i relative to the line i -> j
    a_j = theta_j - phi_ij  (mod 2 pi)  direction of minutia j relative to the same line

(phi_ij: direction of the vector from i to j).  Each pair adds weight 1 to a
n_distance x n_angle x n_angle histogram, spread trilinearly over the neighbouring bin
centres (distance clamped at the ends, angles circular), so that a noise of a few pixels or
degrees moves weight smoothly instead of jumping bins.  The pair (j, i) is counted too: it
is the same pair seen from the other end (phi turned by pi), which makes the histogram
independent of minutia order.

Pure function over arrays: ``embedding`` owns scaling to 500 dpi, normalisation and the
learned projection.
"""

from __future__ import annotations

import math
import os

import numpy as np
from numba import njit

_CACHE = os.environ.get("MATCHER_NUMBA_NO_CACHE") is None
_TWO_PI = 2.0 * math.pi


@njit("void(float64[::1], float64[::1], float64[::1], int64[::1], int64, float64, float64,"
      " int64, int64, float32[::1])", nogil=True, cache=_CACHE)
def pair_histogram(x, y_up, theta, channel, n_channels, d_min, d_max, n_distance, n_angle,
                   out):
    """Add the soft-binned pair histogram of one print to ``out`` (length
    n_channels^2 * n_distance * n_angle^2, index
    (((channel_i * n_channels + channel_j) * n_distance + distance) * n_angle + a_i)
    * n_angle + a_j).

    ``x``, ``y_up``: positions in px at 500 dpi in a right-handed frame (y up); ``theta``:
    minutia directions, radians counter-clockwise in that frame; ``channel``: a class per
    minutia in [0, n_channels) (all 0 for one histogram of every pair)."""
    n = x.shape[0]
    block = n_distance * n_angle * n_angle
    distance_step = (d_max - d_min) / n_distance
    angle_step = _TWO_PI / n_angle
    d_min_sq = d_min * d_min
    d_max_sq = d_max * d_max
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            dx = x[j] - x[i]
            dy = y_up[j] - y_up[i]
            dsq = dx * dx + dy * dy
            if not (d_min_sq <= dsq <= d_max_sq):   # also skips NaN coordinates
                continue
            distance = math.sqrt(dsq)
            phi = math.atan2(dy, dx)
            # Bin centres sit at (k + 0.5) * step; position u in "centre units".
            u = (distance - d_min) / distance_step - 0.5
            if u < 0.0:
                u = 0.0
            elif u > n_distance - 1:
                u = n_distance - 1.0
            d0 = int(u)
            if d0 > n_distance - 2:
                d0 = n_distance - 2
            wd1 = u - d0
            a = (theta[i] - phi) % _TWO_PI / angle_step - 0.5
            b = (theta[j] - phi) % _TWO_PI / angle_step - 0.5
            if not (-1.0 <= a <= n_angle and -1.0 <= b <= n_angle):   # NaN direction
                continue
            if a < 0.0:
                a += n_angle
            if b < 0.0:
                b += n_angle
            a0 = int(a)
            b0 = int(b)
            wa1 = a - a0
            wb1 = b - b0
            a0 = a0 % n_angle
            b0 = b0 % n_angle
            a1 = (a0 + 1) % n_angle
            b1 = (b0 + 1) % n_angle
            base_c = (channel[i] * n_channels + channel[j]) * block
            for dk in range(2):
                wd = wd1 if dk == 1 else 1.0 - wd1
                base_d = (d0 + dk) * n_angle
                for ak in range(2):
                    wa = wa1 if ak == 1 else 1.0 - wa1
                    base_a = base_c + (base_d + (a1 if ak == 1 else a0)) * n_angle
                    w = wd * wa
                    out[base_a + b0] += np.float32(w * (1.0 - wb1))
                    out[base_a + b1] += np.float32(w * wb1)
