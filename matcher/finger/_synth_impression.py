"""One impression of a master: what a capture and a minutiae extractor make of the finger.

The kernel: choose the touched area (``_synth_area``), draw the placement and the skin
distortion (``_synth_warp``), warp the area's minutiae, add position and angle noise, keep
what falls inside the window, then let the extractor (``_synth_extractor``) miss, invent
(inside the area, mostly along the ridge flow), flip, grade and shuffle.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from matcher.finger import _synth_modes as M
from matcher.finger._synth_area import area_centre, area_distance, choose_area, sample_in_area
from matcher.finger._synth_extractor import count_plan, finish, keep_and_flip
from matcher.finger._synth_master import MasterFinger
from matcher.finger._synth_orientation import _CACHE, ridge_orientation
from matcher.finger._synth_random import below, between, kernel_state, normal, normal_pair, uniform
from matcher.finger._synth_warp import (
    T_ANCHOR_X, T_ANCHOR_Y, T_ANGLE_NOISE, T_BAND_WIDTH, T_CONTACT_U, T_CONTACT_V, T_MISSING,
    T_POSITION_NOISE, T_QUALITY, T_RIGID_RADIUS, T_ROTATION, T_SCALE, T_SHIFT_U, T_SHIFT_V,
    T_SKIN_ROTATION, T_SPURIOUS, T_TYPE_FLIP, TRANSFORM_SIZE, ImpressionTruth, warp_minutia,
    warp_trigonometry,
)
from matcher.finger.model import MINUTIA_TYPES, Finger, Minutia

#: A latent mark is photographed whole: this margin (px) around its extent stays in the window.
LATENT_WINDOW_MARGIN_PX = 12.0
#: Rejection-sampling attempts per spurious minutia before the area is deemed full.
SPURIOUS_ATTEMPTS = 60


def mode_vector(mode: M.ImpressionMode) -> np.ndarray:
    """The float64 vector ``impression_kernel`` unpacks (kept in its file so that numba's
    cache sees both change together)."""
    return np.array([
        *mode.count_range, math.radians(mode.rotation_sd_deg), math.radians(mode.rotation_max_deg),
        mode.translation_sd_px, *mode.contact_scale, mode.contact_offset_sd_px,
        mode.distortion_shift_sd_px, math.radians(mode.distortion_rotation_sd_deg),
        *mode.rigid_radius_px, *mode.transition_width_px, *mode.missing, *mode.spurious,
        *mode.position_noise_px, *np.deg2rad(mode.angle_noise_deg), *mode.type_flip,
        mode.quality_mean, mode.quality_sd, *mode.latent_axis_ratio, float(mode.name == "latent"),
        M.QUALITY_MIN, M.QUALITY_MAX, M.MINUTIA_QUALITY_SD, M.EDGE_QUALITY_PENALTY,
        M.SPURIOUS_QUALITY_PENALTY, M.SPURIOUS_FOLLOWING_FLOW,
    ], dtype=np.float64)


_MODE_VECTORS = {name: mode_vector(mode) for name, mode in M.MODES.items()}


@njit(cache=_CACHE, nogil=True)
def impression_kernel(state, xs, ys, angles, types, centre_x, centre_y, half_axes, cores,
                      deltas, arch, waves, p, width, height, scale):
    """Impression of a master (as ``MasterFinger``) under ``p`` = ``mode_vector(mode)`` on a
    ``width`` × ``height`` window, ``scale`` = dpi / 500.  Returns x, y (int32 px), angle
    (degrees in [0, 360), two decimals), type code, quality, source master index (-1 for a
    spurious minutia) and the transform (``T_*``)."""
    (count_low, count_high, rotation_sd, rotation_max, translation_sd, contact_low, contact_high,
     offset_sd, shift_sd, skin_rotation_sd, rigid_low, rigid_high, band_low, band_high,
     missing_low, missing_high, spurious_low, spurious_high, position_low, position_high,
     angle_low, angle_high, flip_low, flip_high, quality_mean, quality_sd, ratio_low, ratio_high,
     latent_flag, quality_min, quality_max, minutia_quality_sd, edge_penalty, spurious_penalty,
     follow_flow) = p
    latent = latent_flag > 0.5
    n = xs.shape[0]
    u = np.empty(n, np.float64)
    v = np.empty(n, np.float64)
    for i in range(n):
        u[i] = xs[i] - centre_x
        v[i] = centre_y - ys[i]
    missing, spurious = between(state, missing_low, missing_high), between(state, spurious_low, spurious_high)
    members, area, wanted, genuine_wanted = choose_area(
        state, u, v, half_axes, latent, contact_low, contact_high, offset_sd, int(count_low),
        int(count_high), missing, spurious, ratio_low, ratio_high)
    cu, cv = area_centre(area)
    t = np.zeros(TRANSFORM_SIZE, np.float64)
    t[T_CONTACT_U], t[T_CONTACT_V], t[T_SCALE] = cu, cv, scale
    t[T_ROTATION] = min(rotation_max, max(-rotation_max, rotation_sd * normal(state)))
    shift_u, shift_v = normal_pair(state)
    t[T_SHIFT_U], t[T_SHIFT_V] = shift_sd * shift_u, shift_sd * shift_v
    t[T_SKIN_ROTATION] = skin_rotation_sd * normal(state)
    t[T_RIGID_RADIUS] = between(state, rigid_low, rigid_high)
    t[T_BAND_WIDTH] = between(state, band_low, band_high)
    shift_x, shift_y = normal_pair(state)
    shift_x, shift_y = translation_sd * scale * shift_x, translation_sd * scale * shift_y
    if latent:
        extent = 0.0
        for i in members:
            extent = max(extent, math.hypot(u[i] - cu, v[i] - cv))
        extent = (extent + math.hypot(t[T_SHIFT_U], t[T_SHIFT_V]) + LATENT_WINDOW_MARGIN_PX) * scale
        room_x, room_y = max(0.0, width / 2.0 - extent), max(0.0, height / 2.0 - extent)
        shift_x, shift_y = min(room_x, max(-room_x, shift_x)), min(room_y, max(-room_y, shift_y))
    t[T_ANCHOR_X], t[T_ANCHOR_Y] = width / 2.0 + shift_x, height / 2.0 + shift_y
    sigma_position = t[T_POSITION_NOISE] = between(state, position_low, position_high) * scale
    sigma_angle = t[T_ANGLE_NOISE] = between(state, angle_low, angle_high)
    flip = t[T_TYPE_FLIP] = between(state, flip_low, flip_high)
    quality = t[T_QUALITY] = min(quality_max, max(quality_min, quality_mean + quality_sd * normal(state)))
    trig = warp_trigonometry(t)

    capacity = members.shape[0] + int(members.shape[0] * spurious_high) + int(count_high) + 2
    out_x = np.empty(capacity, np.int32)
    out_y = np.empty(capacity, np.int32)
    out_angle = np.empty(capacity, np.float64)
    out_type = np.empty(capacity, np.uint8)
    out_edge = np.empty(capacity, np.float64)
    out_source = np.empty(capacity, np.int32)
    visible = 0
    for i in members:
        x, y, a = warp_minutia(u[i], v[i], angles[i], t, trig)
        noise_x, noise_y = normal_pair(state)
        xi = int(math.floor(x + sigma_position * noise_x + 0.5))
        yi = int(math.floor(y + sigma_position * noise_y + 0.5))
        if 0 <= xi < width and 0 <= yi < height:
            out_x[visible], out_y[visible] = xi, yi
            out_angle[visible] = a + sigma_angle * normal(state)
            out_type[visible] = types[i]
            out_edge[visible] = area_distance(u[i], v[i], area, half_axes)
            out_source[visible] = i
            visible += 1
    keep, invent = count_plan(visible, latent, wanted, genuine_wanted, missing, spurious,
                              spurious_high, int(count_low), int(count_high))
    t[T_MISSING] = 1.0 - keep / max(1, visible)
    count = keep_and_flip(state, visible, keep, flip, out_x, out_y, out_angle, out_type,
                          out_edge, out_source)
    invented = 0
    for _ in range(SPURIOUS_ATTEMPTS * invent + 20):
        if invented == invent:
            break
        found, su, sv, edge = sample_in_area(state, area, half_axes, SPURIOUS_ATTEMPTS)
        if not found:
            break
        if uniform(state) < follow_flow:
            a = ridge_orientation(su + centre_x, centre_y - sv, centre_x, centre_y, cores, deltas,
                                  arch, waves) + math.pi * below(state, 2)
        else:
            a = 2.0 * math.pi * uniform(state)
        x, y, a = warp_minutia(su, sv, a, t, trig)
        xi, yi = int(math.floor(x + 0.5)), int(math.floor(y + 0.5))
        if 0 <= xi < width and 0 <= yi < height:
            out_x[count], out_y[count], out_angle[count] = xi, yi, a
            out_type[count] = 1 + below(state, 2)
            out_edge[count], out_source[count] = edge, -1
            count += 1
            invented += 1
    t[T_SPURIOUS] = invented / max(1, count - invented)
    out_quality = finish(state, count, quality, minutia_quality_sd, edge_penalty, spurious_penalty,
                         quality_min, quality_max, out_x, out_y, out_angle, out_type, out_edge,
                         out_source)
    return (out_x[:count], out_y[:count], out_angle[:count], out_type[:count], out_quality,
            out_source[:count], t)


def impression_with_truth(master: MasterFinger, rng: np.random.Generator, *, mode: str = "plain",
                          width: int | None = None, height: int | None = None,
                          resolution_dpi: int = 500) -> tuple[Finger, ImpressionTruth]:
    """``impression`` plus what the generator did (``ImpressionTruth``)."""
    settings = M.MODES.get(mode)
    if settings is None:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(M.MODES)}")
    if resolution_dpi <= 0:
        raise ValueError(f"resolution_dpi must be > 0, got {resolution_dpi}")
    scale = resolution_dpi / 500.0
    width = round(settings.window[0] * scale) if width is None else width
    height = round(settings.window[1] * scale) if height is None else height
    if not (0 < width < 16384 and 0 < height < 16384):  # 14-bit coordinates of ISO/ANSI
        raise ValueError(f"image size must be 1-16383 px per side, got {width} × {height}")
    arrays = master.minutiae
    xs, ys, angles, types, quality, source, transform = impression_kernel(
        kernel_state(rng), arrays.x, arrays.y, arrays.angle, arrays.type, master.centre[0],
        master.centre[1], np.array(master.half_axes), master.cores, master.deltas, master.arch,
        master.waves, _MODE_VECTORS[mode], width, height, scale)
    minutiae = list(map(Minutia, xs.tolist(), ys.tolist(), angles.tolist(),
                        list(map(MINUTIA_TYPES.__getitem__, types.tolist())), quality.tolist()))
    finger = Finger(minutiae=minutiae, impression=settings.impression_type,
                    quality=round(transform[T_QUALITY]), width=width, height=height,
                    resolution_dpi=resolution_dpi)
    return finger, ImpressionTruth(mode, source, transform, master.centre)
