"""MCC descriptors: one template's cylinders (``Cylinders``, built by ``make_cylinders``)
and many templates' cylinders packed into flat arrays for one-to-many scoring
(``PackedCylinders``).  Re-exported by ``matcher.finger.mcc``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.finger import _mcc_cylinders
from matcher.finger._mcc_params import DEFAULT_PARAMETERS, REFERENCE_DPI, MccParameters
from matcher.finger._mcc_select import MAX_MINUTIA_INDEX
from matcher.finger.model import MinutiaArrays


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
