"""Where a point of a master lands on an impression: skin distortion, then a rigid placement.

Skin distortion follows Cappelli, Maio & Maltoni, "Modelling plastic distortion in
fingerprint images" (ICAPR 2001): around the contact centre c a close-contact region (here a
disc of radius r) does not move against the sensor; skin outside it moves with a rigid
transform T (rotation θd about c, shift d); between them an elastic band of width k blends
the two:

    distort(p) = p + (T(p) − p) · brake(|p − c| − r),   brake(s) = 0 for s ≤ 0, 1 for s ≥ k,
                                                         (1 − cos(π s / k)) / 2 between.

The distorted finger is then placed rigidly on the image: rotated by φ about c, scaled to the
output resolution and moved so that c lands on ``anchor``.  The truth of an impression keeps
every parameter, so ``ImpressionTruth.warp`` recomputes (with numpy, independently of the
kernel) where each master minutia went, and ``ImpressionTruth.rigid`` the rigid part alone.
Master points are in the master's y-up frame centred on its foreground (u = x − cx,
v = cy − y); the image has y down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from matcher.finger._synth_orientation import _CACHE

# Layout of the transform vector the impression kernel fills (``ImpressionTruth.transform``).
T_CONTACT_U, T_CONTACT_V, T_ROTATION, T_ANCHOR_X, T_ANCHOR_Y, T_SCALE = 0, 1, 2, 3, 4, 5
T_SHIFT_U, T_SHIFT_V, T_SKIN_ROTATION, T_RIGID_RADIUS, T_BAND_WIDTH = 6, 7, 8, 9, 10
T_QUALITY, T_POSITION_NOISE, T_ANGLE_NOISE, T_MISSING, T_SPURIOUS, T_TYPE_FLIP = 11, 12, 13, 14, 15, 16
TRANSFORM_SIZE = 17
#: Step (px) along a minutia's direction used to carry its angle through the distortion.
DIRECTION_STEP_PX = 2.0


@njit(cache=_CACHE, nogil=True)
def warp_trigonometry(transform):
    """cos and sin of the skin rotation and of the rigid rotation, computed once per print."""
    return np.array([math.cos(transform[T_SKIN_ROTATION]), math.sin(transform[T_SKIN_ROTATION]),
                     math.cos(transform[T_ROTATION]), math.sin(transform[T_ROTATION])])


@njit(cache=_CACHE, nogil=True)
def warp_point(u, v, transform, trig):
    """Image position (x, y) of master point (u, v) under ``transform`` (layout ``T_*``);
    ``trig`` is ``warp_trigonometry(transform)``."""
    ru = u - transform[T_CONTACT_U]
    rv = v - transform[T_CONTACT_V]
    outside = math.sqrt(ru * ru + rv * rv) - transform[T_RIGID_RADIUS]
    if outside <= 0.0:
        brake = 0.0
    elif outside >= transform[T_BAND_WIDTH]:
        brake = 1.0
    else:
        brake = 0.5 * (1.0 - math.cos(math.pi * outside / transform[T_BAND_WIDTH]))
    cos_d, sin_d, cos_r, sin_r = trig[0], trig[1], trig[2], trig[3]
    pu = ru + brake * (cos_d * ru - sin_d * rv + transform[T_SHIFT_U] - ru)
    pv = rv + brake * (sin_d * ru + cos_d * rv + transform[T_SHIFT_V] - rv)
    scale = transform[T_SCALE]
    return (transform[T_ANCHOR_X] + scale * (cos_r * pu - sin_r * pv),
            transform[T_ANCHOR_Y] - scale * (sin_r * pu + cos_r * pv))


@njit(cache=_CACHE, nogil=True)
def warp_minutia(u, v, angle, transform, trig):
    """Image position and direction (radians, counter-clockwise on the image) of a master
    minutia: the direction is carried by warping a second point a short step ahead."""
    x, y = warp_point(u, v, transform, trig)
    ahead_x, ahead_y = warp_point(u + DIRECTION_STEP_PX * math.cos(angle),
                                  v + DIRECTION_STEP_PX * math.sin(angle), transform, trig)
    return x, y, math.atan2(y - ahead_y, ahead_x - x)


@dataclass(frozen=True, slots=True)
class ImpressionTruth:
    """What the generator did to make one impression of a master.

    - ``mode``: ``rolled``, ``plain`` or ``latent``.
    - ``source``: per impression minutia (in the Finger's order), the index of the master
      minutia it reports, or -1 for a spurious one.
    - ``transform``: float64 vector, layout ``T_*``: contact centre (master y-up frame, px),
      rigid rotation φ (rad), anchor (image px), scale (output dpi / 500), Cappelli-Maio-Maltoni
      shift (px) and rotation (rad), rigid radius and band width (px), finger quality, and the
      rates drawn for this impression (noise sigmas in px and rad, missing, spurious, flips).
    - ``centre``: the master's foreground centre, to go from master image to y-up coordinates.
    """

    mode: str
    source: np.ndarray
    transform: np.ndarray
    centre: tuple[float, float]

    def _relative(self, x, y):
        u = np.asarray(x, np.float64) - self.centre[0] - self.transform[T_CONTACT_U]
        v = self.centre[1] - np.asarray(y, np.float64) - self.transform[T_CONTACT_V]
        return u, v

    def _place(self, u, v) -> tuple[np.ndarray, np.ndarray]:
        t = self.transform
        cos_r, sin_r = math.cos(t[T_ROTATION]), math.sin(t[T_ROTATION])
        return (t[T_ANCHOR_X] + t[T_SCALE] * (cos_r * u - sin_r * v),
                t[T_ANCHOR_Y] - t[T_SCALE] * (sin_r * u + cos_r * v))

    def rigid(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Impression position of master image points under the rigid placement alone."""
        return self._place(*self._relative(x, y))

    def warp(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Impression position of master image points with the skin distortion (no noise)."""
        t = self.transform
        u, v = self._relative(x, y)
        outside = np.hypot(u, v) - t[T_RIGID_RADIUS]
        brake = np.where(outside <= 0, 0.0, np.where(
            outside >= t[T_BAND_WIDTH], 1.0,
            0.5 * (1 - np.cos(np.pi * np.clip(outside, 0, None) / t[T_BAND_WIDTH]))))
        cos_d, sin_d = math.cos(t[T_SKIN_ROTATION]), math.sin(t[T_SKIN_ROTATION])
        return self._place(u + brake * (cos_d * u - sin_d * v + t[T_SHIFT_U] - u),
                           v + brake * (sin_d * u + cos_d * v + t[T_SHIFT_V] - v))

    def unrigid(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Master image position of impression points, undoing the rigid placement only."""
        t = self.transform
        du = (np.asarray(x, np.float64) - t[T_ANCHOR_X]) / t[T_SCALE]
        dv = (t[T_ANCHOR_Y] - np.asarray(y, np.float64)) / t[T_SCALE]
        cos_r, sin_r = math.cos(t[T_ROTATION]), math.sin(t[T_ROTATION])
        u = cos_r * du + sin_r * dv + t[T_CONTACT_U]
        v = -sin_r * du + cos_r * dv + t[T_CONTACT_V]
        return u + self.centre[0], self.centre[1] - v

    @property
    def rotation_deg(self) -> float:
        """Rigid rotation of the impression, degrees counter-clockwise on the image."""
        return math.degrees(self.transform[T_ROTATION])
