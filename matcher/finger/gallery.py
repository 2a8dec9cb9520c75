"""The in-memory fingerprint gallery: one entry per enrolled finger, with its MCC cylinders
and its embedding code.

Two segments (``_gallery_segment``): the *frozen* one loaded memory-mapped from the last
snapshot, and the *growing* one with the fingers enrolled since.  Replaced and deleted
records are marked dead, never edited in place; ``snapshot`` writes the live entries of
both as the next frozen segment.  Global entry numbers run over the frozen segment first,
then the growing one; they change only when a snapshot is loaded.

Searching one probe finger (``candidates``): the entries it may be compared with are the
live ones at the same finger position, or every position when the probe's or the entry's
position is unknown (0; a latent mark).  When they are few (``exhaustive_below``) or the
caller asks for it (``fraction`` = 1), MCC scores all of them; otherwise the embedding
index returns the best ``fraction`` of them (at least ``SHORTLIST_MIN``) and MCC scores
that shortlist.
"""

from __future__ import annotations

import hashlib
import math
import threading
from pathlib import Path

import numpy as np

from matcher.finger import _gallery_snapshot, embedding, mcc
from matcher.finger._gallery_segment import (KIND_CODES, KIND_NAMES, GrowingSegment, Segment,
                                             concat, gather)
from matcher.finger.model import Finger
from matcher.finger.shortlist import SHORTLIST_MIN, EmbeddingIndex

__all__ = ["FingerGallery", "KIND_CODES", "KIND_NAMES"]


class FingerGallery:
    """Enrolled fingers of one home, searchable by MCC with an embedding shortlist."""

    def __init__(self, params: mcc.MccParameters = mcc.DEFAULT_PARAMETERS):
        self.params = params
        self.frozen: Segment = Segment(np.zeros(0, np.int64), np.zeros(0, np.int8),
                                       np.zeros(0, np.int8), None, EmbeddingIndex())
        self.growing = GrowingSegment()
        self._eligible: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    # -- contents ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(np.count_nonzero(self.frozen.alive) + np.count_nonzero(self.growing.alive))

    def describe(self, finger: Finger) -> mcc.Cylinders:
        """The MCC descriptor of one finger at its own resolution."""
        return mcc.make_cylinders(finger.arrays(), self.params,
                                  resolution_dpi=finger.resolution_dpi or 500)

    @staticmethod
    def embed(finger: Finger) -> np.ndarray:
        return embedding.embed(finger.arrays(), resolution_dpi=finger.resolution_dpi or 500)

    def add(self, rowid: int, kind: str, fingers: list[Finger]) -> None:
        with self._lock:
            for finger in fingers:
                self.growing.append(rowid, finger.position, kind, self.describe(finger),
                                    self.embed(finger))
            self._eligible.clear()

    def remove_rowids(self, rowids) -> None:
        gone = np.fromiter((int(r) for r in rowids), np.int64)
        if not len(gone):
            return
        with self._lock:
            if self.frozen.kill(gone) + self.growing.kill(gone):
                self._eligible.clear()

    def rowid(self, entries: np.ndarray) -> np.ndarray:
        return self._column("rowid", entries)

    def position(self, entries: np.ndarray) -> np.ndarray:
        return self._column("position", entries)

    def _column(self, name: str, entries: np.ndarray) -> np.ndarray:
        split = len(self.frozen)
        both = np.concatenate([getattr(self.frozen, name), getattr(self.growing, name)])
        return both[entries] if split + len(self.growing) else both[:0]

    # -- search -----------------------------------------------------------------------------

    def eligible(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        """Per segment, which entries a probe at ``position`` (0 = unknown) is compared with."""
        with self._lock:
            found = self._eligible.get(position)
            if found is None:
                found = tuple(self._mask(s, position) for s in (self.frozen, self.growing))
                self._eligible[position] = found
            return found

    @staticmethod
    def _mask(segment: Segment, position: int) -> np.ndarray:
        if not position:
            return segment.alive.copy()
        return segment.alive & ((segment.position == position) | (segment.position == 0))

    def candidates(self, finger: Finger, *, exhaustive_below: int, fraction: float):
        """(entries, MCC scores) of one probe finger: every eligible entry scored, or the
        embedding shortlist of them (see the module docstring)."""
        probe = self.describe(finger)
        masks = self.eligible(finger.position)
        eligible = sum(int(np.count_nonzero(m)) for m in masks)
        if eligible == 0 or probe.count == 0:
            return np.zeros(0, np.int64), np.zeros(0)
        if eligible <= exhaustive_below or fraction >= 1:
            chosen = [np.flatnonzero(m) for m in masks]
        else:
            k = max(SHORTLIST_MIN, math.ceil(fraction * eligible))
            chosen = self._shortlist(self.embed(finger), k, masks)
        return self._score(probe, chosen)

    def _shortlist(self, vector: np.ndarray, k: int, masks) -> list[np.ndarray]:
        found = [segment.index.search(vector, k, mask)
                 for segment, mask in zip((self.frozen, self.growing), masks)]
        products = np.concatenate([f[0] for f in found])
        best = np.argsort(-products, kind="stable")[:k]
        split = len(found[0][0])
        return [np.sort(found[0][1][best[best < split]]),
                np.sort(found[1][1][best[best >= split] - split])]

    def _score(self, probe: mcc.Cylinders, chosen: list[np.ndarray]):
        entries, scores = [], []
        for offset, segment, local in ((0, self.frozen, chosen[0]),
                                       (len(self.frozen), self.growing, chosen[1])):
            packed = segment.packed()
            if packed is None or not len(local):
                continue
            if len(local) < len(segment):     # scored in place: no copy of the cylinders
                scores.append(mcc.similarity_subset(probe, packed, local, self.params))
            else:
                scores.append(mcc.similarity_one_to_many(probe, packed, self.params))
            entries.append(local + offset)
        if not entries:
            return np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(entries), np.concatenate(scores)

    # -- persistence ------------------------------------------------------------------------

    def fingerprint(self) -> str:
        """What a snapshot must have been made under: MCC parameters and the embedding."""
        text = repr(self.params) + embedding.model_digest()
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def snapshot(self, home: Path, generation: int) -> None:
        """Write the live entries as the snapshot for ``generation`` and continue from it."""
        with self._lock:
            parts = [(s, np.flatnonzero(s.alive)) for s in (self.frozen, self.growing)]
            rowid = np.concatenate([s.rowid[live] for s, live in parts])
            position = np.concatenate([s.position[live] for s, live in parts])
            kind = np.concatenate([s.kind[live] for s, live in parts])
            packed = [gather(s.packed(), live) for s, live in parts if len(live)]
            codes = np.concatenate([s.index.codes()[live] for s, live in parts])
            _gallery_snapshot.save(home, generation, self.fingerprint(), rowid, position,
                                   kind, concat(packed) if packed else None,
                                   EmbeddingIndex.from_codes(codes))
        self.load(home)

    def load(self, home: Path) -> int | None:
        """Replace the contents by the home's snapshot; its generation, or None (and the
        gallery left as it was) when there is no usable one."""
        loaded = _gallery_snapshot.load(home, self.fingerprint(), self.params)
        if loaded is None:
            return None
        with self._lock:
            self.frozen, self.growing = loaded[0], GrowingSegment()
            self._eligible.clear()
        return loaded[1]

    def bytes_per_finger(self) -> dict[str, float]:
        """Index bytes per live finger: embedding codes and MCC cylinders."""
        count = max(1, len(self.frozen) + len(self.growing))
        rows = sum(len(p.bits) for p in (self.frozen.packed(), self.growing.packed()) if p)
        per_row = 8 * self._words() + 16      # bit and validity words; x, y, theta, minutia
        return {"embedding": float(self.frozen.index.bytes_per_finger()),
                "cylinders": rows * per_row / count}

    def _words(self) -> int:
        for segment in (self.frozen, self.growing):
            packed = segment.packed()
            if packed is not None:
                return packed.bits.shape[1] + packed.valid.shape[1]
        return 0
