"""Vehicle index snapshots: the row arrays and the slot table of a ``VehicleIndex`` in one
``.npz`` file tagged with the store generation they reflect and the key ``LAYOUT``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from matcher.store import replace_durably
from matcher.vehicle._keys import LAYOUT
from matcher.vehicle._table import _LOW32, _TOMBSTONE

SNAPSHOT_FORMAT = 1


def save_snapshot(index, path: Path, generation: int, row_arrays) -> None:
    """Write ``index`` (its ``row_arrays``, slots and entry count) tagged with
    ``generation``: temp file, fsync, rename, so a crash leaves the old snapshot or the new
    one, never half of one."""
    n = index.n_rows
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        rows = {name: getattr(index, name)[:n] for name, _, _ in row_arrays}
        np.savez(fh, format=np.int64(SNAPSHOT_FORMAT), layout=np.array(LAYOUT),
                 generation=np.int64(generation), slots=index.slots,
                 entries=np.int64(index.entries), **rows)
        fh.flush()
        os.fsync(fh.fileno())
    replace_durably(tmp, path)


def load_snapshot(cls, path: Path, row_arrays, min_slots: int):
    """(index of class ``cls``, generation) from a snapshot, or None when it is missing,
    unreadable, inconsistent or written under another key layout (the caller then rebuilds
    from the store).  The checks matter: the kernels trust row numbers in slots."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != SNAPSHOT_FORMAT or str(data["layout"]) != LAYOUT:
                return None
            index = cls(0)
            for name, dtype, _ in row_arrays + (("slots", np.uint64, 0),):
                array = data[name]
                if array.dtype != dtype or array.ndim != 1:
                    return None
                setattr(index, name, array)
            index.n_rows = n = len(index.rowids)
            index.entries = int(data["entries"])
            generation = int(data["generation"])
    except (OSError, ValueError, KeyError, EOFError):
        return None
    lengths = {len(getattr(index, name)) for name, _, _ in row_arrays}
    slots = index.slots
    if lengths != {n} or len(slots) < min_slots or \
            int((slots[slots != _TOMBSTONE] & _LOW32).max(initial=0)) > n:
        return None
    return index, generation
