"""Master fingers: the ground-truth finger every synthetic impression is taken from.

A master is a finger-shaped foreground (four quarter ellipses, ~400 × 500 px at 500 dpi),
an orientation field of its pattern class (``_synth_orientation``) and its full minutiae set,
placed by dart throwing: a candidate point is kept with probability equal to the relative
density there (``_synth_params``: densest around the core region, sparse right at a core
and towards the rim) and only when it lies at least ``MIN_SPACING_PX`` from every minutia
kept so far.  Each minutia points along the local ridge orientation, one of the two ways at
random, and is a ridge ending with probability ``ENDING_SHARE``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from matcher.finger import _synth_params as P
from matcher.finger._synth_orientation import (
    _CACHE, SINGULARITY_NORMALS, SINGULARITY_UNIFORMS, WAVE_UNIFORMS, draw_singularities,
    draw_waves, orientation_field, ridge_orientation,
)
from matcher.finger._synth_random import kernel_state, normal, uniform
from matcher.finger.model import MINUTIA_TYPES, Finger, Minutia, MinutiaArrays

#: Blank pixels around the foreground on the master's canvas.
CANVAS_PADDING_PX = 4

#: Random numbers one master draws from the caller's Generator besides the kernel's state:
#: pattern, four half-axis jitters, singular points and waves; scale and minutia count.
_MASTER_UNIFORMS = 5 + SINGULARITY_UNIFORMS + WAVE_UNIFORMS
_MASTER_NORMALS = 2 + SINGULARITY_NORMALS

_PLACEMENT = np.array([
    P.DENSITY_FALLOFF, P.DENSITY_FLOOR, P.CORE_DIP_DEPTH, P.CORE_DIP_RADIUS_PX,
    P.SINGULAR_EXCLUSION_PX, P.MIN_SPACING_PX, P.EDGE_MARGIN_PX, P.ENDING_SHARE,
    math.radians(P.MINUTIA_DIRECTION_JITTER_DEG), float(P.PLACEMENT_ATTEMPTS_PER_MINUTIA),
])


@dataclass(frozen=True, slots=True)
class MasterFinger:
    """One synthetic finger.  Coordinates are pixels at 500 dpi on the master's own canvas
    (``width`` × ``height``, origin top-left, y down); angles radians counter-clockwise on the
    image, as in ``MinutiaArrays``.

    - ``pattern``: one of ``PATTERNS``.
    - ``centre``, ``half_axes``: the foreground, four quarter ellipses around ``centre`` with
      half-axes (left, right, top, bottom).
    - ``cores``, ``deltas``: (k, 2) float64 singular points; ``arch``: the singular-point-free
      arch parameters (bulge, width, centre, extent; zero unless ``pattern == "arch"``);
      ``waves``: the smooth perturbation of the field.
    - ``minutiae``: the full minutiae set (quality 0: a master is not a capture).
    """

    pattern: str
    width: int
    height: int
    centre: tuple[float, float]
    half_axes: tuple[float, float, float, float]
    cores: np.ndarray
    deltas: np.ndarray
    arch: np.ndarray
    waves: np.ndarray
    minutiae: MinutiaArrays

    def orientation(self, x, y) -> np.ndarray:
        """Ridge orientation (radians in [0, π), counter-clockwise on the image) at points."""
        xs = np.atleast_1d(np.asarray(x, np.float64))
        ys = np.atleast_1d(np.asarray(y, np.float64))
        return orientation_field(xs, ys, self.centre[0], self.centre[1], self.cores,
                                 self.deltas, self.arch, self.waves)

    def contains(self, x, y) -> np.ndarray:
        """True where a point lies on the finger (inside the rolled foreground)."""
        u = np.asarray(x, np.float64) - self.centre[0]
        v = self.centre[1] - np.asarray(y, np.float64)
        left, right, top, bottom = self.half_axes
        return (u / np.where(u < 0, left, right)) ** 2 + (v / np.where(v > 0, top, bottom)) ** 2 <= 1.0

    def finger(self) -> Finger:
        """The master as one ideal finger view (every minutia, no noise) on its canvas."""
        arrays = self.minutiae
        angles = np.mod(np.round(np.rad2deg(arrays.angle.astype(np.float64)), 2), 360.0)
        minutiae = list(map(Minutia, np.round(arrays.x).astype(np.int64).tolist(),
                            np.round(arrays.y).astype(np.int64).tolist(), angles.tolist(),
                            [MINUTIA_TYPES[code] for code in arrays.type.tolist()]))
        return Finger(minutiae=minutiae, width=self.width, height=self.height)


@njit(cache=_CACHE, nogil=True)
def place_minutiae(state, count, centre_x, centre_y, half_axes, density_centre, cores, deltas,
                   arch, waves, params):
    """Dart throwing of ``count`` minutiae, random stream ``state`` (``_synth_random``) (fewer if ``count`` × attempts-per-minutia darts
    do not find room).  Returns x, y (float32 px), angle (float32 rad), type (uint8 code).

    ``params`` is ``_PLACEMENT``: falloff, floor, core dip depth and radius, singular-point
    exclusion, minimum spacing, edge margin, ending share, direction jitter, attempts.
    """
    falloff, floor, dip_depth, dip_radius = params[0], params[1], params[2], params[3]
    exclusion_sq, spacing_sq, margin = params[4] ** 2, params[5] ** 2, params[6]
    ending_share, jitter = params[7], params[8]
    attempts = int(params[9] * count) + 100
    left, right, top, bottom = half_axes[0], half_axes[1], half_axes[2], half_axes[3]
    norm_x = 0.5 * (left + right)
    norm_y = 0.5 * (top + bottom)
    xs = np.empty(count, np.float64)
    ys = np.empty(count, np.float64)
    angles = np.empty(count, np.float32)
    types = np.empty(count, np.uint8)
    n = 0
    for _ in range(attempts):
        if n == count:
            break
        u = -left + uniform(state) * (left + right)
        v = -bottom + uniform(state) * (top + bottom)
        ax = (right if u >= 0.0 else left) - margin
        bv = (top if v >= 0.0 else bottom) - margin
        if (u / ax) ** 2 + (v / bv) ** 2 > 1.0:
            continue
        x = centre_x + u
        y = centre_y - v
        du = (x - density_centre[0]) / norm_x
        dv = (y - density_centre[1]) / norm_y
        density = max(floor, 1.0 - falloff * (du * du + dv * dv))
        blocked = False
        for k in range(cores.shape[0]):
            d_sq = (x - cores[k, 0]) ** 2 + (y - cores[k, 1]) ** 2
            blocked = blocked or d_sq < exclusion_sq
            density *= 1.0 - dip_depth * math.exp(-d_sq / (2.0 * dip_radius * dip_radius))
        for k in range(deltas.shape[0]):
            blocked = blocked or (x - deltas[k, 0]) ** 2 + (y - deltas[k, 1]) ** 2 < exclusion_sq
        if blocked or uniform(state) >= density:
            continue
        for j in range(n):
            if (xs[j] - x) ** 2 + (ys[j] - y) ** 2 < spacing_sq:
                blocked = True
                break
        if blocked:
            continue
        theta = ridge_orientation(x, y, centre_x, centre_y, cores, deltas, arch, waves)
        if uniform(state) < 0.5:
            theta += math.pi
        theta = (theta + jitter * normal(state)) % (2.0 * math.pi)
        xs[n] = x
        ys[n] = y
        angles[n] = theta
        types[n] = 1 if uniform(state) < ending_share else 2
        n += 1
    return xs[:n].astype(np.float32), ys[:n].astype(np.float32), angles[:n], types[:n]


def generate_master(rng: np.random.Generator, *, pattern: str | None = None) -> MasterFinger:
    """A new master finger drawn from ``rng``; ``pattern`` None draws the class with its
    natural frequency (``PATTERN_FREQUENCIES``)."""
    unit = rng.random(_MASTER_UNIFORMS).tolist()
    gauss = rng.standard_normal(_MASTER_NORMALS).tolist()
    if pattern is None:
        pattern = P.PATTERNS[int(np.searchsorted(P.PATTERN_CUMULATIVE, unit[0] * P.PATTERN_CUMULATIVE[-1]))]
    elif pattern not in P.PATTERN_CODES:
        raise ValueError(f"unknown pattern {pattern!r}; expected one of {', '.join(P.PATTERNS)}")
    scale = min(P.SCALE_MAX, max(P.SCALE_MIN, 1.0 + P.SCALE_SD * gauss[0]))
    jitter = [1.0 + P.HALF_AXIS_JITTER * (2.0 * u - 1.0) for u in unit[1:5]]
    half_axes = (P.HALF_WIDTH_PX * scale * jitter[0], P.HALF_WIDTH_PX * scale * jitter[1],
                 P.HALF_HEIGHT_TOP_PX * scale * jitter[2], P.HALF_HEIGHT_BOTTOM_PX * scale * jitter[3])
    count = round((P.MASTER_COUNT_MEAN + P.MASTER_COUNT_SD * gauss[1]) * scale)
    count = min(P.MASTER_COUNT_MAX, max(P.MASTER_COUNT_MIN, count))
    centre = (CANVAS_PADDING_PX + half_axes[0], CANVAS_PADDING_PX + half_axes[2])
    width = math.ceil(half_axes[0] + half_axes[1]) + 2 * CANVAS_PADDING_PX
    height = math.ceil(half_axes[2] + half_axes[3]) + 2 * CANVAS_PADDING_PX
    cores, deltas, arch = draw_singularities(pattern, centre[0], centre[1], scale,
                                             unit[5:5 + SINGULARITY_UNIFORMS], gauss[2:])
    waves = draw_waves(unit[5 + SINGULARITY_UNIFORMS:])
    if len(cores) == 2:
        density_centre = np.array([0.5 * (cores[0, 0] + cores[1, 0]), 0.5 * (cores[0, 1] + cores[1, 1])])
    elif len(cores) == 1:
        density_centre = cores[0]
    else:
        density_centre = np.array([centre[0], centre[1] - arch[2]])
    xs, ys, angles, types = place_minutiae(kernel_state(rng), count, centre[0], centre[1], np.array(half_axes),
                                           density_centre, cores, deltas, arch, waves, _PLACEMENT)
    minutiae = MinutiaArrays(xs, ys, angles, types, np.zeros(len(xs), np.uint8))
    return MasterFinger(pattern, width, height, centre, half_axes, cores, deltas, arch, waves,
                        minutiae)
