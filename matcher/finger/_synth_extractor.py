"""What a minutiae extractor does to the minutiae a capture shows: it misses some (more often
near the edge of the print, where the image is blurred), invents some, confuses endings and
bifurcations, grades each minutia, and lists them in an order of its own.

Kernels over the impression's output buffers; they change them in place.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from matcher.finger._synth_orientation import _CACHE
from matcher.finger._synth_random import below, normal, uniform

#: A minutia at the border of the touched area is missed 1 + 2 = 3 times as often as one at
#: its centre (weight 1 + 2 u², u the normalised distance from the centre).
EDGE_MISS_WEIGHT = 2.0


@njit(cache=_CACHE, nogil=True)
def count_plan(visible, latent, wanted, genuine_wanted, missing, spurious, spurious_high,
               count_low, count_high):
    """How many of the ``visible`` genuine minutiae are kept and how many are invented.

    A latent reports exactly ``wanted`` minutiae.  Other prints lose ``missing`` of the
    visible ones and add ``spurious`` × kept, then stay inside [count_low, count_high]: an
    excess is cut from both in proportion; a shortfall first keeps every visible minutia,
    then invents the rest, up to twice the mode's highest spurious share (a small print
    yields more false minutiae, but a tiny window must not be filled with invented ones).
    """
    if latent:
        return min(visible, genuine_wanted), wanted - genuine_wanted
    keep = visible - int(round(missing * visible))
    invent = int(round(keep * spurious))
    total = keep + invent
    if total > count_high:
        excess = total - count_high
        cut = int(round(excess * invent / total))
        invent -= cut
        keep -= excess - cut
    elif total < count_low:
        keep = min(visible, keep + count_low - total)
        invent = max(invent, min(count_low - keep, int(round(2.0 * spurious_high * keep))))
    return keep, invent


@njit(cache=_CACHE, nogil=True)
def keep_and_flip(state, visible, keep, flip, out_x, out_y, out_angle, out_type, out_edge, out_source):
    """Drop ``visible − keep`` minutiae, edge-weighted without replacement (an exponential
    race: the smallest Exp(1) / weight go first), and flip the type of each kept one with
    probability ``flip``.  Compacts the buffers; returns the number kept."""
    race = np.empty(visible, np.float64)
    for j in range(visible):
        race[j] = -math.log(1.0 - uniform(state)) / (1.0 + EDGE_MISS_WEIGHT * out_edge[j] ** 2)
    alive = np.ones(visible, np.bool_)
    alive[np.argsort(race)[:visible - keep]] = False
    count = 0
    for j in range(visible):
        if alive[j]:
            out_x[count], out_y[count], out_angle[count] = out_x[j], out_y[j], out_angle[j]
            out_type[count] = 3 - out_type[j] if uniform(state) < flip else out_type[j]
            out_edge[count], out_source[count] = out_edge[j], out_source[j]
            count += 1
    return count


@njit(cache=_CACHE, nogil=True)
def finish(state, count, quality, quality_sd, edge_penalty, spurious_penalty, quality_min,
           quality_max, out_x, out_y, out_angle, out_type, out_edge, out_source):
    """Qualities (finger quality + N(0, sd) − edge_penalty u² − spurious_penalty when
    invented, clipped), angles from radians to degrees in [0, 360) with two decimals, then a
    Fisher–Yates shuffle so that the order says nothing about which minutiae are genuine.
    Returns the quality array."""
    out_quality = np.empty(count, np.uint8)
    for j in range(count):
        q = quality + quality_sd * normal(state) - edge_penalty * min(1.0, out_edge[j]) ** 2
        if out_source[j] < 0:
            q -= spurious_penalty
        out_quality[j] = int(round(min(quality_max, max(quality_min, q))))
        degrees = math.floor((math.degrees(out_angle[j]) % 360.0) * 100.0 + 0.5) / 100.0
        out_angle[j] = degrees - 360.0 if degrees >= 360.0 else degrees
    for j in range(count - 1, 0, -1):
        k = below(state, j + 1)
        out_x[j], out_x[k] = out_x[k], out_x[j]
        out_y[j], out_y[k] = out_y[k], out_y[j]
        out_angle[j], out_angle[k] = out_angle[k], out_angle[j]
        out_type[j], out_type[k] = out_type[k], out_type[j]
        out_quality[j], out_quality[k] = out_quality[k], out_quality[j]
        out_source[j], out_source[k] = out_source[k], out_source[j]
    return out_quality
