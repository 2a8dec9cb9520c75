"""The in-memory DNA search index: encoded allele columns plus what the kernels need.

Layout (see ``kernels``): ``alleles[column, side, row]`` uint8 ids, one column pair per
compared locus, rows in store row-id order.  Ids are assigned per locus in allele-code order
(id 0 = wildcard/absent, at most ``MAX_IDS`` real alleles per locus); when a new allele falls
between known ones the locus column is renumbered once, in a vectorised pass.  A profile
holding an allele beyond a full dictionary is *escaped*: it keeps its codes beside the
arrays, never enters the filter, and is verified against every query (exact, and rare).

Memory per stored profile: 2 bytes per compared locus (28 by default) + 8 (row id)
+ 1 (start count) + 1 (kind) = 66 bytes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matcher.dna import kernels
from matcher.dna._query_plan import MAX_CODE, plan_queries
from matcher.dna._snapshot import load_snapshot, save_snapshot
from matcher.dna.kernels import BLOCK, DEAD, TILE
from matcher.dna.loci import LocusTable

#: Real allele ids per locus: 1..254 (255 would collide with the query-wildcard range end).
MAX_IDS = 254
KIND_CODES = {"person": 0, "stain": 1}
KIND_NAMES = ("person", "stain")
REMOVED = 255
#: Hits one search call can return before it is retried with larger buffers.
_INITIAL_HITS = 4096
#: Per-block locus bits fit one uint64: with more compared loci every block reads them all.
_MAX_MASKED_COLUMNS = 64
_ALL_LOCI = np.uint64(2**64 - 1)


def presence_order(codes: np.ndarray) -> np.ndarray:
    """Order in which to store a batch of profiles (codes (rows, columns, 2)): grouped by
    which loci they hold (and so by kit), so that index blocks are alike and the filter can
    skip the loci a block does not hold."""
    held = codes[:, :, 1] != 0
    weights = np.left_shift(np.uint64(1), np.arange(held.shape[1], dtype=np.uint64) % 64)
    signature = (held.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
    return np.argsort(signature, kind="stable")


@dataclass(slots=True)
class Comparisons:
    """Hits of a search: ``query[i]`` hit index row ``row[i]`` with ``mismatches``,
    ``matching_loci``, ``compared_loci`` and ``quality`` (kernels.QUALITY_*)."""

    query: np.ndarray
    row: np.ndarray
    mismatches: np.ndarray
    matching_loci: np.ndarray
    compared_loci: np.ndarray
    quality: np.ndarray


class DnaIndex:
    """Encoded profiles of one home, searchable under the spec's rules."""

    REMOVED = REMOVED  # kind code of a removed row

    def __init__(self, table: LocusTable, capacity: int = BLOCK):
        self.columns = table.compared
        self.units = np.array([table.repeat_unit(n) for n in self.columns], np.int64)
        n_cols = len(self.columns)
        self.n_rows = 0
        self.live = 0
        capacity = _round_up(max(capacity, BLOCK))
        self.alleles = np.zeros((n_cols, 2, capacity), np.uint8)
        self.start_counts = np.full(capacity, DEAD, np.uint8)
        self.rowids = np.zeros(capacity, np.int64)
        self.kinds = np.full(capacity, REMOVED, np.uint8)
        self.block_loci = np.zeros(capacity // BLOCK, np.uint64)  # locus bits per block
        self.codes = np.zeros((n_cols, 256), np.int16)       # id -> allele code
        self.n_ids = np.ones(n_cols, np.int64)                # ids in use, counting id 0
        self.lut = np.full((n_cols, MAX_CODE + 2), -1, np.int16)  # allele code -> id
        self.lut[:, 0] = 0
        self.hist = np.zeros((n_cols, 256), np.int64)        # stored alleles per id, live rows
        self.escaped: dict[int, np.ndarray] = {}             # row -> (columns, 2) codes
        self._local = threading.local()

    # ------------------------------------------------------------------ writing
    def add(self, rowids: np.ndarray, kinds: np.ndarray, codes: np.ndarray) -> None:
        """Append profiles: ``codes[i, column]`` is the sorted code pair (0 = wildcard).
        Row ids must be larger than every row id already held."""
        m = len(rowids)
        if m == 0:
            return
        if self.n_rows and rowids[0] <= self.rowids[self.n_rows - 1]:
            raise ValueError("row ids must grow")
        self._admit(codes)
        ids = self._lookup(codes)
        escaped = (ids < 0).any(axis=(1, 2))
        ids[escaped] = 0
        self._reserve(self.n_rows + m)
        rows = slice(self.n_rows, self.n_rows + m)
        self.alleles[:, :, rows] = ids.transpose(1, 2, 0)
        self.start_counts[rows] = np.where(escaped, DEAD, 0)
        self.rowids[rows] = rowids
        self.kinds[rows] = kinds
        for i in np.flatnonzero(escaped):
            self.escaped[self.n_rows + int(i)] = codes[i].copy()
        kept = ids[~escaped]
        for col in range(len(self.columns)):
            self.hist[col] += np.bincount(kept[:, col, :].ravel(), minlength=256)
        self.n_rows += m
        self.live += m
        self._mark_blocks(rows.start, self.n_rows)

    def _mark_blocks(self, first_row: int, stop_row: int) -> None:
        """Recompute the locus bits of the blocks holding rows first_row..stop_row."""
        first_block = first_row // BLOCK
        start, stop = first_block * BLOCK, _round_up(stop_row)
        if len(self.columns) > _MAX_MASKED_COLUMNS:
            self.block_loci[first_block: stop // BLOCK] = _ALL_LOCI
            return
        held = self.alleles[:, 1, start:stop] != 0
        bits = np.zeros(stop - start, np.uint64)
        for col in range(len(self.columns)):
            bits |= held[col].astype(np.uint64) << np.uint64(col)
        self.block_loci[first_block: stop // BLOCK] = np.bitwise_or.reduce(
            bits.reshape(-1, BLOCK), axis=1)

    def remove_rowids(self, rowids) -> int:
        """Drop the rows holding these store row ids (absent ones are ignored)."""
        ids = np.asarray(sorted(rowids), np.int64)
        if len(ids) == 0 or self.n_rows == 0:
            return 0
        held = self.rowids[: self.n_rows]
        pos = np.searchsorted(held, ids)
        inside = pos < self.n_rows
        pos, ids = pos[inside], ids[inside]
        rows = pos[held[pos] == ids]
        rows = rows[self.kinds[rows] != REMOVED]
        for row in rows:
            row = int(row)
            if self.escaped.pop(row, None) is None:
                for col in range(len(self.columns)):
                    self.hist[col, self.alleles[col, :, row]] -= 1
        self.start_counts[rows] = DEAD
        self.kinds[rows] = REMOVED
        self.live -= len(rows)
        return len(rows)

    def _lookup(self, codes: np.ndarray) -> np.ndarray:
        cols = np.arange(len(self.columns))[None, :, None]
        return self.lut[cols, codes.astype(np.int64)].astype(np.int16)

    def _admit(self, codes: np.ndarray) -> None:
        """Give ids to new allele codes, renumbering a locus when a code lands in between."""
        for col in range(len(self.columns)):
            present, counts = np.unique(codes[:, col, :], return_counts=True)
            fresh = self.lut[col, present] < 0
            if not fresh.any():
                continue
            new_codes, new_counts = present[fresh], counts[fresh]
            room = MAX_IDS - (int(self.n_ids[col]) - 1)
            if len(new_codes) > room:  # keep the most common; the rest escape
                keep = np.argsort(-new_counts, kind="stable")[:room]
                new_codes = new_codes[keep]
            if len(new_codes) == 0:
                continue
            old = self.codes[col, 1:self.n_ids[col]].astype(np.int64)
            merged = np.sort(np.concatenate([old, new_codes.astype(np.int64)]))
            remap = np.zeros(256, np.uint8)
            remap[1:len(old) + 1] = np.searchsorted(merged, old) + 1
            if len(old) and not np.array_equal(remap[1:len(old) + 1], np.arange(1, len(old) + 1)):
                view = self.alleles[col, :, : self.n_rows]
                self.alleles[col, :, : self.n_rows] = remap[view]
                hist = np.zeros(256, np.int64)
                hist[remap[: len(old) + 1]] = self.hist[col, : len(old) + 1]
                self.hist[col] = hist
            self.codes[col, 1:len(merged) + 1] = merged
            self.n_ids[col] = len(merged) + 1
            self.lut[col, merged] = np.arange(1, len(merged) + 1)

    def _reserve(self, rows: int) -> None:
        capacity = self.alleles.shape[2]
        if rows <= capacity:
            return
        new = _round_up(max(rows, capacity + capacity // 2))
        grown = np.zeros((len(self.columns), 2, new), np.uint8)
        grown[:, :, :capacity] = self.alleles
        self.alleles = grown
        self.start_counts = _grow(self.start_counts, new, DEAD)
        self.rowids = _grow(self.rowids, new, 0)
        self.kinds = _grow(self.kinds, new, REMOVED)
        self.block_loci = _grow(self.block_loci, new // BLOCK, 0)

    # ------------------------------------------------------------------ reading
    def row_codes(self, rows: np.ndarray) -> np.ndarray:
        """Allele codes (rows, columns, 2) of index rows, escaped rows included."""
        cols = np.arange(len(self.columns))[:, None, None]
        out = self.codes[cols, self.alleles[:, :, rows]].transpose(2, 0, 1).copy()
        for i, row in enumerate(rows):
            held = self.escaped.get(int(row))
            if held is not None:
                out[i] = held
        return np.ascontiguousarray(out, dtype=np.int16)

    def search(self, query_codes: np.ndarray, min_matching_loci: int,
               max_mismatches: int) -> Comparisons:
        """Every (query, row) hit of ``query_codes`` (queries, columns, 2) under spec 5."""
        query_codes = np.ascontiguousarray(query_codes, np.int16)
        n_queries = query_codes.shape[0]
        plan = plan_queries(self, query_codes)
        pair_q, rows, results = self._scan(plan, query_codes, min_matching_loci, max_mismatches)
        if self.escaped:
            extra = np.array(sorted(self.escaped), np.int64)
            esc_q = np.repeat(np.arange(n_queries), len(extra))
            esc_rows = np.tile(extra, n_queries)
            out = np.empty((len(esc_q), 4), np.int64)
            kernels.verify(query_codes, esc_q, self.row_codes(esc_rows), min_matching_loci,
                           max_mismatches, out)
            hit = out[:, 3] >= 0
            pair_q = np.concatenate([pair_q, esc_q[hit]])
            rows = np.concatenate([rows, esc_rows[hit]])
            results = np.concatenate([results, out[hit]])
        return Comparisons(pair_q, rows, results[:, 0], results[:, 1], results[:, 2],
                           results[:, 3])

    def _scan(self, plan, query_codes, min_matching_loci: int, max_mismatches: int):
        cols, n_visit, lo_a, cnt_a, lo_b, cnt_b = plan
        scratch = self._scratch()
        n_rows = _round_up(self.n_rows) if self.n_rows else 0
        while True:
            out_q, out_rows, out_results = scratch.hits
            if cols.shape[0] == 1:
                found = kernels.search_one(
                    self.alleles, self.start_counts, self.block_loci, self.codes, n_rows,
                    cols[0, : n_visit[0]].copy(), lo_a[0], cnt_a[0], lo_b[0], cnt_b[0],
                    query_codes[0], min_matching_loci, max_mismatches, out_rows, out_results,
                    scratch.counts)
                out_q[: min(found, len(out_q))] = 0
            else:
                found = kernels.search_many(
                    self.alleles, self.start_counts, self.block_loci, self.codes, n_rows, cols,
                    n_visit, lo_a, cnt_a, lo_b, cnt_b, query_codes, min_matching_loci,
                    max_mismatches, TILE, out_q, out_rows, out_results, scratch.counts)
            if found <= len(out_rows):
                return out_q[:found].copy(), out_rows[:found].copy(), out_results[:found].copy()
            scratch.hits = _hit_buffers(1 << int(found).bit_length())

    def _scratch(self):
        local = self._local
        if not hasattr(local, "counts"):
            local.counts = np.empty(BLOCK, np.uint8)
            local.hits = _hit_buffers(_INITIAL_HITS)
        return local

    # ------------------------------------------------------------------ upkeep
    def compact(self) -> None:
        """Drop removed rows (rows keep their row-id order)."""
        keep = np.flatnonzero(self.kinds[: self.n_rows] != REMOVED)
        if len(keep) == self.n_rows:
            return
        position = {int(old): new for new, old in enumerate(keep) if int(old) in self.escaped}
        self.escaped = {position[row]: codes for row, codes in self.escaped.items()}
        m = len(keep)
        self.alleles[:, :, :m] = self.alleles[:, :, keep]
        self.alleles[:, :, m:self.n_rows] = 0
        for name, fill in (("start_counts", DEAD), ("rowids", 0), ("kinds", REMOVED)):
            array = getattr(self, name)
            array[:m] = array[keep]
            array[m:self.n_rows] = fill
        self.n_rows = m
        self.block_loci[:] = 0
        if m:
            self._mark_blocks(0, m)

    def memory_bytes(self) -> int:
        """Bytes the index holds: per-row arrays at their capacity plus fixed tables."""
        return sum(a.nbytes for a in (self.alleles, self.start_counts, self.rowids, self.kinds,
                                      self.codes, self.lut, self.hist))

    def bytes_per_profile(self) -> int:
        """Bytes each stored profile adds to the index (capacity slack and fixed tables aside)."""
        return 2 * len(self.columns) + self.start_counts.itemsize + self.rowids.itemsize \
            + self.kinds.itemsize

    def save(self, path: Path, generation: int) -> None:
        """Write a snapshot tagged with ``generation`` (see ``_snapshot``)."""
        self.compact()
        save_snapshot(self, path, generation)

    @classmethod
    def load(cls, path: Path, table: LocusTable) -> tuple["DnaIndex", int] | None:
        """The snapshot at ``path`` and its generation, or None when it is missing, unreadable
        or was made under another locus table (the caller then rebuilds from the store)."""
        return load_snapshot(cls, path, table)


def _hit_buffers(size: int):
    """(query, row, results) output buffers for ``size`` hits; results has a scratch row."""
    return np.empty(size, np.int64), np.empty(size, np.int64), np.empty((size + 1, 4), np.int64)


def _round_up(rows: int) -> int:
    return -(-rows // BLOCK) * BLOCK


def _grow(array: np.ndarray, size: int, fill) -> np.ndarray:
    grown = np.full(size, fill, array.dtype)
    grown[: len(array)] = array
    return grown
