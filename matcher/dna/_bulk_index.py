"""``BulkIndex``: every hit of many queries against one ``DnaIndex`` without comparing every
pair, with exactly the hits of ``DnaIndex.search``.

Three disjoint-by-construction sources of candidate pairs, each decided by the rule kernel:

1. key probing (``_bulk_keys``): pairs that share a locus-group key;
2. the brute-force scan of the pairs keys cannot guarantee: the stored rows are copied,
   ordered by the set of groups they are keyable on (a *segment* per set, BLOCK-aligned),
   and a query scans only the segments whose set, together with its own, is not
   guaranteed; blocks that cannot reach ``min_matching_loci`` shared fully designated loci
   are skipped;
3. escaped rows (alleles beyond the id dictionary), verified against every query as
   ``DnaIndex.search`` does.

A pair found twice (keys shared by luck on a non-guaranteed pair) is reported once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.dna import _bulk_kernel, kernels
from matcher.dna._bulk_keys import EXPANSION_CAP, KeyFamily, StoredKeys, common_ids
from matcher.dna._query_plan import plan_queries
from matcher.dna.index import Comparisons
from matcher.dna.kernels import BLOCK, DEAD, TILE

#: Group sets held by fewer rows than this are scanned together in one segment.
SMALL_SEGMENT_ROWS = 4 * BLOCK
#: Hits one kernel call starts with room for (it is re-run with more when they overflow).
_INITIAL_HITS = 1 << 14


@dataclass
class BulkCounters:
    """Work done so far: candidate pairs compared from keys, rows filtered by the brute-force
    scan, pairs verified against escaped rows."""

    queries: int = 0
    key_candidates: int = 0
    scanned_pairs: int = 0
    escaped_pairs: int = 0


class BulkIndex:
    """Key tables and the reordered brute-force copy of one ``DnaIndex`` as it is now
    (rebuild it after the index changes: ``matches(index)`` tells)."""

    def __init__(self, index, max_mismatches: int, groups=None):
        self.index = index
        self.max_mismatches = max_mismatches
        self.family = (KeyFamily.for_columns(index.columns) if groups is None
                       else KeyFamily.for_columns(index.columns, groups))
        self.guaranteed = self.family.guaranteed_table(max_mismatches)
        self.counters = BulkCounters()
        n = index.n_rows
        self._shape = (n, index.live, int(index.n_ids.sum()), len(index.escaped))
        eligible = index.start_counts[:n] == 0  # live and not escaped
        self.common = common_ids(index)
        self.keys = StoredKeys.build(index, self.family, eligible, self.common)
        self._build_segments(eligible)

    def matches(self, index) -> bool:
        """Whether this was built from ``index`` in its current state (same rows, ids)."""
        return index is self.index and self._shape == (
            index.n_rows, index.live, int(index.n_ids.sum()), len(index.escaped))

    # ------------------------------------------------------------------ building
    def _build_segments(self, eligible: np.ndarray) -> None:
        index = self.index
        n = index.n_rows
        full = _full_bits(index.alleles, n)
        rows = np.flatnonzero(eligible)
        masks = self.keys.row_masks[rows]
        # Group sets held by few rows share one segment under the intersection of their sets
        # (fewer groups never guarantees more pairs), so BLOCK padding stays small.
        present, counts = np.unique(masks, return_counts=True)
        small = present[counts < SMALL_SEGMENT_ROWS]
        merged = np.isin(masks, small)
        merged_mask = np.bitwise_and.reduce(small) if len(small) else 0
        segment_key = np.where(merged, -1, masks)
        order = np.lexsort((full[rows], segment_key))  # by group set, then by loci held
        rows, segment_key = rows[order], segment_key[order]
        seg_masks, firsts, sizes = np.unique(segment_key, return_index=True, return_counts=True)
        seg_masks = np.where(seg_masks == -1, merged_mask, seg_masks)
        padded = -(-sizes // BLOCK) * BLOCK
        seg_start = np.concatenate([[0], np.cumsum(padded)])[:-1].astype(np.int64)
        total = int(padded.sum())
        position = np.repeat(seg_start - firsts, sizes) + np.arange(len(rows))
        self.alleles = np.zeros((len(index.columns), 2, max(total, BLOCK)), np.uint8)
        self.alleles[:, :, position] = index.alleles[:, :, rows]
        self.start_counts = np.full(max(total, BLOCK), DEAD, np.uint8)
        self.start_counts[position] = 0
        self.row_of = np.zeros(max(total, BLOCK), np.int64)
        self.row_of[position] = rows
        row_full = np.zeros(max(total, BLOCK), np.uint64)
        row_full[position] = full[rows]
        held = np.zeros(max(total, BLOCK), np.uint64)
        held[position] = _held_bits(index.alleles, n)[rows]
        self.block_full = np.bitwise_or.reduce(row_full.reshape(-1, BLOCK), axis=1)
        self.block_loci = np.bitwise_or.reduce(held.reshape(-1, BLOCK), axis=1)
        if len(index.columns) > 64:  # bits cannot describe the blocks: never skip one
            self.block_full[:] = np.uint64(2**64 - 1)
            self.block_loci[:] = np.uint64(2**64 - 1)
        self.seg_masks = seg_masks.astype(np.int64)
        self.seg_start = seg_start
        self.seg_stop = seg_start + padded.astype(np.int64)
        self.seg_rows = sizes.astype(np.int64)

    # ------------------------------------------------------------------ searching
    def search(self, query_codes: np.ndarray, min_matching_loci: int,
               max_mismatches: int) -> Comparisons:
        """Every (query, row) hit of ``query_codes`` (queries, columns, 2), as
        ``DnaIndex.search`` finds them (same pairs, same figures; order differs)."""
        if max_mismatches != self.max_mismatches:
            raise ValueError(f"this bulk index was built for max_mismatches="
                             f"{self.max_mismatches}, not {max_mismatches}")
        index = self.index
        queries = np.ascontiguousarray(query_codes, np.int16)
        n_queries = queries.shape[0]
        self.counters.queries += n_queries
        if n_queries == 0 or index.n_rows == 0:
            return _empty()
        q1, r1, res1, query_masks = self._probe(queries, min_matching_loci, max_mismatches)
        q2, r2, res2 = self._scan(queries, query_masks, min_matching_loci, max_mismatches)
        q3, r3, res3 = self._escaped(queries, min_matching_loci, max_mismatches)
        pair_q = np.concatenate([q1, q2, q3])
        rows = np.concatenate([r1, r2, r3])
        results = np.concatenate([res1, res2, res3])
        if len(q2) or len(q3):
            _, first = np.unique(pair_q * (index.n_rows + 1) + rows, return_index=True)
            pair_q, rows, results = pair_q[first], rows[first], results[first]
        return Comparisons(pair_q, rows, results[:, 0], results[:, 1], results[:, 2],
                           results[:, 3])

    def _probe(self, queries, min_matching_loci, max_mismatches):
        index, keys = self.index, self.keys
        size = _INITIAL_HITS
        stats = np.zeros(1, np.int64)
        while True:
            seen = np.full(index.n_rows, -1, np.int64)
            out_q, out_rows, out_results = _buffers(size)
            masks = np.zeros(len(queries), np.int64)
            stats[0] = 0
            found = _bulk_kernel.probe_verify(
                index.alleles, index.codes, index.lut, self.common, queries, self.family.cols,
                self.family.sizes, EXPANSION_CAP, keys.hashes, keys.rows, keys.directory,
                keys.dir_start, keys.dir_bits, min_matching_loci, max_mismatches, seen,
                out_q, out_rows, out_results, masks, stats)
            if found <= size:
                self.counters.key_candidates += int(stats[0])
                return out_q[:found], out_rows[:found], out_results[:found], masks
            size = 1 << int(found).bit_length()

    def _scan(self, queries, query_masks, min_matching_loci, max_mismatches):
        need = self.guaranteed[query_masks[None, :] & self.seg_masks[:, None]] == 0  # (S, Q)
        if not need.any():
            return _empty_parts()
        query_full = _query_full_bits(queries)
        counts = np.array([_popcount_array(query_full & np.uint64(f)) for f in
                           np.bitwise_or.reduceat(self.block_full,
                                                  self.seg_start // BLOCK)]) \
            if len(self.seg_start) else np.zeros((0, len(queries)))
        need &= counts >= min_matching_loci
        seg_of, query_of = np.nonzero(need)
        starts = np.searchsorted(seg_of, np.arange(len(self.seg_start) + 1)).astype(np.int64)
        plan = plan_queries(self.index, queries)
        cols, n_visit, lo_a, cnt_a, lo_b, cnt_b = plan
        size = _INITIAL_HITS
        stats = np.zeros(1, np.int64)
        scratch = np.empty(BLOCK, np.uint8)
        while True:
            out_q, out_rows, out_results = _buffers(size)
            stats[0] = 0
            found = _bulk_kernel.residual_scan(
                self.alleles, self.start_counts, self.block_loci, self.block_full,
                self.index.codes, self.seg_start, self.seg_stop, starts,
                query_of.astype(np.int64), cols, n_visit, lo_a, cnt_a, lo_b, cnt_b, queries,
                query_full, min_matching_loci, max_mismatches, TILE, self.row_of, out_q,
                out_rows, out_results, scratch, stats)
            if found <= size:
                self.counters.scanned_pairs += int(stats[0])
                return out_q[:found], out_rows[:found], out_results[:found]
            size = 1 << int(found).bit_length()

    def _escaped(self, queries, min_matching_loci, max_mismatches):
        index = self.index
        if not index.escaped:
            return _empty_parts()
        extra = np.array(sorted(index.escaped), np.int64)
        live = extra[index.kinds[extra] != index.REMOVED]
        esc_q = np.repeat(np.arange(len(queries)), len(live))
        esc_rows = np.tile(live, len(queries))
        out = np.empty((len(esc_q), 4), np.int64)
        kernels.verify(queries, esc_q, index.row_codes(esc_rows), min_matching_loci,
                       max_mismatches, out)
        self.counters.escaped_pairs += len(esc_q)
        hit = out[:, 3] >= 0
        return esc_q[hit], esc_rows[hit], out[hit]

    def describe(self) -> dict:
        """Sizes for reports: key entries per group, brute-force segments and their rows."""
        return {
            "groups": [list(g) for g in self.family.names],
            "key_entries": int(len(self.keys.hashes)),
            "segments": int(len(self.seg_start)),
            "segment_rows": {format(int(m), "b"): int(n)
                             for m, n in zip(self.seg_masks, self.seg_rows)},
        }


def _full_bits(alleles, n):
    """Per row, bit ``col`` set where the row is fully designated (a wildcard sorts first)."""
    bits = np.zeros(n, np.uint64)
    for col in range(min(alleles.shape[0], 64)):
        bits |= (alleles[col, 0, :n] != 0).astype(np.uint64) << np.uint64(col)
    return bits


def _held_bits(alleles, n):
    bits = np.zeros(n, np.uint64)
    for col in range(min(alleles.shape[0], 64)):
        bits |= (alleles[col, 1, :n] != 0).astype(np.uint64) << np.uint64(col)
    return bits


def _query_full_bits(queries):
    bits = np.zeros(len(queries), np.uint64)
    for col in range(min(queries.shape[1], 64)):
        bits |= (queries[:, col, 0] != 0).astype(np.uint64) << np.uint64(col)
    if queries.shape[1] > 64:
        bits[:] = np.uint64(2**64 - 1)
    return bits


def _popcount_array(x: np.ndarray) -> np.ndarray:
    return np.unpackbits(x.view(np.uint8).reshape(len(x), 8), axis=1).sum(axis=1)


def _buffers(size):
    return np.empty(size, np.int64), np.empty(size, np.int64), np.empty((size + 1, 4), np.int64)


def _empty_parts():
    return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4), np.int64)


def _empty() -> Comparisons:
    z = np.zeros(0, np.int64)
    return Comparisons(z, z, z, z, z, z)
