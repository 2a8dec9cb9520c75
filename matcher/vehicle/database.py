"""``home.vehicle``: add, search, delete and describe one home's vehicle registrations.

A record ``{"reference", "country", "plate", "vin"}`` holds a plate (with its country of
registration) or a VIN or both.  The SQLite store is the truth: every write commits there
first (category ``vehicle``, kind ``vehicle``, body the normalised
``{"country","plate","vin"}``), then updates the in-memory index; opening loads the newest
snapshot and replays only what the store committed after it.  A record whose reference is
already stored replaces it in the same transaction.

Queries carry ``country`` + ``plate`` (searched in that country) or ``vin`` (searched in
all countries), an optional ``reference`` and ``"tolerant": true`` for ANPR look-alikes
(``matcher.vehicle.plates.CONFUSION_CLASSES``; applied to VINs too, whose OCR shares the
confusions).  Answers name records by reference only, with what matched (``plate`` or
``vin``) and whether the match needed the confusion classes; never a stored plate or VIN.

Raw records and queries are normalised in ``_records``, search answers shaped in ``_answers``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from matcher.records import RawRecord, valid_batches
from matcher.store import DeleteReport, Store, StoredRecord
from matcher.vehicle._answers import fill_hits, read_queries
from matcher.vehicle._records import (
    FLAG_VIN_CHECK_DIGIT, RecordRejected, Registration, VehicleQuery, normalise_query,
    normalise_record,
)
from matcher.vehicle.index import VehicleIndex, encode_keys, plate_key

__all__ = [
    "ADD_BATCH", "CATEGORY", "FLAG_VIN_CHECK_DIGIT", "KIND", "REPLAY_BATCH",
    "SNAPSHOT_AFTER_CHANGES", "SNAPSHOT_FILE", "AddReport", "DeleteReport", "RecordRejected",
    "Registration", "VehicleDatabase", "VehicleQuery", "normalise_query", "normalise_record",
]

CATEGORY = "vehicle"
SNAPSHOT_FILE = "vehicle-index.npz"
#: Records committed per store transaction during a bulk add: the fsync per commit costs
#: little at this size, and a crash loses at most this much unacknowledged input.
ADD_BATCH = 5_000
#: Write a fresh snapshot once this many records changed since the last one, so opening a
#: home never replays more than about this many.
SNAPSHOT_AFTER_CHANGES = 20_000
#: Stored records re-read per batch when replaying the store into the index.
REPLAY_BATCH = 50_000
KIND = "vehicle"


@dataclass(slots=True)
class AddReport:
    """Outcome of an add: counts, one entry per rejected record, and how many stored VINs
    carry a correct North American check digit (reported, never required)."""

    added: int = 0
    replaced: int = 0
    rejected: list[dict] = field(default_factory=list)
    generation: int = 0
    vins: int = 0
    vin_check_digit_valid: int = 0


class VehicleDatabase:
    """One home's vehicle category.  Thread-safe: one lock guards the index."""

    def __init__(self, store: Store, home_path: Path):
        self.store = store
        self._snapshot_path = Path(home_path) / SNAPSHOT_FILE
        self._lock = threading.RLock()
        self._changes_since_snapshot = 0
        self.index, self.generation = self._open_index()

    # ------------------------------------------------------------------ opening
    def _open_index(self) -> tuple[VehicleIndex, int]:
        loaded = VehicleIndex.load(self._snapshot_path)
        if loaded is None or loaded[1] > self.store.generation():
            index, generation = VehicleIndex(), 0
        else:
            index, generation = loaded
        current = self.store.generation()
        if self._replay(index, generation) > SNAPSHOT_AFTER_CHANGES:
            index.save(self._snapshot_path, current)
        return index, current

    def _replay(self, index: VehicleIndex, generation: int) -> int:
        """Bring ``index`` from ``generation`` to the store's current state."""
        index.remove_rowids(self.store.removed_rowids(CATEGORY, after_generation=generation))
        count = 0
        batch: list[StoredRecord] = []
        for record in self.store.records(CATEGORY, after_generation=generation):
            batch.append(record)
            if len(batch) >= REPLAY_BATCH:
                count += self._index_stored(index, batch)
                batch = []
        return count + self._index_stored(index, batch)

    @staticmethod
    def _index_stored(index: VehicleIndex, records: list[StoredRecord]) -> int:
        if records:
            bodies = [json.loads(r.body) for r in records]
            index.add(np.array([r.rowid for r in records], np.int64),
                      encode_keys([plate_key(b["country"], b["plate"]) if "plate" in b else None
                                   for b in bodies]),
                      encode_keys([b.get("vin") for b in bodies]))
        return len(records)

    def refresh(self) -> None:
        """Catch up with writes another process committed to the store."""
        with self._lock:
            current = self.store.generation()
            if current != self.generation:
                self._changes_since_snapshot += self._replay(self.index, self.generation)
                self.generation = current

    # ------------------------------------------------------------------ writing
    def add(self, records: Iterable[dict], *,
            progress: Callable[[int], None] | None = None) -> AddReport:
        """Validate and store records (dicts in the JSON Lines shape); a record whose
        reference exists replaces it.  Rejected records are reported, the rest stored."""
        return self.add_raw((RawRecord(i, data=r) for i, r in enumerate(records, start=1)),
                            progress=progress)

    def add_raw(self, raws: Iterable[RawRecord], *,
                progress: Callable[[int], None] | None = None,
                batch_size: int = ADD_BATCH) -> AddReport:
        """``add`` for records read from a file, keeping their line numbers in rejections.
        Searches from other threads go on between batches: the lock is held per commit."""
        self.refresh()
        report = AddReport(generation=self.generation)
        for batch in valid_batches(raws, normalise_record, RecordRejected, batch_size,
                                   report.rejected):
            self._commit(batch, report, progress)
        with self._lock:
            self._maybe_snapshot()
        return report

    def _commit(self, records: list[Registration], report: AddReport, progress) -> None:
        if not records:
            return
        latest = list({r.reference: r for r in records}.values())  # last version wins
        plates = encode_keys([r.plate_key for r in latest])
        vins = encode_keys([r.vin for r in latest])
        upserts = [(r.reference, KIND, r.body(), r.flags) for r in latest]
        with self._lock:
            self.refresh()  # the index must hold every row the store replaces
            result = self.store.write(CATEGORY, upserts)
            if self._caught_up(result.generation):
                self.index.remove_rowids(result.replaced)
                self.index.add(np.array(result.inserted, np.int64), plates, vins)
            report.generation = result.generation
        report.added += len(latest) - len(result.replaced)
        report.replaced += len(result.replaced) + (len(records) - len(latest))
        report.vins += sum(1 for r in latest if r.vin)
        report.vin_check_digit_valid += sum(1 for r in latest if r.flags & FLAG_VIN_CHECK_DIGIT)
        self._changes_since_snapshot += len(records)
        if progress is not None:
            progress(len(records))

    def delete(self, references: Iterable[str]) -> DeleteReport:
        """Delete records by reference (tombstoned in the store, gone from searches)."""
        with self._lock:
            self.refresh()
            wanted = list(dict.fromkeys(references))
            result = self.store.write(CATEGORY, deletes=wanted)
            if self._caught_up(result.generation):
                self.index.remove_rowids(result.deleted)
            self._changes_since_snapshot += len(result.deleted)
            self._maybe_snapshot()
            missing = set(result.not_found)
            return DeleteReport([r for r in wanted if r not in missing], result.not_found,
                                result.generation)

    def _caught_up(self, written: int) -> bool:
        """After our write committed as generation ``written``: True when it directly
        follows the index's generation (apply it incrementally), else another process
        committed in between and everything since is replayed from the store."""
        before, self.generation = self.generation, written
        if written == before + 1:
            return True
        self._changes_since_snapshot += self._replay(self.index, before)
        return False

    def _maybe_snapshot(self) -> None:
        if self._changes_since_snapshot >= SNAPSHOT_AFTER_CHANGES:
            self.snapshot()

    def snapshot(self) -> None:
        """Write the index snapshot now, tagged with the current generation."""
        with self._lock:
            self.index.save(self._snapshot_path, self.generation)
            self._changes_since_snapshot = 0

    def close(self) -> None:
        if self._changes_since_snapshot:
            self.snapshot()

    # ------------------------------------------------------------------ reading
    def search(self, queries: Iterable[dict]) -> list[dict]:
        """Answers in query order: ``{"query", "hits": [{"reference", "matched_on",
        "tolerant"}]}`` (exact hits first, then tolerant ones; each by reference) or
        ``{"query", "error"}``."""
        return self.search_raw(RawRecord(i, data=q) for i, q in enumerate(queries, start=1))

    def search_raw(self, raws: Iterable[RawRecord]) -> list[dict]:
        """``search`` for queries read from a file; error answers carry their ``line``."""
        answers, valid = read_queries(raws)
        if valid:
            keys = encode_keys([q.key for _, q in valid])
            with self._lock:
                self.refresh()
                found = self.index.lookup(keys, np.array([q.tolerant for _, q in valid]))
                names = self.store.references(found.rowid.tolist())
            fill_hits(answers, valid, found, names)
        return answers

    def stats(self) -> dict:
        """Counts, plates per country and index memory, for ``matcher vehicle stats``."""
        with self._lock:
            self.refresh()
            counts = self.store.counts(CATEGORY)
            plates, vins = self.index.key_counts()
            return {
                "records": counts.get(KIND, 0), "plates": plates, "vins": vins,
                "vin_check_digit_valid": self.store.count_flags(CATEGORY, FLAG_VIN_CHECK_DIGIT),
                "tombstones": counts["tombstones"], "generation": self.generation,
                "plates_by_country": self.index.plate_countries(),
                "index_bytes": self.index.memory_bytes(),
                "index_bytes_per_record": round(self.index.bytes_per_record(), 1),
            }
