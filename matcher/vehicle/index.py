"""The in-memory vehicle index: exact and ANPR-tolerant lookup of plates and VINs.

Plate and VIN keys are packed losslessly into 96 bits (``_keys``) and entered in one
open-addressing slot table by the hash of their tolerant form (``_table``), so that an exact
and a tolerant lookup probe the same slots; ``_snapshot`` saves and loads the whole index.

**Memory** per record holding a plate and a VIN: row id 8 + packed keys 2 x 12 + two slots
of 8 bytes at load 0.6..0.75 = 53..59 bytes (row arrays grow by 1/8 at a time: up to +4).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from matcher.vehicle._keys import (
    ABSENT, COUNTRY_NUMBERS, KIND_PLATE, KIND_VIN, LAYOUT, PLATE_BASE, PLATE_COUNTRY_UNIT,
    PLATE_HI_CHARS, PLATE_LO_CHARS, VIN_BASE, VIN_HI_CHARS, VIN_LO_CHARS, EncodedKeys,
    encode_keys, plate_key,
)
from matcher.vehicle._snapshot import SNAPSHOT_FORMAT, load_snapshot, save_snapshot
from matcher.vehicle._table import PREFETCH_AHEAD, _insert, _lookup, _rebuild, _remove

__all__ = [
    "ABSENT", "COMPACT_FRACTION", "COUNTRY_NUMBERS", "KIND_PLATE", "KIND_VIN", "LAYOUT",
    "LOAD_AFTER_GROWTH", "MAX_LOAD", "MIN_SLOTS", "PLATE_BASE", "PLATE_COUNTRY_UNIT",
    "PLATE_HI_CHARS", "PLATE_LO_CHARS", "PREFETCH_AHEAD", "ROW_GROWTH", "SNAPSHOT_FORMAT",
    "VIN_BASE", "VIN_HI_CHARS", "VIN_LO_CHARS", "EncodedKeys", "Found", "VehicleIndex",
    "encode_keys", "plate_key",
]

#: Load factor the slot table is resized to when it grows or is rebuilt, and the load
#: (live entries + tombstones) that triggers it.  Every lookup scans to an empty slot (to
#: find all records with the key): at 0.75 linear probing expects 0.5 * (1 + 1/0.25**2) =
#: 8.5 slots, 68 bytes, one or two cache lines; 0.6 keeps memory under 64 bytes a record.
LOAD_AFTER_GROWTH = 0.6
MAX_LOAD = 0.75
MIN_SLOTS = 1024
#: Row arrays grow by this factor: small steps keep the slack (and bytes per record) low;
#: a copy of 32 bytes a row every 1/8 growth costs little next to the store's writes.
ROW_GROWTH = 1.125
#: Removed rows are squeezed out once they exceed this share of the rows.
COMPACT_FRACTION = 0.25
#: Hits one lookup call can return before it is retried with larger buffers (per query).
_HITS_PER_QUERY = 2


class Found(NamedTuple):
    """Hits of a lookup: query ``query[i]`` found store row id ``rowid[i]``, exactly or
    (``tolerant[i]``) only through the ANPR confusion classes."""

    query: np.ndarray
    rowid: np.ndarray
    tolerant: np.ndarray


#: The per-row arrays: name, dtype, value of an unused row.
_ROW_ARRAYS = (("rowids", np.int64, 0), ("plate_hi", np.uint64, ABSENT),
               ("plate_lo", np.uint32, 0), ("vin_hi", np.uint64, ABSENT), ("vin_lo", np.uint32, 0))


class VehicleIndex:
    """Rows of (store row id, plate key, VIN key) in row-id order, and the slot table."""

    def __init__(self, capacity: int = 0):
        self.n_rows = 0
        self.removed_rows = 0  # rows whose record was removed, until compaction
        self.entries = 0       # live keys in the table
        self.tombstones = 0    # removed keys still occupying a slot
        for name, dtype, fill in _ROW_ARRAYS:
            setattr(self, name, np.full(capacity, fill, dtype))
        self.slots = np.zeros(MIN_SLOTS, np.uint64)

    @property
    def live(self) -> int:
        """Records held (rows not removed)."""
        return self.n_rows - self.removed_rows

    # ------------------------------------------------------------------ writing
    def add(self, rowids: np.ndarray, plates: EncodedKeys, vins: EncodedKeys) -> None:
        """Append records; row ids must exceed every row id held (the store's order)."""
        m = len(rowids)
        if m == 0:
            return
        rowids = np.asarray(rowids, np.int64)
        if self.n_rows and rowids[0] <= self.rowids[self.n_rows - 1]:
            raise ValueError("row ids must grow")
        has_plate, has_vin = plates.kind == KIND_PLATE, vins.kind == KIND_VIN
        if not (has_plate | has_vin).all():
            raise ValueError("every record needs a plate or a VIN key")
        self._reserve(self.n_rows + m)
        rows = slice(self.n_rows, self.n_rows + m)
        self.rowids[rows] = rowids
        self.plate_hi[rows] = np.where(has_plate, plates.hi, ABSENT)
        self.plate_lo[rows] = plates.lo
        self.vin_hi[rows] = np.where(has_vin, vins.hi, ABSENT)
        self.vin_lo[rows] = vins.lo
        new_entries = int(has_plate.sum() + has_vin.sum())
        if self.entries + self.tombstones + new_entries > MAX_LOAD * len(self.slots):
            self.n_rows += m
            self._rebuild()
            return
        reused = _insert(self.slots, self.plate_hi[rows], plates.lo, plates.thi, plates.tlo,
                          KIND_PLATE, self.n_rows)
        reused += _insert(self.slots, self.vin_hi[rows], vins.lo, vins.thi, vins.tlo,
                           KIND_VIN, self.n_rows)
        self.n_rows += m
        self.entries += new_entries
        self.tombstones -= reused

    def remove_rowids(self, rowids) -> int:
        """Drop the records with these store row ids (absent ones are ignored)."""
        ids = np.asarray(sorted(rowids), np.int64)
        n = self.n_rows
        if len(ids) == 0 or n == 0:
            return 0
        pos = np.searchsorted(self.rowids[:n], ids)
        inside = pos < n
        pos, ids = pos[inside], ids[inside]
        rows = np.unique(pos[self.rowids[pos] == ids])
        rows = rows[(self.plate_hi[rows] != ABSENT) | (self.vin_hi[rows] != ABSENT)]
        if len(rows) == 0:
            return 0
        removed = _remove(self.slots, self.plate_hi, self.plate_lo, self.vin_hi, self.vin_lo,
                           rows.astype(np.int64))
        self.plate_hi[rows] = ABSENT
        self.vin_hi[rows] = ABSENT
        self.entries -= removed
        self.tombstones += removed
        self.removed_rows += len(rows)
        if self.removed_rows > COMPACT_FRACTION * n:
            self.compact()
        return len(rows)

    def compact(self) -> None:
        """Squeeze out removed rows and rebuild the table without tombstones."""
        n = self.n_rows
        keep = np.flatnonzero((self.plate_hi[:n] != ABSENT) | (self.vin_hi[:n] != ABSENT))
        if len(keep) < n:
            for name, _, _ in _ROW_ARRAYS:
                array = getattr(self, name)
                array[: len(keep)] = array[keep]
            self.n_rows = len(keep)
            self.plate_hi[self.n_rows:] = ABSENT
            self.vin_hi[self.n_rows:] = ABSENT
        self.removed_rows = 0
        self._rebuild()

    def _rebuild(self) -> None:
        n = self.n_rows
        entries = int((self.plate_hi[:n] != ABSENT).sum() + (self.vin_hi[:n] != ABSENT).sum())
        size = max(MIN_SLOTS, int(entries / LOAD_AFTER_GROWTH) + 1)
        if size >= 2**32 or n >= 2**32 - 1:  # slots hold row + 1 in 32 bits, see _home
            raise OverflowError(f"{n:,} records exceed what one vehicle index can hold")
        self.slots = np.zeros(0, np.uint64)  # let the old table go before the new one grows
        self.slots = np.zeros(size, np.uint64)
        _rebuild(self.slots, self.plate_hi, self.plate_lo, self.vin_hi, self.vin_lo, n)
        self.entries, self.tombstones = entries, 0

    def _reserve(self, rows: int) -> None:
        capacity = len(self.rowids)
        if rows <= capacity:
            return
        new = max(rows, int(capacity * ROW_GROWTH))
        for name, dtype, fill in _ROW_ARRAYS:
            old = getattr(self, name)
            grown = np.full(new, fill, dtype)
            grown[:capacity] = old
            setattr(self, name, grown)

    # ------------------------------------------------------------------ reading
    def lookup(self, keys: EncodedKeys, tolerant) -> Found:
        """Every record holding each query key; with ``tolerant`` (one bool, or one per
        query) also those whose key differs only within the ANPR confusion classes.  Hits
        come grouped by query in query order; a record appears once per query."""
        n = len(keys.kind)
        flags = np.broadcast_to(np.asarray(tolerant, np.bool_), (n,)).astype(np.uint8)
        size = max(16, n * _HITS_PER_QUERY)
        homes, hashes = np.empty(n, np.int64), np.empty(n, np.uint64)
        while True:
            out_query = np.empty(size, np.int64)
            out_row = np.empty(size, np.int64)
            out_tolerant = np.empty(size, np.uint8)
            found = _lookup(self.slots, self.plate_hi, self.plate_lo, self.vin_hi, self.vin_lo,
                             keys.kind, keys.hi, keys.lo, keys.thi, keys.tlo, flags, homes,
                             hashes, out_query, out_row, out_tolerant)
            if found <= size:
                return Found(out_query[:found], self.rowids[out_row[:found]],
                             out_tolerant[:found].astype(np.bool_))
            size = found

    def memory_bytes(self) -> int:
        """Bytes held by the index arrays (allocated, not only used)."""
        return self.slots.nbytes + sum(getattr(self, name).nbytes for name, _, _ in _ROW_ARRAYS)

    def bytes_per_record(self) -> float:
        live = self.live
        return self.memory_bytes() / live if live else 0.0

    def key_counts(self) -> tuple[int, int]:
        """(plates, VINs) held by live records."""
        n = self.n_rows
        return int((self.plate_hi[:n] != ABSENT).sum()), int((self.vin_hi[:n] != ABSENT).sum())

    def plate_countries(self) -> dict[str, int]:
        """Live plates per country (alpha-2)."""
        hi = self.plate_hi[: self.n_rows]
        numbers = (hi[hi != ABSENT] // PLATE_COUNTRY_UNIT).astype(np.int64)
        counts = np.bincount(numbers, minlength=COUNTRY_NUMBERS)
        return {chr(65 + i // 26) + chr(65 + i % 26): int(c)
                for i, c in enumerate(counts) if c}

    # ------------------------------------------------------------------ snapshots
    def save(self, path: Path, generation: int) -> None:
        """Write the index (compacted) tagged with ``generation`` (``save_snapshot``)."""
        if self.tombstones or self.removed_rows:
            self.compact()
        save_snapshot(self, path, generation, _ROW_ARRAYS)

    @classmethod
    def load(cls, path: Path) -> tuple[VehicleIndex, int] | None:
        """(index, generation) from a snapshot, or None when it cannot be used
        (``load_snapshot``)."""
        return load_snapshot(cls, path, _ROW_ARRAYS, MIN_SLOTS)
