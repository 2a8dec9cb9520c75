"""The in-memory fingerprint gallery: one entry per enrolled finger, with its MCC cylinders.

Entries are appended in store row-id order and removed by row id (replaced or deleted
records).  Scoring packs the cylinders of the live entries once and reuses the packed
arrays until the gallery changes; a shortlist (entry numbers) limits scoring to those
entries.
"""

from __future__ import annotations

import threading

import numpy as np

from matcher.finger import mcc
from matcher.finger.model import Finger

KIND_CODES = {"person": 0, "latent": 1}
KIND_NAMES = ("person", "latent")


class FingerGallery:
    """Enrolled fingers: ``rowid[e]``, ``position[e]``, ``kind[e]``, ``cylinders[e]``."""

    def __init__(self, params: mcc.MccParameters = mcc.DEFAULT_PARAMETERS):
        self.params = params
        self.rowid: list[int] = []
        self.position: list[int] = []
        self.kind: list[int] = []
        self.cylinders: list[mcc.Cylinders | None] = []
        self._packed: tuple[np.ndarray, mcc.PackedCylinders] | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return sum(c is not None for c in self.cylinders)

    def describe(self, finger: Finger) -> mcc.Cylinders:
        """The MCC descriptor of one finger at its own resolution."""
        return mcc.make_cylinders(finger.arrays(), self.params,
                                  resolution_dpi=finger.resolution_dpi or 500)

    def add(self, rowid: int, kind: str, fingers: list[Finger]) -> None:
        for finger in fingers:
            self.rowid.append(rowid)
            self.position.append(finger.position)
            self.kind.append(KIND_CODES[kind])
            self.cylinders.append(self.describe(finger))
        self._packed = None

    def remove_rowids(self, rowids) -> None:
        gone = set(int(r) for r in rowids)
        if not gone:
            return
        for entry, rowid in enumerate(self.rowid):
            if rowid in gone:
                self.cylinders[entry] = None
        self._packed = None

    def _live(self) -> tuple[np.ndarray, mcc.PackedCylinders | None]:
        with self._lock:
            if self._packed is None:
                live = np.array([e for e, c in enumerate(self.cylinders) if c is not None], np.int64)
                packed = mcc.pack_cylinders([self.cylinders[e] for e in live]) if len(live) else None
                self._packed = (live, packed)
            return self._packed

    def score(self, probe: mcc.Cylinders, entries: np.ndarray | None = None):
        """(entry numbers, LSS-R scores) of the probe against the given live entries, or
        against every live entry."""
        live, packed = self._live()
        if packed is None or probe.count == 0:
            return np.zeros(0, np.int64), np.zeros(0)
        if entries is None:
            return live, mcc.similarity_one_to_many(probe, packed, self.params)
        chosen = [self.cylinders[e] for e in entries if self.cylinders[e] is not None]
        kept = np.array([e for e in entries if self.cylinders[e] is not None], np.int64)
        if not chosen:
            return kept, np.zeros(0)
        return kept, mcc.similarity_one_to_many(probe, mcc.pack_cylinders(chosen), self.params)
