"""MCC parameters (spec ``minutiae.md`` table 4; Cappelli, Ferrara, Maltoni, TPAMI
32(12) 2010, table 2) and the two published grid sizes.  Re-exported by
``matcher.finger.mcc``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from matcher.finger._mcc_lanes import MAX_PLANES, plane_count

#: Resolution the spatial parameters are given at (spec 4: "R 70 px at 500 dpi").
REFERENCE_DPI = 500.0


@dataclass(frozen=True)
class MccParameters:
    """Every MCC parameter.  Source: spec ``minutiae.md`` table 4 (which follows Cappelli
    et al. 2010, table 2) unless a comment says the value was tuned; tuning used synthetic
    impressions (``matcher.finger.synth``, 400 fingers: latent marks against rolled prints,
    plain against plain).  Lengths in pixels at 500 dpi, angles in radians."""

    # -- cylinders --------------------------------------------------------------------
    #: R, px: cylinder radius.
    radius: float = 70.0
    #: NS: cells per side of the spatial grid.  Spec: 16, with 8 the small variant; 8 chosen
    #: (see DEFAULT_PARAMETERS).
    ns: int = 8
    #: ND: direction bins.
    nd: int = 6
    #: sigma_S, px: spatial Gaussian; neighbours count within 3 sigma_S of a cell centre.
    sigma_s: float = 28.0 / 3.0
    #: sigma_D, rad: directional Gaussian.
    sigma_d: float = 2.0 * math.pi / 9.0
    #: mu_Psi: a cell's bit is 1 when its sum reaches this.  Spec: 0.01, the other
    #: implementation 0.005; 0.005 tuned better (latent FNMR at FMR 1 %: 0.31 -> 0.28).
    mu_psi: float = 0.005
    #: tau_Psi: sigmoid slope of real-valued cylinders; the bit form keeps only mu_Psi.
    tau_psi: float = 400.0
    #: Omega, px: enlargement of the minutiae's convex hull inside which cells are valid
    #: (spec 50, the other implementation 20; 20 lost half the latent cylinders).
    omega: float = 50.0
    #: minVC: share of the cells inside R that must be valid for a cylinder to be kept.
    min_vc: float = 0.75
    #: minM: other minutiae within R + 3 sigma_S a kept cylinder needs.
    min_m: int = 2
    # -- local similarity ---------------------------------------------------------------
    #: minME: share of the cells inside R valid in both cylinders for a non-zero similarity.
    min_me: float = 0.6
    #: delta_theta, rad: largest direction difference of comparable cylinders, hence the
    #: largest rotation between two impressions MCC tolerates (less the angle noise).
    #: Spec: pi/2, the other implementation pi/3; pi/3 was as accurate here (synthetic
    #: latents turn by up to 45 degrees) and leaves a third fewer pairs to compare.  Use
    #: pi/2 for marks whose orientation is unknown.
    delta_theta: float = math.pi / 3.0
    # -- consolidation (LSS, LSS-R) -----------------------------------------------------
    #: minNP, maxNP: fewest and most pairs averaged.
    min_np: int = 4
    max_np: int = 12
    #: mu_P, tau_P: centre (cylinders) and slope of the sigmoid that sets nP between them.
    mu_p: float = 20.0
    tau_p: float = 2.0 / 5.0
    #: nrel: relaxation rounds.
    n_rel: int = 5
    #: wR: weight a pair keeps of its own similarity each round.
    w_r: float = 0.5
    #: mu1_rho, px, and tau1_rho, 1/px: distance disagreement at which rho's first factor
    #: is 1/2, and its slope.  Spec: 5 px; 10 tuned (synthetic skin distortion and 2-5 px
    #: noise made 5 px cut true pairs: latent FNMR at FMR 1 % 0.28 -> 0.25).
    mu_rho_distance: float = 10.0
    tau_rho_distance: float = -8.0 / 5.0
    #: mu2_rho, rad, and tau2_rho, 1/rad: the same for the direction differences.
    mu_rho_direction: float = math.pi / 12.0
    tau_rho_direction: float = -30.0
    #: mu3_rho, rad, and tau3_rho, 1/rad: the same for the radial angles.
    mu_rho_radial: float = math.pi / 12.0
    tau_rho_radial: float = -30.0
    #: Implementation: a rho factor below e^-rho_cutoff (0.007) counts 0, so only ~10 % of
    #: the pairs of pairs need rho evaluated (``_mcc_rho``); 3, 5 and 10 scored alike.
    rho_cutoff: float = 5.0

    def __post_init__(self):
        largest_nd = (1 << MAX_PLANES) - 1
        if (self.ns < 2 or not 1 <= self.nd <= largest_nd or self.radius <= 0
                or self.sigma_s <= 0 or self.sigma_d <= 0):
            raise ValueError(f"MccParameters: ns >= 2, 1 <= nd <= {largest_nd} and radius, "
                             f"sigma_s, sigma_d > 0 expected, got ns={self.ns} nd={self.nd} "
                             f"radius={self.radius} sigma_s={self.sigma_s} "
                             f"sigma_d={self.sigma_d}")
        if self.words * 64 >= 1 << 21:
            raise ValueError(f"MccParameters: ns={self.ns} nd={self.nd} make cylinders of "
                             f"{self.words * 64} bits, at most 2^21 - 1 supported")
        if not 1 <= self.min_np <= self.max_np:
            raise ValueError(f"MccParameters: 1 <= min_np <= max_np expected, got "
                             f"{self.min_np}, {self.max_np}")

    @property
    def spatial_words(self) -> int:
        """uint64 words of one direction bin's cells (and of the validity mask)."""
        return (self.ns * self.ns + 63) // 64

    @property
    def words(self) -> int:
        """uint64 words of one cylinder's bits."""
        return self.nd * self.spatial_words

    @property
    def planes(self) -> int:
        """Bit planes of a cell's direction count (``_mcc_lanes``)."""
        return plane_count(self.nd)

    @property
    def cells_inside(self) -> int:
        """Spatial cells whose centre lies within R of the minutia."""
        side = 2.0 * self.radius / self.ns
        offsets = side * (np.arange(self.ns) - (self.ns - 1) / 2.0)
        return int(np.sum(offsets[:, None] ** 2 + offsets[None, :] ** 2 <= self.radius ** 2))

    def _cylinder_settings(self) -> np.ndarray:
        return np.array([self.radius, self.ns, self.nd, self.sigma_s, self.sigma_d, self.mu_psi,
                         self.omega, self.min_vc, self.min_m], np.float64)

    def _match_settings(self) -> np.ndarray:
        return np.array([
            self.delta_theta, self.min_me * (self.cells_inside * self.nd), self.min_np,
            self.max_np, self.mu_p, self.tau_p, self.n_rel, self.w_r, self.mu_rho_distance,
            self.tau_rho_distance, self.mu_rho_direction, self.tau_rho_direction,
            self.mu_rho_radial, self.tau_rho_radial, self.rho_cutoff, self.nd,
            self.min_common], np.float64)

    @property
    def min_common(self) -> int:
        """Fewest cells valid in both cylinders a pair needs: the smallest c with
        c * ND >= minME * (cells inside R) * ND, the spec's test in integers."""
        target = self.min_me * (self.cells_inside * self.nd)
        common = max(math.ceil(target / self.nd) - 2, 0)
        while float(common * self.nd) < target:
            common += 1
        return common


#: The paper's full-size variant: 16 x 16 x 6 = 1,536 bits (24 words) per cylinder.
MCC16 = MccParameters(ns=16)
#: The small variant: 8 x 8 x 6 = 384 bits (6 words) per cylinder.
MCC8 = MccParameters(ns=8)
#: Default: NS = 8.  On synthetic impressions (matcher.finger.synth, 400 fingers) the two
#: sizes were equally accurate (plain: FNMR 0.3 % at FMR 0.1 % both; latent against rolled:
#: FNMR at FMR 1 % 0.247 for NS = 8, 0.245 for NS = 16, within the sampling error), while
#: NS = 8 compares ~1.7x faster (LSS-R) and stores 56 bytes per cylinder instead of 224.
DEFAULT_PARAMETERS = MCC8
