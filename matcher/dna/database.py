"""``home.dna``: add, search, delete and describe one home's DNA profiles.

Keeps the SQLite store (the truth) and the in-memory index in step: every write commits to
the store first, then updates the index; opening loads the newest snapshot and replays only
what the store committed after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from matcher.config import DnaSettings
from matcher.dna._answers import attach_hits, open_answers, pair_figures
from matcher.dna._familial_search import attach_familial
from matcher.dna._intake import profile_batches
from matcher.dna._profile_codes import profile_codes, stored_profile
from matcher.dna._replay import kind_codes, replay
from matcher.dna._summary import summary
from matcher.dna.explain import explain
from matcher.dna.formats import RawRecord
from matcher.dna.index import Comparisons, DnaIndex, presence_order
from matcher.dna.kinship import KinshipSearch
from matcher.dna.profile import Normaliser, Profile
from matcher.dna.statistics import MatchStatistics
from matcher.store import DeleteReport, Store

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
        replayed = replay(self.store, CATEGORY, index, generation, self.normaliser, self._column)
        if replayed > SNAPSHOT_AFTER_CHANGES:
            index.save(self._snapshot_path, self.store.generation())
        return index, self.store.generation()

    def _replay_since_known(self) -> None:
        """Replay everything the store committed after our last known generation."""
        self._changes_since_snapshot += replay(self.store, CATEGORY, self.index, self.generation,
                                               self.normaliser, self._column)

    def _catch_up(self, written: int) -> bool:
        """After our write committed as generation ``written``: if another process committed
        in between, replay everything after our last known generation (ours included) and
        return True; otherwise return False and let the caller apply its own write."""
        if written == self.generation + 1:
            return False
        self._replay_since_known()
        return True

    def refresh(self) -> None:
        """Catch up with writes another process committed to the store."""
        current = self.store.generation()
        if current != self.generation:
            self._replay_since_known()
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
        for batch in profile_batches(raws, self.normaliser, batch_size, report.rejected):
            self._commit(batch, report, progress)
        self._maybe_snapshot()
        return report

    def _commit(self, profiles: list[Profile], report: AddReport, progress) -> None:
        if not profiles:
            return
        latest = list({p.reference: p for p in profiles}.values())  # last version wins
        codes = profile_codes(latest, self._column)
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
                           kind_codes(p.kind for p in latest), codes[order])
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
        answers, searched = open_answers(raws, self.normaliser, familial)
        if not searched:
            return answers
        codes = profile_codes([profile for _, profile in searched], self._column)
        if finder is None:
            found = self.index.search(codes, self.settings.min_matching_loci,
                                      self.settings.max_mismatches)
        else:
            found = finder(codes)
        if familial:
            attach_familial(answers, searched, codes, found, self.kinship, self.index,
                            self.store, self.settings)
        attach_hits(answers, searched, codes, found, self.index, self.store, self.statistics)
        return answers

    def explain(self, query: dict, reference: str) -> dict:
        """The locus-by-locus evidence for comparing ``query`` with the stored record
        ``reference``: classes of the used pairings, which loci count, the totals and the
        decision (see ``matcher.dna.explain``), and for a hit its match statistics.
        Raises ProfileRejected for a bad query and KeyError when the reference is not stored."""
        self.refresh()
        record = self.store.get(CATEGORY, reference)
        if record is None:
            raise KeyError(reference)
        stored = stored_profile(self.normaliser, record)
        profile = self.normaliser.normalise(query, query=True)
        result = explain(profile, stored, self.settings.min_matching_loci, self.settings.max_mismatches)
        if result["hit"]:  # the hit's statistics, as its search answer gives them
            codes = profile_codes([profile, stored], self._column)
            result.update(pair_figures(self.statistics, codes[0], codes[1], self.index.live))
        return result

    def stats(self) -> dict:
        """Counts, locus coverage and index memory, for ``matcher dna stats``."""
        self.refresh()
        return summary(self.store, CATEGORY, FLAG_MIXTURE, self.index, self.settings,
                       self.generation)
