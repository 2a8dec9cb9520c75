"""numba helpers that keep the best-ranked entries of a stream: MCC's pair selection (the
nP or nR most similar cylinder pairs, the nP most efficient relaxed pairs).

Rank: value descending, then item ascending, so ties resolve the same way in every
implementation whatever order the entries arrive in.  A pair's item is
``(key << PAIR_SHIFT) | (i << CYLINDER_BITS) | j``: the key (probe minutia index * 2^15 +
gallery minutia index) does the tie-breaking (it differs for every pair, so the low bits
never decide), the low bits locate the cylinders (probe cylinder i, gallery cylinder j)
without a division.
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

_CACHE = os.environ.get("MATCHER_NUMBA_NO_CACHE") is None

PAIR_SHIFT = 31
PAIR_MASK = (1 << PAIR_SHIFT) - 1
CYLINDER_BITS = 15
CYLINDER_MASK = (1 << CYLINDER_BITS) - 1
#: Largest minutia index a key can hold (and cylinder index an item can).
MAX_MINUTIA_INDEX = (1 << 15) - 1


@njit("int64(int64)", nogil=True, cache=_CACHE, inline="always")
def probe_cylinder(item):
    """Probe cylinder of a pair item."""
    return (item & PAIR_MASK) >> CYLINDER_BITS


@njit("int64(int64)", nogil=True, cache=_CACHE, inline="always")
def gallery_cylinder(item):
    """Gallery cylinder (row within its template) of a pair item."""
    return item & CYLINDER_MASK
#: Bins of the similarity histogram ``select_lanes`` ranks with: values in (0, 1].
BINS = 256


@njit("boolean(float64, int64, float64, int64)", nogil=True, cache=_CACHE, inline="always")
def ranks_below(value, item, other_value, other_item):
    """Whether (value, item) ranks below (other_value, other_item)."""
    return value < other_value or (value == other_value and item > other_item)


@njit("int64(float64, int64, float64[::1], int64[::1], int64, int64)",
      nogil=True, cache=_CACHE, inline="always")
def insert_descending(value, item, values, items, count, capacity):
    """Insert (value, item) into the list of ``count`` entries in rank order, keeping at
    most ``capacity``; returns the new count.  For short lists (nP <= 12)."""
    if count == capacity:
        if ranks_below(value, item, values[capacity - 1], items[capacity - 1]):
            return count
        position = capacity - 1
    else:
        position = count
        count += 1
    while position > 0 and ranks_below(values[position - 1], items[position - 1], value, item):
        values[position] = values[position - 1]
        items[position] = items[position - 1]
        position -= 1
    values[position] = value
    items[position] = item
    return count


@njit("uint32(int32[::1], int64, int64, int64)", nogil=True, cache=_CACHE, inline="always")
def _at_least(bins, first, count, lowest):
    """Bit q set for each slot first + q (q < count <= 32) whose bin is ``lowest`` or
    above (vectorised: no store in the loop)."""
    mask = np.uint32(0)
    start = np.uint64(first)
    threshold = np.int32(lowest)
    for q in range(np.uint32(count)):
        mask = np.uint32(mask | (np.uint32(bins[start + q] >= threshold) << q))
    return mask


@njit("int64(float64[::1], int32[::1], int64[:, ::1], int64, int64, int64[::1], int32[::1],"
      " int32[::1], int64, int64, int64[::1], int32[::1], float64[::1], int64[::1])",
      nogil=True, cache=_CACHE, inline="always")
def select_lanes(values, bins, runs, used, n_b, lane_index, p_minutia, g_minutia, start,
                 capacity, histogram, slot_run, best_values, best_items):
    """The ``capacity`` best-ranked pairs among the ``used`` lane slots of a template
    (``_mcc_local``: ``values`` lambda, ``bins`` 0 for no pair or 1 + its histogram bin,
    ``runs`` each gallery cylinder's first slot, first lane and length), in rank order,
    into ``best_values``/``best_items`` (room for ``used``); returns how many.

    A counting sort on BINS equal-width value bins: the bins from the top down to the one
    where the count reaches ``capacity`` are laid out in order and only within a bin do
    entries need comparing (with ~800 pairs for nR ~ 45 places, a binary heap spent 3x
    as long on unpredictable comparisons).  The slots to place are found 32 at a time by
    a vectorised comparison and visited by their set bits; ``slot_run`` (scratch, room
    for ``used``) maps a slot to its gallery cylinder.  ``histogram``: BINS + 1 entries
    of scratch."""
    for b in range(BINS + 1):
        histogram[b] = 0
    for q in range(used):
        histogram[bins[q]] += 1
    total = 0
    lowest = 1
    for b in range(BINS, 0, -1):  # bins turn into start offsets, best bin first
        size = histogram[b]
        histogram[b] = total
        total += size
        if total >= capacity:
            lowest = b
            break
    for j in range(n_b):
        first = np.uint64(runs[0, j])
        for q in range(np.uint64(runs[2, j])):
            slot_run[first + q] = np.int32(j)
    for first in range(0, used, 32):
        mask = _at_least(bins, first, min(used - first, 32), lowest)
        while mask:
            slot = first + trailing_zeros(mask)
            mask &= mask - np.uint32(1)
            j = np.int64(slot_run[slot])
            i = lane_index[runs[1, j] + slot - runs[0, j]]
            key = (np.int64(p_minutia[i]) << 15) + np.int64(g_minutia[start + j])
            position = histogram[bins[slot]]
            histogram[bins[slot]] += 1
            best_values[position] = values[slot]
            best_items[position] = (key << PAIR_SHIFT) | (i << CYLINDER_BITS) | j
    # Rank: entries are grouped by bin, best bin first, so one insertion pass sorts them
    # (it never crosses into a better bin) and ties fall to item order.
    for r in range(1, total):
        value = best_values[r]
        item = best_items[r]
        position = r
        while position > 0 and ranks_below(best_values[position - 1], best_items[position - 1],
                                           value, item):
            best_values[position] = best_values[position - 1]
            best_items[position] = best_items[position - 1]
            position -= 1
        best_values[position] = value
        best_items[position] = item
    return min(total, capacity)
