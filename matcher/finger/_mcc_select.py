"""numba helpers that keep the best-ranked entries of a stream: MCC's pair selection (the
nP or nR most similar cylinder pairs, the nP most efficient relaxed pairs).

Rank: value descending, then item ascending, so ties resolve the same way in every
implementation whatever order the entries arrive in.  A pair's item is
``(key << PAIR_SHIFT) | (i * n_b + j)``: the key (probe minutia index * 2^15 + gallery
minutia index) does the tie-breaking, the low bits locate the cylinders.
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit

_CACHE = os.environ.get("MATCHER_NUMBA_NO_CACHE") is None

PAIR_SHIFT = 31
PAIR_MASK = (1 << PAIR_SHIFT) - 1
#: Largest minutia index a key can hold.
MAX_MINUTIA_INDEX = (1 << 15) - 1


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


#: Bins of the similarity histogram ``select_best`` ranks with: values in (0, 1].
BINS = 256


@njit("int64(float64[::1], int64[::1], int64, int64, int64[::1], float64[::1], int64[::1])",
      nogil=True, cache=_CACHE)
def select_best(values, items, count, capacity, histogram, best_values, best_items):
    """The ``capacity`` best-ranked of ``count`` entries with values in (0, 1], in rank
    order, into ``best_values``/``best_items`` (room for ``count``); returns how many.

    A counting sort on BINS equal-width value bins: the bins from the top down to the one
    where the count reaches ``capacity`` are laid out in order and only within a bin do
    entries need comparing.  With ~800 candidates for nR ~ 45 places, a binary heap spent
    3x as long on unpredictable comparisons, a sorted insertion list longer still.  ``histogram`` has BINS + 1 entries of scratch.
    """
    histogram[:] = 0
    for r in range(count):
        histogram[min(np.int64(values[r] * BINS), BINS - 1)] += 1
    total = 0
    lowest = 0
    for b in range(BINS - 1, -1, -1):  # bins turn into start offsets, best bin first
        size = histogram[b]
        histogram[b] = total
        total += size
        if total >= capacity:
            lowest = b
            break
    for r in range(count):
        b = min(np.int64(values[r] * BINS), BINS - 1)
        if b >= lowest:
            position = histogram[b]
            histogram[b] += 1
            best_values[position] = values[r]
            best_items[position] = items[r]
    start = 0
    for b in range(BINS - 1, lowest - 1, -1):  # rank inside each bin (ties: item order)
        stop = histogram[b]
        for r in range(start + 1, stop):
            value = best_values[r]
            item = best_items[r]
            position = r
            while position > start and ranks_below(best_values[position - 1],
                                                   best_items[position - 1], value, item):
                best_values[position] = best_values[position - 1]
                best_items[position] = best_items[position - 1]
                position -= 1
            best_values[position] = value
            best_items[position] = item
        start = stop
    return min(total, capacity)
