"""The in-memory vehicle index: exact and ANPR-tolerant lookup of plates and VINs.

**Keys.**  A plate key is (country, normalised plate), written ``"DE:BAB1234"``; a VIN key
is the normalised VIN.  Each is packed losslessly into 96 bits, ``hi`` (uint64) + ``lo``
(uint32): a plate as ``country_number * 43**10`` plus its first 10 characters in base 43
(``PLATE_ALPHABET`` numbered 1..42, 0 after the end) and characters 11..15 in ``lo``; a
VIN as characters 1..12 in base 33 and 13..17 in ``lo``.  Comparing packed keys is
comparing the keys themselves, so a hash collision can never produce a false hit.

**Table.**  One open-addressing table with linear probing holds both kinds: a slot is a
uint64 of a 31-bit fingerprint of the key's hash (bits 63..33), the kind (bit 32) and
index row + 1 (bits 31..0; 0 is an empty slot).  Every key is placed by the hash of its
*tolerant* form (each character replaced by its confusion-class representative), so an
exact and a tolerant lookup probe the same run of slots: exact hits are the rows whose
packed key equals the query's, tolerant hits those whose tolerant form equals the query's.
Several records may hold one key (a re-issued plate, a re-registered VIN); a lookup scans
the run to its first empty slot and returns every one.

**Memory** per record holding a plate and a VIN: row id 8 + packed keys 2 x 12 + two slots
of 8 bytes at load 0.6..0.75 = 53..59 bytes (row arrays grow by 1/8 at a time: up to +4).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from matcher.vehicle.plates import MAX_PLATE_CHARS, PLATE_ALPHABET, TOLERANT_MAP
from matcher.vehicle.vin import VIN_ALPHABET

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
SNAPSHOT_FORMAT = 1
#: Queries between a slot prefetch and its use: enough misses in flight to hide memory
#: latency (8..32 measured alike at 10M records), few enough to stay in L1.
PREFETCH_AHEAD = 16


# ---------------------------------------------------------------------- key layout
KIND_PLATE, KIND_VIN = 1, 2
#: A row without this kind of key.  No packed key reaches it: the largest plate ``hi`` is
#: 676 * 43**10 - 1 < 1.5e19 < 2**64 - 1, the largest VIN ``hi`` 33**12 - 1.
ABSENT = np.uint64(2**64 - 1)
PLATE_BASE, PLATE_HI_CHARS, PLATE_LO_CHARS = 43, 10, 5
VIN_BASE, VIN_HI_CHARS, VIN_LO_CHARS = 33, 12, 5
COUNTRY_NUMBERS = 26 * 26
PLATE_COUNTRY_UNIT = np.uint64(PLATE_BASE ** PLATE_HI_CHARS)
#: Written into snapshots: a snapshot made under another alphabet or packing is ignored.
LAYOUT = f"plate:{PLATE_ALPHABET}:{PLATE_HI_CHARS}+{PLATE_LO_CHARS};vin:{VIN_ALPHABET}"
assert len(PLATE_ALPHABET) < PLATE_BASE and len(VIN_ALPHABET) == VIN_BASE
assert PLATE_HI_CHARS + PLATE_LO_CHARS == MAX_PLATE_CHARS

_U = np.uint64
_EMPTY_SYMBOL = 255


def _symbol_tables():
    """Latin-1 byte -> symbol for plates (1..42, 0 = not allowed) and VINs (0..32,
    255 = not allowed); symbol -> tolerant symbol for each."""
    plate = np.zeros(256, np.uint8)
    for i, char in enumerate(PLATE_ALPHABET):
        plate[ord(char)] = i + 1
    vin = np.full(256, _EMPTY_SYMBOL, np.uint8)
    for i, char in enumerate(VIN_ALPHABET):
        vin[ord(char)] = i
    plate_tolerant = np.zeros(PLATE_BASE, np.uint64)
    for i, char in enumerate(PLATE_ALPHABET):
        plate_tolerant[i + 1] = PLATE_ALPHABET.index(TOLERANT_MAP[char]) + 1
    vin_tolerant = np.zeros(256, np.uint64)  # indexed by any byte the symbol table yields
    vin_tolerant[: len(VIN_ALPHABET)] = [VIN_ALPHABET.index(TOLERANT_MAP[c]) for c in VIN_ALPHABET]
    return plate, vin, plate_tolerant, vin_tolerant


_PLATE_SYMBOL, _VIN_SYMBOL, _PLATE_TOLERANT, _VIN_TOLERANT = _symbol_tables()
_PB, _VB = _U(PLATE_BASE), _U(VIN_BASE)
_COLON, _NEWLINE, _A = 58, 10, 65
_LOW32 = _U(0xFFFFFFFF)
_TOMBSTONE = _U(0xFFFFFFFF00000000)  # low half 0: never a live entry, yet not empty
_M1, _M2, _GOLDEN = _U(0xFF51AFD7ED558CCD), _U(0xC4CEB9FE1A85EC53), _U(0x9E3779B97F4A7C15)


@njit(inline="always")
def _mix(x):
    """MurmurHash3's 64-bit finaliser: a bijection whose output bits each depend on all
    input bits."""
    x ^= x >> _U(33)
    x *= _M1
    x ^= x >> _U(33)
    x *= _M2
    x ^= x >> _U(33)
    return x


@njit(inline="always")
def _hash(kind, hi, lo):
    return _mix(hi ^ _mix(_U(lo) + _U(kind) * _GOLDEN))


@njit(inline="always")
def _home(h, size):
    """Slot of hash ``h`` in a table of ``size`` < 2**32 slots (multiply-shift, no modulo)."""
    return np.int64(((h >> _U(32)) * _U(size)) >> _U(32))


@njit(inline="always")
def _tag(h, kind):
    return ((h & _U(0x7FFFFFFF)) << _U(33)) | (_U(kind - 1) << _U(32))


@njit(inline="always")
def _tolerant_digits(value, count, base, table):
    out = _U(0)
    scale = _U(1)
    for _ in range(count):
        out += table[value % base] * scale
        value //= base
        scale *= base
    return out


@njit(inline="always")
def _tolerant(kind, hi, lo):
    """Tolerant form (thi, tlo) of a packed key."""
    if kind == KIND_PLATE:
        country = hi // PLATE_COUNTRY_UNIT
        rest = hi - country * PLATE_COUNTRY_UNIT
        thi = country * PLATE_COUNTRY_UNIT + _tolerant_digits(rest, PLATE_HI_CHARS, _PB,
                                                               _PLATE_TOLERANT)
        return thi, _tolerant_digits(_U(lo), PLATE_LO_CHARS, _PB, _PLATE_TOLERANT)
    return (_tolerant_digits(hi, VIN_HI_CHARS, _VB, _VIN_TOLERANT),
            _tolerant_digits(_U(lo), VIN_LO_CHARS, _VB, _VIN_TOLERANT))


def _weights(base: int, places: int) -> np.ndarray:
    """Weight of each character position in its half of a packed key, so that a key is a
    sum of independent products rather than a chain of multiply-adds."""
    return np.array([base ** (places - 1 - j) for j in range(places)], np.uint64)


_PLATE_HI_WEIGHT = _weights(PLATE_BASE, PLATE_HI_CHARS)
_PLATE_LO_WEIGHT = _weights(PLATE_BASE, PLATE_LO_CHARS)
_VIN_HI_WEIGHT = _weights(VIN_BASE, VIN_HI_CHARS)
_VIN_LO_WEIGHT = _weights(VIN_BASE, VIN_LO_CHARS)


@njit(cache=True, nogil=True)
def _encode(buf, n, kind, hi, lo, thi, tlo):
    """Pack ``n`` newline-separated latin-1 keys; returns the index of the first bad key
    or -1.  An empty line is "no key" (kind 0)."""
    pos = 0
    end_of_buffer = buf.shape[0]
    for i in range(n):
        end = pos
        while end < end_of_buffer and buf[end] != _NEWLINE:
            end += 1
        length = end - pos
        kind[i], hi[i], lo[i], thi[i], tlo[i] = 0, ABSENT, 0, ABSENT, 0
        h, t, low, tlow = _U(0), _U(0), _U(0), _U(0)
        if length == 0:
            pass
        elif length >= 4 and buf[pos + 2] == _COLON and length - 3 <= MAX_PLATE_CHARS:
            c0, c1 = np.int64(buf[pos]) - _A, np.int64(buf[pos + 1]) - _A
            chars = length - 3
            bad = not (0 <= c0 < 26 and 0 <= c1 < 26)
            for j in range(min(chars, PLATE_HI_CHARS)):
                s = _PLATE_SYMBOL[buf[pos + 3 + j]]
                bad |= s == 0
                h += _U(s) * _PLATE_HI_WEIGHT[j]
                t += _PLATE_TOLERANT[s] * _PLATE_HI_WEIGHT[j]
            for j in range(PLATE_HI_CHARS, chars):
                s = _PLATE_SYMBOL[buf[pos + 3 + j]]
                bad |= s == 0
                low += _U(s) * _PLATE_LO_WEIGHT[j - PLATE_HI_CHARS]
                tlow += _PLATE_TOLERANT[s] * _PLATE_LO_WEIGHT[j - PLATE_HI_CHARS]
            if bad:
                return i
            country = _U(c0 * 26 + c1) * PLATE_COUNTRY_UNIT
            kind[i], hi[i], lo[i], thi[i], tlo[i] = KIND_PLATE, country + h, low, country + t, tlow
        elif length == VIN_HI_CHARS + VIN_LO_CHARS:
            bad = False
            for j in range(VIN_HI_CHARS):
                s = _VIN_SYMBOL[buf[pos + j]]
                bad |= s == _EMPTY_SYMBOL
                h += _U(s) * _VIN_HI_WEIGHT[j]
                t += _VIN_TOLERANT[s] * _VIN_HI_WEIGHT[j]
            for j in range(VIN_LO_CHARS):
                s = _VIN_SYMBOL[buf[pos + VIN_HI_CHARS + j]]
                bad |= s == _EMPTY_SYMBOL
                low += _U(s) * _VIN_LO_WEIGHT[j]
                tlow += _VIN_TOLERANT[s] * _VIN_LO_WEIGHT[j]
            if bad:
                return i
            kind[i], hi[i], lo[i], thi[i], tlo[i] = KIND_VIN, h, low, t, tlow
        else:
            return i
        pos = end + 1
    return -1


@njit(inline="always")
def _place(slots, kind, thi, tlo, row):
    """Put one entry in the first empty or removed slot of its run; 1 if it reused a
    removed slot."""
    size = slots.shape[0]
    h = _hash(kind, thi, tlo)
    s = _home(h, size)
    while slots[s] != 0 and slots[s] != _TOMBSTONE:
        s += 1
        if s == size:
            s = 0
    reused = 1 if slots[s] == _TOMBSTONE else 0
    slots[s] = _tag(h, kind) | _U(row + 1)
    return reused


@njit(cache=True, nogil=True)
def _insert(slots, hi, lo, thi, tlo, kind, first_row):
    """Enter the keys of rows first_row.. (``hi`` ABSENT: no key); returns slots reused."""
    reused = 0
    for i in range(hi.shape[0]):
        if hi[i] != ABSENT:
            reused += _place(slots, kind, thi[i], tlo[i], first_row + i)
    return reused


@njit(cache=True, nogil=True)
def _rebuild(slots, plate_hi, plate_lo, vin_hi, vin_lo, n_rows):
    """Fill an empty table with every key of rows 0..n_rows."""
    for row in range(n_rows):
        if plate_hi[row] != ABSENT:
            thi, tlo = _tolerant(KIND_PLATE, plate_hi[row], plate_lo[row])
            _place(slots, KIND_PLATE, thi, tlo, row)
        if vin_hi[row] != ABSENT:
            thi, tlo = _tolerant(KIND_VIN, vin_hi[row], vin_lo[row])
            _place(slots, KIND_VIN, thi, tlo, row)


@njit(cache=True, nogil=True)
def _remove(slots, plate_hi, plate_lo, vin_hi, vin_lo, rows):
    """Turn the slots of these rows' keys into tombstones; returns how many."""
    size = slots.shape[0]
    removed = 0
    for row in rows:
        for kind in (KIND_PLATE, KIND_VIN):
            hi = plate_hi[row] if kind == KIND_PLATE else vin_hi[row]
            lo = plate_lo[row] if kind == KIND_PLATE else vin_lo[row]
            if hi == ABSENT:
                continue
            thi, tlo = _tolerant(kind, hi, lo)
            h = _hash(kind, thi, tlo)
            wanted = _tag(h, kind) | _U(row + 1)
            s = _home(h, size)
            while slots[s] != 0:
                if slots[s] == wanted:
                    slots[s] = _TOMBSTONE
                    removed += 1
                    break
                s += 1
                if s == size:
                    s = 0
    return removed


@intrinsic
def _prefetch(typingctx, array, index):
    """Ask the CPU to start loading ``array[index]`` into cache (LLVM's prefetch: read,
    high locality); no effect on results."""
    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, array_type, view, [args[1]],
                                           wraparound=False)
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [pointer.type, i32, i32, i32]),
            "llvm.prefetch.p0")
        builder.call(function, [pointer, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()
    return types.void(array, index), codegen


@njit(cache=True, nogil=True)
def _lookup(slots, plate_hi, plate_lo, vin_hi, vin_lo, kind, hi, lo, thi, tlo, tolerant,
            homes, hashes, out_query, out_row, out_tolerant):
    """Hits of every query (see ``VehicleIndex.lookup``); returns the number found, which
    may exceed the output buffers (then only that many were written: call again).

    Two passes: hash every query first, then probe while prefetching the home slot of the
    query ``PREFETCH_AHEAD`` places on, so that many cache misses overlap instead of one at
    a time (measured 2x at 10M records)."""
    size = slots.shape[0]
    n = kind.shape[0]
    for q in range(n):
        hashes[q] = _hash(kind[q], thi[q], tlo[q])
        homes[q] = _home(hashes[q], size)
    capacity = out_query.shape[0]
    found = 0
    for q in range(n):
        if q + PREFETCH_AHEAD < n:
            _prefetch(slots, homes[q + PREFETCH_AHEAD])
        qkind = kind[q]
        if qkind == 0:
            continue
        tag = _tag(hashes[q], qkind)
        s = homes[q]
        while True:
            v = slots[s]
            if v == 0:
                break
            row_plus_one = v & _LOW32
            if row_plus_one != 0 and (v ^ tag) <= _LOW32:
                row = np.int64(row_plus_one) - 1
                if qkind == KIND_PLATE:
                    rhi, rlo = plate_hi[row], plate_lo[row]
                else:
                    rhi, rlo = vin_hi[row], vin_lo[row]
                hit = 2
                if rhi == hi[q] and rlo == lo[q]:
                    hit = 0
                elif tolerant[q]:
                    rthi, rtlo = _tolerant(qkind, rhi, _U(rlo))
                    if rthi == thi[q] and rtlo == tlo[q]:
                        hit = 1
                if hit < 2:
                    if found < capacity:
                        out_query[found] = q
                        out_row[found] = row
                        out_tolerant[found] = hit
                    found += 1
            s += 1
            if s == size:
                s = 0
    return found


# ---------------------------------------------------------------------- the index
class EncodedKeys(NamedTuple):
    """Packed keys of a batch: ``kind`` (KIND_PLATE, KIND_VIN or 0 for none), exact
    ``hi``/``lo`` and tolerant ``thi``/``tlo``."""

    kind: np.ndarray
    hi: np.ndarray
    lo: np.ndarray
    thi: np.ndarray
    tlo: np.ndarray


class Found(NamedTuple):
    """Hits of a lookup: query ``query[i]`` found store row id ``rowid[i]``, exactly or
    (``tolerant[i]``) only through the ANPR confusion classes."""

    query: np.ndarray
    rowid: np.ndarray
    tolerant: np.ndarray


def plate_key(country: str, plate: str) -> str:
    """The key text of a normalised plate in a country (alpha-2)."""
    return f"{country}:{plate}"


def encode_keys(texts: Sequence[str | None]) -> EncodedKeys:
    """Pack key texts (``plate_key`` results or normalised VINs; None for no key) in one
    pass.  ValueError names the first text that is not a normalised key."""
    n = len(texts)
    try:
        joined = "\n".join(texts)
    except TypeError:  # some None among them
        joined = "\n".join(t or "" for t in texts)
    blob = joined.encode("latin-1", errors="replace")
    buf = np.frombuffer(blob, np.uint8)
    out = EncodedKeys(np.zeros(n, np.uint8), np.empty(n, np.uint64), np.empty(n, np.uint32),
                      np.empty(n, np.uint64), np.empty(n, np.uint32))
    bad = _encode(buf, n, out.kind, out.hi, out.lo, out.thi, out.tlo)
    if bad >= 0:  # the text itself is not shown: it may be a plate or VIN (no data in logs)
        raise ValueError(f"not a normalised plate or VIN key: key {bad + 1} of {n}")
    return out


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
        """Write the index (compacted) tagged with ``generation``: temp file, fsync, rename,
        so a crash leaves the old snapshot or the new one, never half of one."""
        if self.tombstones or self.removed_rows:
            self.compact()
        n = self.n_rows
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            rows = {name: getattr(self, name)[:n] for name, _, _ in _ROW_ARRAYS}
            np.savez(fh, format=np.int64(SNAPSHOT_FORMAT), layout=np.array(LAYOUT),
                     generation=np.int64(generation), slots=self.slots,
                     entries=np.int64(self.entries), **rows)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @classmethod
    def load(cls, path: Path) -> tuple[VehicleIndex, int] | None:
        """(index, generation) from a snapshot, or None when it is missing, unreadable,
        inconsistent or written under another key layout (the caller then rebuilds from the
        store).  The checks matter: the kernels trust row numbers in slots."""
        try:
            with np.load(path, allow_pickle=False) as data:
                if int(data["format"]) != SNAPSHOT_FORMAT or str(data["layout"]) != LAYOUT:
                    return None
                index = cls(0)
                for name, dtype, _ in _ROW_ARRAYS + (("slots", np.uint64, 0),):
                    array = data[name]
                    if array.dtype != dtype or array.ndim != 1:
                        return None
                    setattr(index, name, array)
                index.n_rows = n = len(index.rowids)
                index.entries = int(data["entries"])
                generation = int(data["generation"])
        except (OSError, ValueError, KeyError, EOFError):
            return None
        lengths = {len(getattr(index, name)) for name, _, _ in _ROW_ARRAYS}
        slots = index.slots
        if lengths != {n} or len(slots) < MIN_SLOTS or \
                int((slots[slots != _TOMBSTONE] & _LOW32).max(initial=0)) > n:
            return None
        return index, generation
