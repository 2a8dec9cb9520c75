"""Ridge orientation fields of synthetic masters: the zero-pole model and its singular points.

Sherlock & Monro (1993) model the orientation of a fingerprint with one pole per core and one
zero per delta: in a frame with y pointing up (so angles are counter-clockwise on the image,
as in the minutiae model),

    θ(z) = ½ [Σ_cores arg(z − c) − Σ_deltas arg(z − d)]        (mod π)

which gives a loop for one core above one delta, a tented arch when the delta sits straight
below the core, and a whorl for two cores and two deltas; far from the singular points the
ridges run horizontally, as across the tip and the crease of a finger.  A plain arch has no
singular point: its ridges follow y = H(y) exp(−x² / 2w²), so θ = atan(dy/dx).  A few smooth
plane waves of 2–5° are added on top so that two masters of one class never share a field.
"""

from __future__ import annotations

import math
import os

import numpy as np
from numba import njit

from matcher.finger import _synth_params as P

#: Compiled kernels are cached on disk, as in ``matcher.dna.kernels``.  numba keys a cached
#: kernel on its own file only: after editing a kernel other files call (this module,
#: ``_synth_random``, ``_synth_warp``, ``_synth_area``, ``_synth_extractor``), run once with
#: MATCHER_NUMBA_NO_CACHE=1 or delete ``__pycache__/_synth_*.nb*``.
_CACHE = os.environ.get("MATCHER_NUMBA_NO_CACHE") is None


@njit(cache=_CACHE, nogil=True)
def ridge_orientation(x, y, centre_x, centre_y, cores, deltas, arch, waves):
    """Ridge orientation in radians, [0, π), counter-clockwise on the image, at image point
    (x, y) of a master whose foreground centre is (centre_x, centre_y).

    ``cores`` / ``deltas``: (k, 2) image coordinates (px); ``arch``: bulge H, width w, centre
    y and vertical extent (px, y up from the centre), used when there is no core; ``waves``:
    (K, 4) amplitude (rad), wave numbers along x and y-up (rad/px), phase (rad).
    """
    u = x - centre_x
    v = centre_y - y
    theta = 0.0
    if cores.shape[0] == 0:
        bulge = arch[0] * math.exp(-((v - arch[2]) ** 2) / (2.0 * arch[3] ** 2))
        width_sq = arch[1] * arch[1]
        theta = math.atan(-bulge * u / width_sq * math.exp(-u * u / (2.0 * width_sq)))
    else:
        # Σ arg(z − c) − Σ arg(z − d) is the argument of Π (z − c) · Π conj(z − d): one atan2
        # instead of one per singular point, and θ is only needed modulo π.
        re, im = 1.0, 0.0
        for k in range(cores.shape[0]):
            du, dv = u - (cores[k, 0] - centre_x), v - (centre_y - cores[k, 1])
            re, im = re * du - im * dv, re * dv + im * du
        for k in range(deltas.shape[0]):
            du, dv = u - (deltas[k, 0] - centre_x), -(v - (centre_y - deltas[k, 1]))
            re, im = re * du - im * dv, re * dv + im * du
        theta = 0.5 * math.atan2(im, re)
    for k in range(waves.shape[0]):
        theta += waves[k, 0] * math.sin(waves[k, 1] * u + waves[k, 2] * v + waves[k, 3])
    return theta % math.pi


@njit(cache=_CACHE, nogil=True)
def orientation_field(xs, ys, centre_x, centre_y, cores, deltas, arch, waves):
    """``ridge_orientation`` at every point of the float64 arrays ``xs``, ``ys``."""
    out = np.empty(xs.shape[0], np.float64)
    for i in range(xs.shape[0]):
        out[i] = ridge_orientation(xs[i], ys[i], centre_x, centre_y, cores, deltas, arch, waves)
    return out


_NO_POINTS = np.zeros((0, 2), np.float64)
_NO_ARCH = np.zeros(4, np.float64)


def _between(unit: float, bounds: tuple[float, float]) -> float:
    return bounds[0] + unit * (bounds[1] - bounds[0])


#: Random numbers ``draw_singularities`` reads: uniforms in [0, 1), standard normals.
SINGULARITY_UNIFORMS, SINGULARITY_NORMALS = 5, 3
WAVE_UNIFORMS = 4 * P.PERTURBATION_WAVES


def draw_singularities(pattern: str, centre_x: float, centre_y: float, scale: float,
                       unit: list[float], normal: list[float],
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cores, deltas (image px, (k, 2) float64) and arch parameters of a master of
    ``pattern`` whose foreground is centred on (centre_x, centre_y) and scaled by ``scale``.

    ``unit`` and ``normal`` are the caller's uniform and standard normal draws
    (``SINGULARITY_UNIFORMS`` / ``SINGULARITY_NORMALS`` of them): the caller draws one block
    for the whole master, whatever its class, which keeps a master at a few generator calls.
    """
    core_x = centre_x + normal[0] * P.CORE_OFFSET_SD_X_PX * scale
    core_y = centre_y + (P.CORE_OFFSET_MEAN_Y_PX + normal[1] * P.CORE_OFFSET_SD_Y_PX) * scale
    if pattern == "arch":
        arch = np.array([
            _between(unit[0], P.ARCH_BULGE_PX) * scale, _between(unit[1], P.ARCH_WIDTH_PX) * scale,
            _between(unit[2], P.ARCH_CENTRE_Y_PX) * scale, _between(unit[3], P.ARCH_EXTENT_PX) * scale,
        ])
        return _NO_POINTS, _NO_POINTS, arch
    if pattern == "tented_arch":
        delta = (core_x + normal[2] * P.TENTED_DELTA_DX_SD_PX * scale,
                 core_y + _between(unit[0], P.TENTED_DELTA_DY_PX) * scale)
        return np.array([[core_x, core_y]]), np.array([delta]), _NO_ARCH
    if pattern in ("left_loop", "right_loop"):
        # A left loop opens to the left, so its delta lies to the lower right of the core.
        side = 1.0 if pattern == "left_loop" else -1.0
        delta = (core_x + side * _between(unit[0], P.LOOP_DELTA_DX_PX) * scale,
                 core_y + _between(unit[1], P.LOOP_DELTA_DY_PX) * scale)
        return np.array([[core_x, core_y]]), np.array([delta]), _NO_ARCH
    if pattern == "whorl":
        half_gap = 0.5 * _between(unit[0], P.WHORL_CORE_GAP_PX) * scale
        tilt = math.radians(normal[2] * P.WHORL_TILT_SD_DEG)
        dx, dy = half_gap * math.sin(tilt), half_gap * math.cos(tilt)
        cores = np.array([[core_x - dx, core_y - dy], [core_x + dx, core_y + dy]])
        deltas = np.array([
            [core_x - _between(unit[1], P.WHORL_DELTA_DX_PX) * scale,
             core_y + _between(unit[2], P.WHORL_DELTA_DY_PX) * scale],
            [core_x + _between(unit[3], P.WHORL_DELTA_DX_PX) * scale,
             core_y + _between(unit[4], P.WHORL_DELTA_DY_PX) * scale],
        ])
        return cores, deltas, _NO_ARCH
    raise ValueError(f"unknown pattern {pattern!r}; expected one of {', '.join(P.PATTERNS)}")


def draw_waves(unit: list[float]) -> np.ndarray:
    """(K, 4) smooth perturbation waves, amplitude (rad), wave numbers along x and y-up
    (rad/px), phase (rad), from ``WAVE_UNIFORMS`` uniform draws."""
    rows = []
    for k in range(P.PERTURBATION_WAVES):
        amplitude, wavelength, heading, phase = unit[4 * k: 4 * k + 4]
        wave_number = 2.0 * math.pi / _between(wavelength, P.PERTURBATION_WAVELENGTH_PX)
        rows.append((math.radians(_between(amplitude, P.PERTURBATION_AMPLITUDE_DEG)),
                     wave_number * math.cos(heading * math.pi),
                     wave_number * math.sin(heading * math.pi), phase * 2.0 * math.pi))
    return np.array(rows)
