"""Impression modes: how a rolled card, a plain live scan and a latent mark see a master.

Lengths are pixels at 500 dpi, angles degrees; ranges are (low, high) of a uniform draw made
once per impression, so prints differ in how noisy they are as well as in their noise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ImpressionMode:
    """How one kind of capture sees a master."""

    name: str
    impression_type: int              # ISO/ANSI impression code written into Finger.impression
    window: tuple[int, int]           # default image width, height (px)
    count_range: tuple[int, int]      # minutiae per impression kept inside this range
    rotation_sd_deg: float            # rigid rotation ~ N(0, sd) clipped to ± max
    rotation_max_deg: float
    translation_sd_px: float          # contact centre lands at window centre + N(0, sd) per axis
    contact_scale: tuple[float, float]  # contact ellipse / rolled foreground (per axis)
    contact_offset_sd_px: float       # contact centre offset from the finger centre
    distortion_shift_sd_px: float     # Cappelli-Maio-Maltoni: displacement of the outside skin
    distortion_rotation_sd_deg: float  # ... and its rotation about the contact centre
    rigid_radius_px: tuple[float, float]     # radius of the undistorted close-contact region
    transition_width_px: tuple[float, float]  # width of the elastic band around it
    missing: tuple[float, float]      # share of covered minutiae the extractor misses
    spurious: tuple[float, float]     # false minutiae, as a share of the genuine ones kept
    position_noise_px: tuple[float, float]   # sigma of per-minutia position noise
    angle_noise_deg: tuple[float, float]     # sigma of per-minutia angle noise
    type_flip: tuple[float, float]    # share of genuine minutiae reported with the other type
    quality_mean: float               # finger quality ~ N(mean, sd), minutia quality around it
    quality_sd: float
    latent_axis_ratio: tuple[float, float] = (1.0, 1.0)  # latent area: elongation of the mark


#: Rolled: nail to nail on a 500 × 500 window (the tenprint box crops the tip and crease a
#: little), small rotation (an operator rolls the finger upright), mild distortion,
#: 60-100 minutiae.
ROLLED = ImpressionMode(
    name="rolled", impression_type=1, window=(500, 500), count_range=(60, 100),
    rotation_sd_deg=5.0, rotation_max_deg=15.0, translation_sd_px=10.0,
    contact_scale=(0.93, 1.0), contact_offset_sd_px=0.0,
    distortion_shift_sd_px=4.0, distortion_rotation_sd_deg=2.0,
    rigid_radius_px=(60.0, 100.0), transition_width_px=(100.0, 160.0),
    missing=(0.10, 0.25), spurious=(0.05, 0.15), position_noise_px=(2.0, 3.0),
    angle_noise_deg=(5.0, 8.0), type_flip=(0.10, 0.15), quality_mean=75.0, quality_sd=10.0,
)
#: Plain (flat) live-scan on a 416 × 416 window (FBI Appendix F single-finger size): only the
#: pad touches, rotation up to ± 30°, stronger distortion from pressure and drag, 35-60 minutiae.
PLAIN = ImpressionMode(
    name="plain", impression_type=0, window=(416, 416), count_range=(35, 60),
    rotation_sd_deg=12.0, rotation_max_deg=30.0, translation_sd_px=25.0,
    contact_scale=(0.61, 0.69), contact_offset_sd_px=15.0,
    distortion_shift_sd_px=6.0, distortion_rotation_sd_deg=3.0,
    rigid_radius_px=(50.0, 90.0), transition_width_px=(80.0, 150.0),
    missing=(0.10, 0.25), spurious=(0.05, 0.15), position_noise_px=(2.0, 4.0),
    angle_noise_deg=(5.0, 10.0), type_flip=(0.10, 0.20), quality_mean=70.0, quality_sd=12.0,
)
#: Latent mark: a small partial area anywhere on the finger (15-30 minutiae, ~10 × 10 mm),
#: more noise and spurious minutiae, low quality.  Rotation stays within ± 45°: an examiner
#: orients a mark roughly upright before searching it.  The impression code 2 (non-live-scan
#: plain) is used because ISO/IEC 19794-2:2005 has no latent code.
LATENT = ImpressionMode(
    name="latent", impression_type=2, window=(500, 500), count_range=(15, 30),
    rotation_sd_deg=20.0, rotation_max_deg=45.0, translation_sd_px=30.0,
    contact_scale=(1.0, 1.0), contact_offset_sd_px=20.0,
    distortion_shift_sd_px=8.0, distortion_rotation_sd_deg=4.0,
    rigid_radius_px=(30.0, 60.0), transition_width_px=(60.0, 120.0),
    missing=(0.20, 0.35), spurious=(0.15, 0.30), position_noise_px=(3.0, 5.0),
    angle_noise_deg=(8.0, 15.0), type_flip=(0.15, 0.30), quality_mean=40.0, quality_sd=10.0,
    latent_axis_ratio=(1.0, 1.8),
)
MODES = {mode.name: mode for mode in (ROLLED, PLAIN, LATENT)}

#: Quality bounds: 20 is the floor a real extractor still reports a minutia at.
QUALITY_MIN, QUALITY_MAX = 20, 100
#: Minutia quality = finger quality + N(0, 8) - 15 u² (u: normalised distance from the
#: contact centre, edges are blurrier) - 15 for a spurious minutia.
MINUTIA_QUALITY_SD, EDGE_QUALITY_PENALTY, SPURIOUS_QUALITY_PENALTY = 8.0, 15.0, 15.0
#: Spurious minutiae mostly follow the ridge flow (broken or bridged ridges); the rest point
#: anywhere (dirt, scars, creases).
SPURIOUS_FOLLOWING_FLOW = 0.7
