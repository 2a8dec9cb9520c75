"""``home.dna``: add, search, delete and describe one home's DNA profiles.

Keeps the SQLite store (the truth) and the in-memory index in step: every write commits to
the store first, then updates the index; opening loads the newest snapshot and replays only
what the store committed after it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from matcher.config import DnaSettings
from matcher.dna.explain import explain
from matcher.dna.formats import RawRecord
from matcher.dna.index import KIND_CODES, Comparisons, DnaIndex, presence_order
from matcher.dna.kernels import QUALITY_NAMES
from matcher.dna.kinship import KinshipSearch, candidate_fields, strongest_non_hits
from matcher.dna.profile import Normaliser, Profile, ProfileRejected
from matcher.dna.statistics import MatchStatistics, hit_figures
from matcher.store import DeleteReport, Store, StoredRecord

CATEGORY = "dna"
SNAPSHOT_FILE = "dna-index.npz"
FLAG_MIXTURE = 1
#: Records committed per store transaction during a bulk add: large enough that the fsync
#: per commit costs little, small enough that a crash loses at most this much unacknowledged.
ADD_BATCH = 5_000
#: Write a fresh snapshot once this many records changed since the last one, so opening a
#: home never replays more than about this many records.
SNAPSHOT_AFTER_CHANGES = 20_000


@dataclass(slots=True)
class AddReport:
    """Outcome of an add: counts, and one entry per rejected record."""

    added: int = 0
    replaced: int = 0
    rejected: list[dict] = field(default_factory=list)
    generation: int = 0


class DnaDatabase:
    """One home's DNA category."""

    def __init__(self, store: Store, settings: DnaSettings, home_path: Path):
        self.store = store
        self.settings = settings
        self.normaliser = Normaliser(settings)
        self.table = self.normaliser.table
        self._column = {name: i for i, name in enumerate(self.table.compared)}
        self.statistics = MatchStatistics.from_settings(settings, self.table)
        self.kinship = KinshipSearch(self.statistics, self.table.compared,
                                     settings.familial_mutation_rate)
        self._snapshot_path = home_path / SNAPSHOT_FILE
        self.index, self.generation = self._open_index()
        self._changes_since_snapshot = 0

    # ------------------------------------------------------------------ opening
    def _open_index(self) -> tuple[DnaIndex, int]:
        loaded = DnaIndex.load(self._snapshot_path, self.table)
        if loaded is None or loaded[1] > self.store.generation():
            index, generation = DnaIndex(self.table), 0
        else:
            index, generation = loaded
        replayed = self._replay(index, generation)
        if replayed > SNAPSHOT_AFTER_CHANGES:
            index.save(self._snapshot_path, self.store.generation())
        return index, self.store.generation()

    def _replay(self, index: DnaIndex, generation: int) -> int:
        """Bring ``index`` from ``generation`` to the store's current state."""
        index.remove_rowids(self.store.removed_rowids(CATEGORY, after_generation=generation))
        count = 0
        batch: list[StoredRecord] = []
        for record in self.store.records(CATEGORY, after_generation=generation):
            batch.append(record)
            if len(batch) >= ADD_BATCH * 4:
                count += self._index_stored(index, batch)
                batch = []
        count += self._index_stored(index, batch)
        return count

    def _index_stored(self, index: DnaIndex, records: list[StoredRecord]) -> int:
        if not records:
            return 0
        codes = np.zeros((len(records), len(self._column), 2), np.int16)
        for i, record in enumerate(records):
            profile = self.normaliser.normalise(
                {"reference": record.reference, "kind": record.kind, "loci": json.loads(record.body)},
                stored=True,
            )
            self._fill_codes(codes[i], profile)
        index.add(np.array([r.rowid for r in records], np.int64),
                  np.array([KIND_CODES[r.kind] for r in records], np.uint8), codes)
        return len(records)

    def _fill_codes(self, target: np.ndarray, profile: Profile) -> None:
        column = self._column
        for name, pair in profile.loci.items():
            target[column[name]] = pair

    def _catch_up(self, written: int) -> bool:
        """After our write committed as generation ``written``: if another process committed
        in between, replay everything after our last known generation (ours included) and
        return True; otherwise return False and let the caller apply its own write."""
        if written == self.generation + 1:
            return False
        self._changes_since_snapshot += self._replay(self.index, self.generation)
        return True

    def refresh(self) -> None:
        """Catch up with writes another process committed to the store."""
        current = self.store.generation()
        if current != self.generation:
            self._changes_since_snapshot += self._replay(self.index, self.generation)
            self.generation = current

    # ------------------------------------------------------------------ writing
    def add(self, records: Iterable[dict], *, progress: Callable[[int], None] | None = None) -> AddReport:
        """Validate and store records (dicts in the JSON Lines shape); a record whose
        reference exists replaces it.  Rejected records are reported, the rest stored."""
        return self.add_raw((RawRecord(i, data=r) for i, r in enumerate(records, start=1)),
                            progress=progress)

    def add_raw(self, raws: Iterable[RawRecord], *, progress: Callable[[int], None] | None = None,
                batch_size: int = ADD_BATCH) -> AddReport:
        """``add`` for records read from a file, keeping their line numbers in rejections."""
        self.refresh()
        report = AddReport(generation=self.generation)
        batch: list[Profile] = []
        for raw in raws:
            if raw.error is not None:
                report.rejected.append({"line": raw.line, "reference": raw.reference,
                                        "reasons": [raw.error]})
                continue
            try:
                batch.append(self.normaliser.normalise(raw.data))
            except ProfileRejected as exc:
                report.rejected.append({"line": raw.line, "reference": exc.reference,
                                        "reasons": exc.reasons})
                continue
            if len(batch) >= batch_size:
                self._commit(batch, report, progress)
                batch = []
        self._commit(batch, report, progress)
        self._maybe_snapshot()
        return report

    def _commit(self, profiles: list[Profile], report: AddReport, progress) -> None:
        if not profiles:
            return
        latest = list({p.reference: p for p in profiles}.values())  # last version wins
        codes = np.zeros((len(latest), len(self._column), 2), np.int16)
        for i, profile in enumerate(latest):
            self._fill_codes(codes[i], profile)
        order = presence_order(codes)
        latest = [latest[i] for i in order]
        upserts = [
            (p.reference, p.kind, self.normaliser.stored_body(p), FLAG_MIXTURE if p.mixture else 0)
            for p in latest
        ]
        result = self.store.write(CATEGORY, upserts)
        if not self._catch_up(result.generation):
            self.index.remove_rowids(result.replaced)
            self.index.add(np.array(result.inserted, np.int64),
                           np.array([KIND_CODES[p.kind] for p in latest], np.uint8), codes[order])
        self.generation = report.generation = result.generation
        report.added += len(latest) - len(result.replaced)
        report.replaced += len(result.replaced) + (len(profiles) - len(latest))
        self._changes_since_snapshot += len(profiles)
        if progress is not None:
            progress(len(profiles))

    def delete(self, references: Iterable[str]) -> DeleteReport:
        """Delete records by reference (tombstoned in the store, gone from searches)."""
        self.refresh()
        wanted = list(dict.fromkeys(references))
        result = self.store.write(CATEGORY, deletes=wanted)
        removed = set(result.not_found)
        if not self._catch_up(result.generation):
            self.index.remove_rowids(result.deleted)
        self.generation = result.generation
        self._changes_since_snapshot += len(result.deleted)
        self._maybe_snapshot()
        return DeleteReport([r for r in wanted if r not in removed], result.not_found,
                            result.generation)

    def _maybe_snapshot(self) -> None:
        if self._changes_since_snapshot >= SNAPSHOT_AFTER_CHANGES:
            self.snapshot()

    def snapshot(self) -> None:
        """Write the index snapshot now, tagged with the current generation."""
        self.index.save(self._snapshot_path, self.generation)
        self._changes_since_snapshot = 0

    def close(self) -> None:
        if self._changes_since_snapshot:
            self.snapshot()

    # ------------------------------------------------------------------ reading
    def search(self, queries: Iterable[dict], *, familial: bool = False) -> list[dict]:
        """Answers in query order: ``{"query", "hits": [...]}`` or ``{"query", "error"}``.

        Every hit carries its match statistics (``matcher.dna.statistics``).  With
        ``familial`` a searched query's answer also lists ``"familial"`` candidates: stored
        profiles that are no hit but whose sibling or parent-child index reaches the
        ``familial_threshold`` setting (``matcher.dna.kinship``)."""
        return self.search_raw((RawRecord(i, data=q) for i, q in enumerate(queries, start=1)),
                               familial=familial)

    def search_raw(self, raws: Iterable[RawRecord], *, familial: bool = False,
                   finder: Callable[[np.ndarray], Comparisons] | None = None) -> list[dict]:
        """``search`` for records read from a file.  ``finder`` (codes -> Comparisons) replaces
        the index scan, e.g. by ``matcher.dna.bulk``'s key index; it must find the same hits."""
        self.refresh()
        answers: list[dict] = []
        valid: list[tuple[int, Profile]] = []
        for raw in raws:
            if raw.error is not None:
                answers.append({"query": raw.reference, "error": raw.error, "line": raw.line})
                continue
            try:
                profile = self.normaliser.normalise(raw.data, query=True)
            except ProfileRejected as exc:
                answers.append({"query": exc.reference, "error": "; ".join(exc.reasons),
                                "line": raw.line})
                continue
            valid.append((len(answers), profile))
            answers.append({"query": profile.reference, "hits": []})
            if familial:
                answers[-1]["familial"] = []
        if valid:
            self._search_profiles(valid, answers, familial, finder)
        return answers

    def _search_profiles(self, valid: list[tuple[int, Profile]], answers: list[dict],
                         familial: bool = False, finder=None) -> None:
        codes = np.zeros((len(valid), len(self._column), 2), np.int16)
        for i, (_, profile) in enumerate(valid):
            self._fill_codes(codes[i], profile)
        if finder is None:
            found = self.index.search(codes, self.settings.min_matching_loci,
                                      self.settings.max_mismatches)
        else:
            found = finder(codes)
        if familial:
            self._familial(valid, codes, found, answers)
        if len(found.row) == 0:
            return
        rowids = self.index.rowids[found.row]
        names = self.store.references(rowids.tolist())
        rmp, rmp_loci = self.statistics.random_match_probability(
            codes[found.query], self.index.row_codes(found.row))
        searched = self.index.live  # every kind is compared; see matcher.dna.statistics
        per_query: dict[int, list] = {}
        for q, rowid, mm, matching, compared, quality, probability, loci in zip(
                found.query.tolist(), rowids.tolist(), found.mismatches.tolist(),
                found.matching_loci.tolist(), found.compared_loci.tolist(), found.quality.tolist(),
                rmp.tolist(), rmp_loci.tolist()):
            reference, kind = names[rowid]
            if reference == valid[q][1].reference:
                continue  # spec 5: a query is never compared with itself
            per_query.setdefault(q, []).append(
                (quality, -matching, reference, kind, mm, compared, probability, loci))
        for q, hits in per_query.items():
            hits.sort()
            answers[valid[q][0]]["hits"] = [
                {"reference": ref, "kind": kind, "quality": QUALITY_NAMES[quality],
                 "matching_loci": -neg, "compared_loci": compared, "mismatches": mm,
                 **hit_figures(probability, loci, searched)}
                for quality, neg, ref, kind, mm, compared, probability, loci in hits
            ]

    def _familial(self, valid: list[tuple[int, Profile]], codes: np.ndarray, found,
                  answers: list[dict]) -> None:
        """Fill each answer's ``"familial"`` list: kinship candidates that are not hits."""
        cap = self.settings.familial_max_candidates
        results = self.kinship.scan(self.index, codes, self.settings.familial_threshold)
        # one more than the cap: at most one candidate is the query itself, dropped below
        per_query = strongest_non_hits(results, found.query, found.row, cap + 1)
        rowids = self.index.rowids[results.row]
        names = self.store.references([int(rowids[i]) for kept in per_query.values() for i in kept])
        for q, kept in per_query.items():
            listed = answers[valid[q][0]]["familial"]
            for i in kept:
                reference, kind = names[int(rowids[i])]
                if reference != valid[q][1].reference and len(listed) < cap:
                    listed.append({"reference": reference, "kind": kind, **candidate_fields(results, i)})

    def explain(self, query: dict, reference: str) -> dict:
        """The locus-by-locus evidence for comparing ``query`` with the stored record
        ``reference``: classes of the used pairings, which loci count, the totals and the
        decision (see ``matcher.dna.explain``), and for a hit its match statistics.
        Raises ProfileRejected for a bad query and KeyError when the reference is not stored."""
        self.refresh()
        record = self.store.get(CATEGORY, reference)
        if record is None:
            raise KeyError(reference)
        stored = self.normaliser.normalise(
            {"reference": record.reference, "kind": record.kind, "loci": json.loads(record.body)},
            stored=True)
        profile = self.normaliser.normalise(query, query=True)
        result = explain(profile, stored, self.settings.min_matching_loci, self.settings.max_mismatches)
        if result["hit"]:  # the hit's statistics, as its search answer gives them
            codes = np.zeros((2, len(self._column), 2), np.int16)
            self._fill_codes(codes[0], profile)
            self._fill_codes(codes[1], stored)
            rmp, loci = self.statistics.random_match_probability(codes[:1], codes[1:])
            result.update(hit_figures(float(rmp[0]), int(loci[0]), self.index.live))
        return result

    def stats(self) -> dict:
        """Counts, locus coverage and index memory, for ``matcher dna stats``."""
        self.refresh()
        counts = self.store.counts(CATEGORY)
        index = self.index
        live = index.kinds[: index.n_rows] != 255
        present = (index.alleles[:, 1, : index.n_rows] != 0) & live
        coverage = {name: int(n) for name, n in zip(index.columns, present.sum(axis=1)) if n}
        profiles = counts.get("person", 0) + counts.get("stain", 0)
        return {
            "profiles": profiles, "persons": counts.get("person", 0),
            "stains": counts.get("stain", 0),
            "mixtures": self.store.count_flags(CATEGORY, FLAG_MIXTURE),
            "tombstones": counts["tombstones"], "generation": self.generation,
            "loci": coverage, "index_bytes": index.memory_bytes(),
            "index_bytes_per_profile": index.bytes_per_profile(),
            "settings": {"min_designated_loci": self.settings.min_designated_loci,
                         "min_matching_loci": self.settings.min_matching_loci,
                         "max_mismatches": self.settings.max_mismatches,
                         "min_ess7_loci_person": self.settings.min_ess7_loci_person},
        }
