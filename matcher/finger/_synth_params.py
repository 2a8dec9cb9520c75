"""Every tunable of a synthetic master finger, with its unit and where its value comes from
(the impression modes are in ``_synth_modes``).

Geometry is in pixels at 500 dpi (19.685 px/mm, so 1 mm² = 387.5 px²); the generator scales
to another resolution only when it writes an impression.  Angles are degrees here and
radians inside the kernels.
"""

from __future__ import annotations

import numpy as np

#: Pattern classes (NIST / Henry five-class scheme).
PATTERNS = ("arch", "tented_arch", "left_loop", "right_loop", "whorl")
#: Natural class frequencies (Wilson, Candela & Watson, NIST 1994, as quoted by the Handbook
#: of Fingerprint Recognition): loops 65.5 %, whorls 27.9 %, arches 6.6 %.
PATTERN_FREQUENCIES = {
    "arch": 0.037, "tented_arch": 0.029, "left_loop": 0.338, "right_loop": 0.317, "whorl": 0.279,
}
PATTERN_CODES = {name: code for code, name in enumerate(PATTERNS)}
PATTERN_CUMULATIVE = np.cumsum([PATTERN_FREQUENCIES[name] for name in PATTERNS])

PX_PER_MM = 500 / 25.4
RIDGE_PERIOD_PX = 9.0        # ~0.46 mm inter-ridge distance of adult fingers at 500 dpi

# --- finger size and shape ------------------------------------------------------------------
#: Half-width and upper / lower half-heights of the rolled foreground (px): a rolled print is
#: about 20 × 25 mm, i.e. ~400 × 500 px.  The lower half is longer, as the print runs down to
#: the first crease while the top follows the round fingertip.
HALF_WIDTH_PX = 200.0
HALF_HEIGHT_TOP_PX = 230.0
HALF_HEIGHT_BOTTOM_PX = 270.0
#: Finger size varies between people and fingers (little finger to thumb): a scale factor
#: ~ N(1, 0.06) clipped to [0.85, 1.15] multiplies every length of one master.
SCALE_SD, SCALE_MIN, SCALE_MAX = 0.06, 0.85, 1.15
#: Each of the four half-axes then varies by ± 5 % on its own, so prints are not symmetric.
HALF_AXIS_JITTER = 0.05
#: Extractors report nothing within ~1 ridge period of the foreground border (px).
EDGE_MARGIN_PX = 8.0

# --- singular points (px, offsets on the image: x right, y down) -----------------------------
#: The core sits near the middle of a rolled print, a little above its centre.
CORE_OFFSET_SD_X_PX, CORE_OFFSET_MEAN_Y_PX, CORE_OFFSET_SD_Y_PX = 15.0, -25.0, 20.0
#: A loop's delta lies below the core on the side the loop does not open to: 70-130 px aside,
#: 90-150 px down (typically 8-15 ridges between core and delta).
LOOP_DELTA_DX_PX, LOOP_DELTA_DY_PX = (70.0, 130.0), (90.0, 150.0)
#: A tented arch's delta lies straight below its core, 50-90 px down.
TENTED_DELTA_DX_SD_PX, TENTED_DELTA_DY_PX = 8.0, (50.0, 90.0)
#: A whorl has two cores 15-45 px apart, their axis tilted ~ N(0, 25°), and a delta on
#: each side 90-140 px aside and 100-150 px down.
WHORL_CORE_GAP_PX, WHORL_TILT_SD_DEG = (15.0, 45.0), 25.0
WHORL_DELTA_DX_PX, WHORL_DELTA_DY_PX = (90.0, 140.0), (100.0, 150.0)
#: A plain arch has no singular point: ridges y = H exp(-x²/2w²) bulge towards the tip with
#: H(y) largest at the pattern centre; bulge height H, width w and vertical extent (px).
ARCH_BULGE_PX, ARCH_WIDTH_PX, ARCH_EXTENT_PX = (40.0, 110.0), (90.0, 140.0), (90.0, 150.0)
ARCH_CENTRE_Y_PX = (-40.0, 20.0)
#: Smooth random perturbation of the zero-pole field: this many plane waves of amplitude
#: 2-5° and wavelength 250-600 px, enough to make two masters of one class differ.
PERTURBATION_WAVES = 3
PERTURBATION_AMPLITUDE_DEG = (2.0, 5.0)
PERTURBATION_WAVELENGTH_PX = (250.0, 600.0)

# --- minutiae on a master --------------------------------------------------------------------
#: Minutiae on the whole rolled area ~ N(92, 7) × scale, clipped to [72, 120] (sd ~9 in
#: all): with the impression's losses this gives the 60-100 minutiae of a typical rolled
#: print.  Bigger fingers hold more minutiae, though less than in proportion to their area.
MASTER_COUNT_MEAN, MASTER_COUNT_SD, MASTER_COUNT_MIN, MASTER_COUNT_MAX = 92.0, 7.0, 72, 120
#: Relative density 1 - 0.75 u² at normalised elliptical distance u from the pattern centre
#: (floor 0.15).  Measured on 3,000 masters: ~0.35 minutiae/mm² 1-5 mm from the core, ~0.1
#: at the rim, a mean of ~0.23/mm² over the ~400 mm² of a rolled print (0.5/mm² everywhere
#: would put 200 minutiae on a rolled print, twice what extractors report).
DENSITY_FALLOFF, DENSITY_FLOOR = 0.75, 0.15
#: Fewer minutiae right at a core, where ridges are short and sharply curved: density times
#: 1 - 0.7 exp(-d²/2r²), r = 2 ridge periods (~0.15/mm² within 1 mm of a core), and none
#: within one ridge period of any core or delta.
CORE_DIP_DEPTH, CORE_DIP_RADIUS_PX = 0.7, 2 * RIDGE_PERIOD_PX
SINGULAR_EXCLUSION_PX = RIDGE_PERIOD_PX
#: Two minutiae are never closer than about one ridge period.
MIN_SPACING_PX = 9.0
#: Ridge endings vs bifurcations, ~55/45 in ten-print statistics.
ENDING_SHARE = 0.55
#: A minutia's direction deviates from the smoothed ridge orientation by ~ N(0, 3°).
MINUTIA_DIRECTION_JITTER_DEG = 3.0
#: Dart-throwing attempts per wanted minutia before a master settles for fewer.
PLACEMENT_ATTEMPTS_PER_MINUTIA = 60
