"""``home.finger``: enrol, search and delete fingerprint records of one home.

Search answers a candidate list for the requesting examiner (Prüm: the machine never
declares an identification on its own): each probe finger is scored with MCC (LSS-R)
against the enrolled fingers at the same position (every position when either side's
position is unknown, as for a latent), per-finger scores of one record are fused by the sum
rule, and the best ``max_candidates`` records are returned.  A candidate is flagged ``hit``
when one of its fingers scored at or above ``mcc.DECISION_THRESHOLD`` (at most 0.1 % of
impostor comparisons reach it; against a gallery of N fingers expect about N x 0.001 false
hits per probe finger, which is why the list is ranked and an examiner verifies it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from matcher.config import FingerSettings
from matcher.finger import mcc
from matcher.finger.gallery import FingerGallery
from matcher.finger.records import FingerRecordRejected, normalise_record
from matcher.finger.templates import finger_to_json
from matcher.records import RawRecord, valid_batches
from matcher.store import DeleteReport, Store

CATEGORY = "finger"
ADD_BATCH = 2_000
#: Write a fresh gallery snapshot once this many fingers changed since the last one, so
#: opening a home replays at most about this many (describing a finger costs ~0.1 ms).
SNAPSHOT_AFTER_FINGERS = 50_000
#: ``close`` rewrites the snapshot only when at least this many fingers changed since it (or
#: there is none): a snapshot holds every finger's cylinders (~6 KB each, gigabytes at a
#: million), while replaying this many on the next open costs about a second.
SNAPSHOT_ON_CLOSE_FINGERS = 1_000


@dataclass(slots=True)
class AddReport:
    added: int = 0
    replaced: int = 0
    fingers: int = 0
    rejected: list[dict] = field(default_factory=list)
    generation: int = 0


class FingerDatabase:
    """One home's fingerprint category, kept in step with the store.

    Opening loads the gallery snapshot beside the store (``_gallery_snapshot``; memory-mapped)
    and replays only the writes committed after it; every write goes to the store first,
    then to the gallery.  A new snapshot is written after ``SNAPSHOT_AFTER_FINGERS`` changed
    fingers, and on ``close`` when there is none yet or ``SNAPSHOT_ON_CLOSE_FINGERS``
    changed."""

    def __init__(self, store: Store, settings: FingerSettings, home: Path | None = None):
        self.store = store
        self.settings = settings
        self.home = home
        self.gallery = FingerGallery()
        current = store.generation()
        loaded = self.gallery.load(home) if home is not None else None
        if loaded is not None and loaded > current:   # a snapshot from another store
            self.gallery, loaded = FingerGallery(), None
        self._changed = self._replay(loaded or 0)
        self.generation = current

    def _replay(self, after: int) -> int:
        """Apply the store's writes after generation ``after``; the number of fingers
        touched."""
        removed = self.store.removed_rowids(CATEGORY, after_generation=after)
        self.gallery.remove_rowids(removed)
        touched = len(removed)
        for record in self.store.records(CATEGORY, after_generation=after):
            body = json.loads(record.body)
            parsed = normalise_record({"reference": record.reference, "kind": record.kind,
                                       "fingers": body["fingers"]})
            self.gallery.add(record.rowid, record.kind, parsed.fingers)
            touched += len(parsed.fingers)
        return touched

    def refresh(self) -> None:
        """Catch up with writes another process committed."""
        current = self.store.generation()
        if current != self.generation:
            self._changed += self._replay(self.generation)
            self.generation = current

    def snapshot(self) -> None:
        """Write the gallery snapshot now, tagged with the current generation."""
        if self.home is not None:
            self.gallery.snapshot(self.home, self.generation)
            self._changed = 0

    def _maybe_snapshot(self) -> None:
        if self._changed >= SNAPSHOT_AFTER_FINGERS:
            self.snapshot()

    def add(self, records: Iterable[dict]) -> AddReport:
        return self.add_raw(RawRecord(i, data=r) for i, r in enumerate(records, start=1))

    def add_raw(self, raws: Iterable[RawRecord], *, progress=None) -> AddReport:
        """Validate and store records; a record whose reference exists replaces it."""
        self.refresh()
        report = AddReport(generation=self.generation)
        for batch in valid_batches(raws, normalise_record, FingerRecordRejected, ADD_BATCH,
                                   report.rejected):
            self._commit(batch, report, progress)
        self._maybe_snapshot()
        return report

    def _commit(self, records, report: AddReport, progress) -> None:
        if not records:
            return
        latest = list({r.reference: r for r in records}.values())
        upserts = [(r.reference, r.kind, json.dumps(
            {"fingers": [finger_to_json(f) for f in r.fingers]}, separators=(",", ":")), 0)
            for r in latest]
        result = self.store.write(CATEGORY, upserts)
        if result.generation != self.generation + 1:   # another writer came in between
            self._changed += self._replay(self.generation)
        else:
            self.gallery.remove_rowids(result.replaced)
            for rowid, record in zip(result.inserted, latest):
                self.gallery.add(rowid, record.kind, record.fingers)
            self._changed += sum(len(r.fingers) for r in latest) + len(result.replaced)
        self.generation = report.generation = result.generation
        report.added += len(latest) - len(result.replaced)
        report.replaced += len(result.replaced) + len(records) - len(latest)
        report.fingers += sum(len(r.fingers) for r in latest)
        if progress is not None:
            progress(len(records))

    def delete(self, references: Iterable[str]) -> DeleteReport:
        self.refresh()
        wanted = list(dict.fromkeys(references))
        result = self.store.write(CATEGORY, deletes=wanted)
        if result.generation != self.generation + 1:
            self._changed += self._replay(self.generation)
        else:
            self.gallery.remove_rowids(result.deleted)
            self._changed += len(result.deleted)
        self.generation = result.generation
        self._maybe_snapshot()
        missing = set(result.not_found)
        return DeleteReport([r for r in wanted if r not in missing], result.not_found,
                            result.generation)

    def search(self, queries: Iterable[dict]) -> list[dict]:
        return self.search_raw(RawRecord(i, data=q) for i, q in enumerate(queries, start=1))

    def search_raw(self, raws: Iterable[RawRecord]) -> list[dict]:
        """One answer per query, in order: ``{"query", "hit", "candidates": [...]}`` or
        ``{"query", "error"}``."""
        self.refresh()
        answers = []
        for raw in raws:
            if raw.error is not None:
                answers.append({"query": raw.reference, "error": raw.error, "line": raw.line})
                continue
            try:
                query = normalise_record(raw.data, query=True)
            except FingerRecordRejected as exc:
                answers.append({"query": exc.reference, "error": "; ".join(exc.reasons),
                                "line": raw.line})
                continue
            answers.append(self._search_one(query))
        return answers

    def _search_one(self, query) -> dict:
        fraction = (self.settings.latent_shortlist_fraction if query.kind == "latent"
                    else self.settings.shortlist_fraction)
        best: dict[int, list] = {}   # rowid -> [fused score, best single score, its position]
        for finger in query.fingers:
            entries, scores = self.gallery.candidates(
                finger, exhaustive_below=self.settings.exhaustive_below, fraction=fraction)
            keep = scores > 0
            entries, scores = entries[keep], scores[keep]
            if not len(entries):
                continue
            per_record: dict[int, tuple[float, int]] = {}   # best finger of each record
            for rowid, position, score in zip(self.gallery.rowid(entries).tolist(),
                                              self.gallery.position(entries).tolist(),
                                              scores.tolist()):
                if score > per_record.get(rowid, (0.0, 0))[0]:
                    per_record[rowid] = (score, position)
            for rowid, (score, position) in per_record.items():
                slot = best.setdefault(rowid, [0.0, 0.0, position])
                slot[0] += score
                if score > slot[1]:
                    slot[1], slot[2] = score, position
        # Only the records that can make the list are named (one store read per answer).
        limit = self.settings.max_candidates
        ranked = sorted(((v[0], -rowid, rowid) for rowid, v in best.items()), reverse=True)
        names = self.store.references(r for _, _, r in ranked[: limit + 1])
        candidates = []
        for fused, _, rowid in ranked[: limit + 1]:
            if rowid not in names or names[rowid][0] == query.reference:
                continue
            reference, kind = names[rowid]
            single, position = best[rowid][1], best[rowid][2]
            candidates.append({"reference": reference, "kind": kind, "position": position,
                               "score": round(fused, 4), "hit": single >= mcc.DECISION_THRESHOLD})
        candidates = candidates[:limit]
        return {"query": query.reference, "hit": any(c["hit"] for c in candidates),
                "candidates": candidates}

    def stats(self) -> dict:
        self.refresh()
        counts = self.store.counts(CATEGORY)
        return {"records": counts.get("person", 0) + counts.get("latent", 0),
                "persons": counts.get("person", 0), "latents": counts.get("latent", 0),
                "fingers": len(self.gallery), "tombstones": counts["tombstones"],
                "generation": self.generation}

    def close(self) -> None:
        unsnapshotted = len(self.gallery.frozen) == 0 and len(self.gallery.growing) > 0
        if self._changed >= SNAPSHOT_ON_CLOSE_FINGERS or (self._changed and unsnapshotted):
            self.snapshot()
