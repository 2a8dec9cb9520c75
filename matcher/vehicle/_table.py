"""The slot table of the vehicle index: numba kernels that insert, remove and look up
packed keys (``_keys``).

**Table.**  One open-addressing table with linear probing holds both kinds: a slot is a
uint64 of a 31-bit fingerprint of the key's hash (bits 63..33), the kind (bit 32) and
index row + 1 (bits 31..0; 0 is an empty slot).  Every key is placed by the hash of its
*tolerant* form (each character replaced by its confusion-class representative), so an
exact and a tolerant lookup probe the same run of slots: exact hits are the rows whose
packed key equals the query's, tolerant hits those whose tolerant form equals the query's.
Several records may hold one key (a re-issued plate, a re-registered VIN); a lookup scans
the run to its first empty slot and returns every one.
"""

from __future__ import annotations

import numpy as np

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from matcher.vehicle._keys import ABSENT, KIND_PLATE, KIND_VIN, _hash, _tolerant

#: Queries between a slot prefetch and its use: enough misses in flight to hide memory
#: latency (8..32 measured alike at 10M records), few enough to stay in L1.
PREFETCH_AHEAD = 16

_U = np.uint64
_LOW32 = _U(0xFFFFFFFF)
_TOMBSTONE = _U(0xFFFFFFFF00000000)  # low half 0: never a live entry, yet not empty


@njit(inline="always")
def _home(h, size):
    """Slot of hash ``h`` in a table of ``size`` < 2**32 slots (multiply-shift, no modulo)."""
    return np.int64(((h >> _U(32)) * _U(size)) >> _U(32))


@njit(inline="always")
def _tag(h, kind):
    return ((h & _U(0x7FFFFFFF)) << _U(33)) | (_U(kind - 1) << _U(32))


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
