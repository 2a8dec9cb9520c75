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

**Arithmetic.**  The relaxation evaluates exp and atan2 with its own polynomials (within
two units in the last place of the correctly rounded value, ``_mcc_math``) and lets
multiplies and adds fuse, so a score equals a plain implementation of the formulas to
~1e-15 rather than to the last bit; the local similarities and LSS are bit for bit.

**Speed.**  ``similarity_one_to_many`` with the default parameters: ~105,000 comparisons a
second on one core (LSS: ~250,000) for ~47-minutia plain impressions
(``benchmarks/mcc_speed.py``; the kernels' modules explain how).  Keep a packed gallery
and score a probe against all of it (or a shortlist packed once) in one call: ``similarity``
costs tens of microseconds of Python for one comparison.
"""

from __future__ import annotations

import numpy as np

from matcher.finger import _mcc_kernels, _mcc_lanes, _mcc_local
from matcher.finger._mcc_descriptors import (
    Cylinders, PackedCylinders, _check_order, make_cylinders, pack_cylinders)
from matcher.finger._mcc_params import (
    DEFAULT_PARAMETERS, MCC8, MCC16, REFERENCE_DPI, MccParameters)
from matcher.finger._mcc_workspace import Workspace

__all__ = [
    "DECISION_THRESHOLD", "DEFAULT_PARAMETERS", "MCC8", "MCC16", "REFERENCE_DPI", "Cylinders",
    "MccParameters", "PackedCylinders", "explain", "make_cylinders", "pack_cylinders",
    "similarity", "similarity_lss", "similarity_one_to_many", "similarity_subset",
]

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


_WORKSPACE = Workspace()


def _check(what: str, ns: int, nd: int, params: MccParameters) -> None:
    if (ns, nd) != (params.ns, params.nd):
        raise ValueError(f"{what} were built with NS={ns} ND={nd}, the parameters say "
                         f"NS={params.ns} ND={params.nd}: build both with the same MccParameters")


def similarity_subset(probe: Cylinders, gallery: PackedCylinders, templates: np.ndarray,
                      params: MccParameters = DEFAULT_PARAMETERS) -> np.ndarray:
    """LSS-R scores of the probe against gallery templates ``templates`` (indices, in that
    order), read where they lie in the packed arrays: no copy of a shortlist's cylinders."""
    templates = np.asarray(templates, np.int64)
    starts = np.ascontiguousarray(gallery.offsets[templates], np.int64)
    counts = np.ascontiguousarray(gallery.offsets[templates + 1] - starts, np.int64)
    return _score(probe, gallery, params, True, starts=starts, counts=counts)


def _score(probe: Cylinders, gallery: PackedCylinders, params: MccParameters, relaxation: bool,
           evidence: np.ndarray | None = None, *, starts: np.ndarray | None = None,
           counts: np.ndarray | None = None) -> np.ndarray:
    _check("probe cylinders", probe.ns, probe.nd, params)
    _check("gallery cylinders", gallery.ns, gallery.nd, params)
    _check_order("probe cylinders", probe.theta, np.array([0, probe.count]))
    if starts is None:
        offsets = np.asarray(gallery.offsets, np.int64)
        starts, counts = offsets[:-1].copy(), np.diff(offsets)
    largest = int(np.max(counts)) if len(counts) else 0
    stride = _mcc_lanes.lane_stride(probe.count)
    work = _WORKSPACE.buffers(probe.count, largest, params.words, params.spatial_words,
                              params.planes, params.max_np, stride)
    if evidence is None:
        evidence = np.empty((params.max_np, 4))
    out = np.empty(len(starts))
    kernel = _mcc_kernels.scorer(params.words, params.spatial_words, params.nd, params.planes,
                                 stride)
    kernel(probe.bits, probe.valid, probe.x, probe.y, probe.theta, probe.minutia,
           gallery.bits, gallery.valid, gallery.x, gallery.y, gallery.theta, gallery.minutia,
           starts, counts, params._match_settings(), relaxation, *work, evidence, out)
    return out
