"""Scratch buffers of the MCC scoring kernel (``_mcc_kernels.score_many``): one set per
thread, grown on demand and reused, so repeated searches (and every comparison inside
one) allocate nothing.  ``ARRAYS`` is the kernel's work arguments, in order; its
signature is built from it.

Sizes, with n probe cylinders, L cylinders in the largest gallery template, W bit words
and S validity words a cylinder, P bit planes, stride = ``_mcc_lanes.lane_stride(n)``
lanes a row, H = n(n - 1)/2 pairs of pairs, B = LANE_BLOCK_RHO and L (n + LANE_BLOCK)
lane slots a template ("slots"):

    lanes       lane_rows x stride   probe bits, planes, validity, direction by lane
    packed, similarities, bins, slot_run, best_values, best_items: slots
    common      n + LANE_BLOCK       count_lanes' scratch (S > 1)
    lane_theta, lane_index: stride; table 2 x BUCKETS; pairs_averaged n + 1; runs 3 x L
    geometry    n x n x 4, approx 2 x n x n (probe pair geometry, relaxation)
    pairs32     3 x (n + B), rows32 n + B, per_pair PAIR_ROWS x (n + B), probe_row n + B
    staged      STAGED_ROWS x H, rho 2 x H, survivor 2 x H, entry 2 x 2H, entry_value 2H,
    masks       n (n // 32 + 1)
    rank_value, rank: maxNP; histogram BINS + 1
"""

from __future__ import annotations

import threading

import numpy as np

from matcher.finger._mcc_lanes import BUCKETS, LANE_BLOCK, lane_rows
from matcher.finger._mcc_relaxation import PAIR_ROWS
from matcher.finger._mcc_rho import GEOMETRY_FIELDS, LANE_BLOCK_RHO, STAGED_ROWS
from matcher.finger._mcc_select import BINS

#: (name, dtype, dimensions) of the kernel's work arguments, in its argument order.
ARRAYS = (
    ("lanes", np.uint64, 1), ("packed", np.uint64, 1),
    ("common", np.uint64, 1), ("lane_theta", np.float64, 1), ("lane_index", np.int64, 1),
    ("table", np.int64, 2), ("pairs_averaged", np.int64, 1), ("runs", np.int64, 2), ("similarities", np.float64, 1),
    ("bins", np.int32, 1), ("histogram", np.int64, 1), ("slot_run", np.int32, 1), ("best_values", np.float64, 1), ("best_items", np.int64, 1),
    ("geometry", np.float64, 3), ("approx", np.float32, 3), ("pairs32", np.float32, 2),
    ("rows32", np.int32, 1), ("per_pair", np.float64, 2), ("probe_row", np.int64, 1),
    ("survivor", np.int64, 2), ("masks", np.uint32, 1), ("staged", np.float64, 2),
    ("rho", np.float64, 2),
    ("entry", np.int64, 2), ("entry_value", np.float64, 1), ("rank_value", np.float64, 1),
    ("rank", np.int64, 1),
)


def signature_types() -> str:
    """The numba types of ``ARRAYS`` (C-contiguous), comma-separated."""
    names = {np.uint64: "uint64", np.uint32: "uint32", np.int64: "int64", np.int32: "int32",
             np.float64: "float64", np.float32: "float32"}
    return ", ".join(f"{names[dtype]}[{', '.join([':'] * (dims - 1) + ['::1'])}]"
                     for _, dtype, dims in ARRAYS)


class Workspace(threading.local):
    """Per-thread flat buffers, handed out as views of the shapes a search needs."""

    def __init__(self):
        self._flat: dict[str, np.ndarray] = {}

    def _view(self, name: str, dtype, shape: tuple[int, ...]) -> np.ndarray:
        size = int(np.prod(shape))
        flat = self._flat.get(name)
        if flat is None or flat.size < max(size, 1):
            flat = np.empty(max(size, 1, 0 if flat is None else 2 * flat.size), dtype)
            self._flat[name] = flat
        return flat[:size].reshape(shape)

    def buffers(self, n: int, largest: int, words: int, spatial: int, planes: int,
                max_np: int, stride: int) -> tuple[np.ndarray, ...]:
        """The kernel's work arrays, in ``ARRAYS`` order."""
        largest = max(largest, 1)
        slots = largest * (n + LANE_BLOCK)
        half = max(n * (n - 1) // 2, 1)
        padded = n + LANE_BLOCK_RHO
        shapes = {
            "lanes": (lane_rows(words, spatial, planes) * stride,),
            "packed": (slots,),
            "common": (n + LANE_BLOCK,), "lane_theta": (stride,), "lane_index": (stride,),
            "table": (2, BUCKETS), "pairs_averaged": (n + 1,), "runs": (3, largest), "similarities": (slots,),
            "bins": (slots,), "histogram": (BINS + 1,), "slot_run": (slots,), "best_values": (slots,), "best_items": (slots,),
            "geometry": (n, n, GEOMETRY_FIELDS), "approx": (2, n, n), "pairs32": (3, padded),
            "rows32": (padded,), "per_pair": (PAIR_ROWS, padded), "probe_row": (padded,),
            "survivor": (2, half), "masks": (n * (n // 32 + 1) + 1,),
            "staged": (STAGED_ROWS, half), "rho": (2, half),
            "entry": (2, 2 * half), "entry_value": (2 * half,), "rank_value": (max_np,),
            "rank": (max_np,),
        }
        return tuple(self._view(name, dtype, shapes[name]) for name, dtype, _ in ARRAYS)
