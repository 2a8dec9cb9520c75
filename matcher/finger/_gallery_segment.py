"""Segments of the finger gallery: a frozen one loaded (memory-mapped) from the last
snapshot, and a growing one holding the fingers enrolled since.

A segment keeps, per finger (its *entry*, numbered from 0 within the segment): the store
row id of its record, its finger position (0 = unknown), the record kind, whether it is
still alive (replaced and deleted records die, they are never edited in place), its MCC
cylinders (``PackedCylinders`` rows ``offsets[e]:offsets[e + 1]``) and its embedding code
in an ``EmbeddingIndex`` whose ids are the entry numbers.
"""

from __future__ import annotations

import numpy as np

from matcher.finger import mcc
from matcher.finger.shortlist import EmbeddingIndex

KIND_CODES = {"person": 0, "latent": 1}
KIND_NAMES = ("person", "latent")


def gather(packed: mcc.PackedCylinders, entries: np.ndarray) -> mcc.PackedCylinders:
    """The cylinders of ``entries`` (in that order) as one packed array."""
    starts, ends = packed.offsets[entries], packed.offsets[entries + 1]
    counts = ends - starts
    offsets = np.zeros(len(entries) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    rows = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1])
    return mcc.PackedCylinders(packed.bits[rows], packed.valid[rows], packed.x[rows],
                               packed.y[rows], packed.theta[rows], packed.minutia[rows], offsets,
                               packed.ns, packed.nd)


def concat(pieces: list[mcc.PackedCylinders]) -> mcc.PackedCylinders:
    """One packed array of several, templates in order."""
    if len(pieces) == 1:
        return pieces[0]
    offsets = [pieces[0].offsets]
    for piece in pieces[1:]:
        offsets.append(piece.offsets[1:] + offsets[-1][-1])

    def join(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in pieces])

    return mcc.PackedCylinders(join("bits"), join("valid"), join("x"), join("y"), join("theta"),
                               join("minutia"), np.concatenate(offsets), pieces[0].ns,
                               pieces[0].nd)


class Segment:
    """A fixed set of entries (the snapshot's): arrays may be memory-mapped."""

    def __init__(self, rowid: np.ndarray, position: np.ndarray, kind: np.ndarray,
                 packed: mcc.PackedCylinders | None, index: EmbeddingIndex):
        if not len(rowid) == len(position) == len(kind) == len(index) == \
                (len(packed) if packed is not None else 0):
            raise ValueError("finger gallery segment: arrays of different lengths")
        self.rowid, self.position, self.kind = rowid, position, kind
        self._packed, self.index = packed, index
        self.alive = np.ones(len(rowid), bool)

    def __len__(self) -> int:
        return len(self.rowid)

    def packed(self) -> mcc.PackedCylinders | None:
        return self._packed

    def kill(self, rowids: np.ndarray) -> int:
        """Mark every entry of these records dead; the number that were alive."""
        if not len(self) or not len(rowids):
            return 0
        hit = np.isin(self.rowid, rowids) & self.alive
        self.alive[hit] = False
        return int(np.count_nonzero(hit))


class GrowingSegment(Segment):
    """Entries appended one record at a time (fingers enrolled since the snapshot)."""

    def __init__(self):
        self._rowid: list[int] = []
        self._position: list[int] = []
        self._kind: list[int] = []
        self._alive: list[bool] = []
        self._cylinders: list[mcc.Cylinders] = []
        self.index = EmbeddingIndex()
        self._arrays = None

    def __len__(self) -> int:
        return len(self._rowid)

    def append(self, rowid: int, position: int, kind: str, cylinders: mcc.Cylinders,
               vector: np.ndarray) -> None:
        self._rowid.append(rowid)
        self._position.append(position)
        self._kind.append(KIND_CODES[kind])
        self._alive.append(True)
        self._cylinders.append(cylinders)
        self.index.add(vector.reshape(1, -1))
        self._arrays = None

    def _materialise(self):
        if self._arrays is None:
            packed = mcc.pack_cylinders(self._cylinders) if self._cylinders else None
            self._arrays = (np.array(self._rowid, np.int64), np.array(self._position, np.int8),
                            np.array(self._kind, np.int8), np.array(self._alive, bool), packed)
        return self._arrays

    @property
    def rowid(self) -> np.ndarray:
        return self._materialise()[0]

    @property
    def position(self) -> np.ndarray:
        return self._materialise()[1]

    @property
    def kind(self) -> np.ndarray:
        return self._materialise()[2]

    @property
    def alive(self) -> np.ndarray:
        return self._materialise()[3]

    def packed(self) -> mcc.PackedCylinders | None:
        return self._materialise()[4]

    def kill(self, rowids: np.ndarray) -> int:
        killed = super().kill(rowids)
        if killed:
            self._alive = self.alive.tolist()
        return killed
