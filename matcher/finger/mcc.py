"""Minutia Cylinder-Code: the fingerprint verification score (Cappelli, Ferrara, Maltoni,
"Minutia Cylinder-Code: a new representation and matching technique for fingerprint
recognition", IEEE TPAMI 32(12), 2010; spec ``minutiae.md`` section 4).

    cylinders = make_cylinders(finger.arrays(), resolution_dpi=finger.resolution_dpi)
    score = similarity(probe_cylinders, cylinders)            # LSS-R, 0..1
    hit = score >= DECISION_THRESHOLD
    scores = similarity_one_to_many(probe_cylinders, pack_cylinders(gallery))

Each minutia becomes a bit-based cylinder (its neighbourhood, turned with it, as
NS x NS x ND bits plus a validity mask); two templates are compared by the popcount local
similarity of every cylinder pair and the pairs are consolidated by LSS (mean of the best
nP) or LSS-R (relaxation, the default: pairs that agree geometrically with other pairs
keep their similarity, isolated ones lose it).

**Scale.**  0 (nothing in common) to 1 (identical neighbourhoods everywhere); a template
against itself scores ~0.998 (relaxation weights never reach exactly 1).  Relaxation keeps
little of an isolated pair's similarity, so real comparisons sit low on the scale: on
synthetic impressions (``matcher.finger.synth``) impostor pairs score ~0.016 (median; 99.9th
percentile 0.023-0.039 depending on the captures) and mated pairs 0.10 (plain against
plain), 0.15 (rolled) and 0.04 (latent mark against rolled print).  Scores do not depend
on where the templates sit or how they are turned as long as the rotation between them
stays within ``delta_theta`` (60 degrees by default) less the angle noise.

**Threshold.**  ``DECISION_THRESHOLD`` = 0.039: at most 0.1 % of impostor comparisons reach
it (see its comment for the calibration).  Mated pairs below it: 1.2 % plain/plain, 0.2 %
plain/rolled, 0 rolled/rolled, 52 % latent/rolled (latent marks need a ranked search).

**Evidence.**  ``explain`` lists the minutia pairs behind a score (which minutia of each
template, initial and relaxed local similarity), what an examiner asks for when a hit is
challenged; it carries indices and similarities only, no coordinates.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from matcher.finger import _mcc_cylinders, _mcc_kernels, _mcc_local, _mcc_select
from matcher.finger._mcc_select import MAX_MINUTIA_INDEX
from matcher.finger.model import MinutiaArrays

__all__ = [
    "DECISION_THRESHOLD", "DEFAULT_PARAMETERS", "MCC8", "MCC16", "Cylinders", "MccParameters",
    "PackedCylinders", "explain", "make_cylinders", "pack_cylinders", "similarity",
    "similarity_lss", "similarity_one_to_many",
]

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
    #: Implementation: a rho factor below e^-rho_cutoff (0.007) counts 0, so most pairs of
    #: pairs skip their atan2 (``_mcc_relaxation``); 3, 5 and 10 scored alike.
    rho_cutoff: float = 5.0

    def __post_init__(self):
        if (self.ns < 2 or self.nd < 1 or self.radius <= 0 or self.sigma_s <= 0
                or self.sigma_d <= 0):
            raise ValueError(f"MccParameters: ns >= 2, nd >= 1 and radius, sigma_s, sigma_d > 0 "
                             f"expected, got ns={self.ns} nd={self.nd} radius={self.radius} "
                             f"sigma_s={self.sigma_s} sigma_d={self.sigma_d}")
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
            self.mu_rho_radial, self.tau_rho_radial, self.rho_cutoff, self.nd], np.float64)


#: The paper's full-size variant: 16 x 16 x 6 = 1,536 bits (24 words) per cylinder.
MCC16 = MccParameters(ns=16)
#: The small variant: 8 x 8 x 6 = 384 bits (6 words) per cylinder.
MCC8 = MccParameters(ns=8)
#: Default: NS = 8.  On synthetic impressions (matcher.finger.synth, 400 fingers) the two
#: sizes were equally accurate (plain: FNMR 0.3 % at FMR 0.1 % both; latent against rolled:
#: FNMR at FMR 1 % 0.247 for NS = 8, 0.245 for NS = 16, within the sampling error), while
#: NS = 8 compares ~1.5x faster (LSS-R) and stores 56 bytes per cylinder instead of 224.
DEFAULT_PARAMETERS = MCC8

#: LSS-R score (DEFAULT_PARAMETERS) at or above which two templates count as the same
#: finger: false positive identification rate 0.1 % per comparison.  Calibrated on every
#: impostor pair among 500 synthetic fingers (``matcher.finger.synth``; run
#: ``python benchmarks/mcc_speed.py --calibrate``) in four capture pairings, 249,500 pairs
#: each, as the highest of their 99.9th percentiles: latent mark against rolled print
#: 0.0386 (0.091 % of its impostor pairs reach 0.039), plain/plain 0.0268, plain/rolled
#: 0.0258, rolled/rolled 0.0233 (none of their 748,500 impostor pairs reach 0.039).  For a
#: search against N fingers the chance that some impostor reaches it is ~N times the
#: per-comparison rate: identification ranks candidates and applies its own threshold.
DECISION_THRESHOLD = 0.039


@dataclass(frozen=True, slots=True)
class Cylinders:
    """One template's MCC descriptor: the kept cylinders, sorted by direction (``theta``
    ascending; the scoring kernel relies on it and checks it).

    ``bits`` uint64 [n, W] (cell bits, zero outside the cylinder's validity; layout in
    ``_mcc_cylinders``); ``valid`` uint64 [n, S] (per spatial cell, the same for every
    direction bin); ``x``, ``y`` float32 px at 500 dpi in a right-handed frame (y = minus the
    image's y); ``theta`` float32 radians counter-clockwise; ``minutia`` int32 index of each
    cylinder's minutia in the template it was built from.
    """

    bits: np.ndarray
    valid: np.ndarray
    x: np.ndarray
    y: np.ndarray
    theta: np.ndarray
    minutia: np.ndarray
    ns: int
    nd: int

    @property
    def count(self) -> int:
        return self.bits.shape[0]

    def __len__(self) -> int:
        return self.bits.shape[0]


@dataclass(frozen=True, slots=True)
class PackedCylinders:
    """Many templates' cylinders in flat arrays: template t owns rows
    ``offsets[t]:offsets[t + 1]`` of every array (fields as in ``Cylinders``)."""

    bits: np.ndarray
    valid: np.ndarray
    x: np.ndarray
    y: np.ndarray
    theta: np.ndarray
    minutia: np.ndarray
    offsets: np.ndarray
    ns: int
    nd: int

    def __len__(self) -> int:
        return self.offsets.shape[0] - 1

    def template(self, index: int) -> Cylinders:
        rows = slice(self.offsets[index], self.offsets[index + 1])
        return Cylinders(self.bits[rows], self.valid[rows], self.x[rows], self.y[rows],
                         self.theta[rows], self.minutia[rows], self.ns, self.nd)


def make_cylinders(arrays: MinutiaArrays, params: MccParameters = DEFAULT_PARAMETERS, *,
                   resolution_dpi: float = REFERENCE_DPI) -> Cylinders:
    """The cylinders of one template (``MinutiaArrays``: image frame, y down, angles CCW
    as seen on the image).  Positions are rescaled to 500 dpi first.  Cylinders near the
    template's edge (too few valid cells) or with fewer than ``min_m`` neighbours are not
    kept, so ``count`` can be below the number of minutiae (0 for a tiny template)."""
    n = len(arrays)
    if n > MAX_MINUTIA_INDEX + 1:
        raise ValueError(f"make_cylinders: {n} minutiae, at most {MAX_MINUTIA_INDEX + 1} supported")
    for name in ("y", "angle"):
        if len(getattr(arrays, name)) != n:
            raise ValueError(f"make_cylinders: arrays.{name} has {len(getattr(arrays, name))} "
                             f"entries, arrays.x has {n}")
    if not resolution_dpi > 0:
        raise ValueError(f"make_cylinders: resolution_dpi must be positive, got {resolution_dpi}")
    scale = np.float32(REFERENCE_DPI / resolution_dpi)
    # float32 first: the stored positions are then exactly the ones the bits were built from
    x = np.asarray(arrays.x, np.float32) * scale
    y = -np.asarray(arrays.y, np.float32) * scale
    theta = np.mod(np.asarray(arrays.angle, np.float64), 2.0 * np.pi).astype(np.float32)
    bits = np.empty((n, params.words), np.uint64)
    valid = np.empty((n, params.spatial_words), np.uint64)
    index = np.empty(n, np.int64)
    kept = _mcc_cylinders.build(x.astype(np.float64), y.astype(np.float64),
                                theta.astype(np.float64), params._cylinder_settings(),
                                bits, valid, index)
    # Stored by direction: the delta_theta test is then true for one contiguous run of
    # gallery cylinders per probe cylinder, a branch the CPU predicts (in minutia order it
    # is a coin toss, and mispredictions made the kernel 3x slower).
    order = np.lexsort((index[:kept], theta[index[:kept]]))
    rows = index[order]
    return Cylinders(bits[order], valid[order], x[rows], y[rows], theta[rows],
                     rows.astype(np.int32), params.ns, params.nd)


def pack_cylinders(templates: list[Cylinders]) -> PackedCylinders:
    """Flat arrays of many templates for ``similarity_one_to_many``."""
    if not templates:
        raise ValueError("pack_cylinders: no templates")
    ns, nd = templates[0].ns, templates[0].nd
    for number, template in enumerate(templates):
        if (template.ns, template.nd) != (ns, nd):
            raise ValueError(f"pack_cylinders: template {number} has NS={template.ns} "
                             f"ND={template.nd}, template 0 has NS={ns} ND={nd}")
    offsets = np.zeros(len(templates) + 1, np.int64)
    np.cumsum([t.count for t in templates], out=offsets[1:])
    packed = PackedCylinders(
        np.concatenate([t.bits for t in templates]), np.concatenate([t.valid for t in templates]),
        np.concatenate([t.x for t in templates]), np.concatenate([t.y for t in templates]),
        np.concatenate([t.theta for t in templates]),
        np.concatenate([t.minutia for t in templates]), offsets, ns, nd)
    _check_order("pack_cylinders", packed.theta, offsets)
    return packed


def _check_order(what: str, theta: np.ndarray, offsets: np.ndarray) -> None:
    """Every template's cylinders sorted by direction in [0, 2 pi] (``make_cylinders``
    stores them so; the kernel's direction window depends on it)."""
    falls = np.flatnonzero(np.diff(theta) < 0) + 1
    starts = set(offsets.tolist())
    wrong = [int(row) for row in falls if int(row) not in starts]
    if wrong or (theta.size and (theta.min() < 0 or theta.max() > np.float32(2 * np.pi))):
        template = int(np.searchsorted(offsets, wrong[0], side="right")) - 1 if wrong else -1
        raise ValueError(f"{what}: cylinders must be sorted by theta in [0, 2 pi] as "
                         f"make_cylinders stores them (template {template} is not)")


def similarity(a: Cylinders, b: Cylinders, params: MccParameters = DEFAULT_PARAMETERS) -> float:
    """LSS-R score of two templates, 0..1 (``DECISION_THRESHOLD`` and above: same finger)."""
    return float(_score(a, pack_cylinders([b]), params, True)[0])


def similarity_lss(a: Cylinders, b: Cylinders, params: MccParameters = DEFAULT_PARAMETERS) -> float:
    """LSS score (mean of the nP best local similarities, no relaxation), 0..1; faster and
    less discriminating than ``similarity``, and on another scale than its threshold."""
    return float(_score(a, pack_cylinders([b]), params, False)[0])


def similarity_one_to_many(probe: Cylinders, gallery: PackedCylinders | list[Cylinders],
                           params: MccParameters = DEFAULT_PARAMETERS, *,
                           relaxation: bool = True) -> np.ndarray:
    """Scores (float64, 0..1) of the probe against every gallery template in one kernel
    call: LSS-R, or LSS with ``relaxation=False``.  Releases the GIL while it runs."""
    if not isinstance(gallery, PackedCylinders):
        gallery = pack_cylinders(list(gallery)) if len(gallery) else None
        if gallery is None:
            return np.zeros(0)
    return _score(probe, gallery, params, relaxation)


def explain(a: Cylinders, b: Cylinders, params: MccParameters = DEFAULT_PARAMETERS) -> dict:
    """The LSS-R score and the nP minutia pairs behind it: for each, the minutia's index in
    template a and in template b, the local similarity and the relaxed one (the score is
    the sum of the relaxed ones divided by nP)."""
    evidence = np.full((params.max_np, 4), -1.0)
    score = float(_score(a, pack_cylinders([b]), params, True, evidence)[0])
    pairs = [{"minutia_a": int(a.minutia[int(row[0])]), "minutia_b": int(b.minutia[int(row[1])]),
              "local_similarity": float(row[2]), "relaxed_similarity": float(row[3])}
             for row in evidence if row[0] >= 0]
    n_p = int(_mcc_local.pair_count(a.count, b.count, params._match_settings())) \
        if a.count and b.count else params.min_np
    return {"score": score, "pairs_averaged": n_p, "pairs": pairs}


class _Workspace(threading.local):
    """Per-thread scratch buffers of the scoring kernel, grown on demand, so repeated calls
    (and every comparison inside one call) allocate nothing."""

    def __init__(self):
        self.f64 = np.empty(0)
        self.i64 = np.empty(0, np.int64)
        self.u64 = np.empty(0, np.uint64)

    def buffers(self, n_probe: int, largest: int, words: int, max_np: int):
        """Views of the buffers, grown to the sizes ``score_many`` documents."""
        largest = max(largest, 1)
        pairs = max(n_probe * largest, max_np)
        square = n_probe * n_probe
        need_f = 4 * square + 2 * pairs + 11 * n_probe + max_np
        need_i = 2 * square + 2 * pairs + _mcc_select.BINS + 1 + 2 * n_probe + max_np
        need_u = largest * words
        if self.f64.shape[0] < need_f:
            self.f64 = np.empty(need_f)
        if self.i64.shape[0] < need_i:
            self.i64 = np.empty(need_i, np.int64)
        if self.u64.shape[0] < need_u:
            self.u64 = np.empty(need_u, np.uint64)
        return self.f64, self.i64, self.u64[:need_u]


_WORKSPACE = _Workspace()
_SQRT_TABLES: dict[int, np.ndarray] = {}


def _check(what: str, ns: int, nd: int, params: MccParameters) -> None:
    if (ns, nd) != (params.ns, params.nd):
        raise ValueError(f"{what} were built with NS={ns} ND={nd}, the parameters say "
                         f"NS={params.ns} ND={params.nd}: build both with the same MccParameters")


def _score(probe: Cylinders, gallery: PackedCylinders, params: MccParameters, relaxation: bool,
           evidence: np.ndarray | None = None) -> np.ndarray:
    _check("probe cylinders", probe.ns, probe.nd, params)
    _check("gallery cylinders", gallery.ns, gallery.nd, params)
    _check_order("probe cylinders", probe.theta, np.array([0, probe.count]))
    words = params.words
    sqrt_table = _SQRT_TABLES.get(words)
    if sqrt_table is None:
        sqrt_table = _SQRT_TABLES.setdefault(
            words, np.sqrt(np.arange(64 * words + 1, dtype=np.float64)))
    largest = int(np.max(np.diff(gallery.offsets))) if len(gallery) else 0
    work_f, work_i, work_u = _WORKSPACE.buffers(probe.count, largest, words, params.max_np)
    if evidence is None:
        evidence = np.empty((params.max_np, 4))
    valid_wide = np.empty((probe.count, words), np.uint64)
    _mcc_kernels.widen_validity(probe.valid, 0, probe.count, valid_wide)
    out = np.empty(len(gallery))
    _mcc_kernels.scorer(words, params.spatial_words)(
        probe.bits, probe.valid, valid_wide, probe.x, probe.y, probe.theta, probe.minutia,
        gallery.bits, gallery.valid, gallery.x, gallery.y, gallery.theta, gallery.minutia,
        gallery.offsets,
        params._match_settings(), relaxation, sqrt_table, work_f, work_i, work_u, evidence, out)
    return out
