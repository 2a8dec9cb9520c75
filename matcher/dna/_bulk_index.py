"""``BulkIndex``: every hit of many queries against one ``DnaIndex`` without comparing every
pair, with exactly the hits of ``DnaIndex.search``.

Three sources of candidate pairs, each decided by the rule kernel:

1. key probing (``_bulk_keys``): pairs that share a locus-group key, of the default groups
   for every pair and of the short groups (``_bulk_groups.SHORT_GROUPS``) for the pairs
   of a low-coverage query (keyable on too few default groups to guarantee anything);
2. the brute-force scan of the pairs neither family guarantees (``_bulk_segments``);
3. escaped rows (alleles beyond the id dictionary), verified against every query as
   ``DnaIndex.search`` does.

A pair found twice (by both families, or keys shared by luck on a pair also scanned) is
reported once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.dna import kernels
from matcher.dna._bulk_groups import DEFAULT_GROUPS, SHORT_GROUPS
from matcher.dna._bulk_guarantee import without_masks
from matcher.dna._bulk_keys import EXPANSION_CAP, KeyFamily, StoredKeys, common_ids
from matcher.dna._bulk_probe import probe_verify
from matcher.dna._bulk_segments import INITIAL_HITS, RowKeys, Segments, buffers, empty_parts
from matcher.dna.index import Comparisons


@dataclass
class BulkCounters:
    """Work done so far: candidate pairs compared from keys (``short_candidates`` of them
    from the short groups), rows filtered by the brute-force scan, pairs verified against
    escaped rows."""

    queries: int = 0
    key_candidates: int = 0
    short_candidates: int = 0
    scanned_pairs: int = 0
    escaped_pairs: int = 0


class BulkIndex:
    """Key tables and the reordered brute-force copy of one ``DnaIndex`` as it is now
    (rebuild it after the index changes: ``matches(index)`` tells).  ``groups`` and
    ``short_groups`` replace the two families (``()`` turns the short one off)."""

    def __init__(self, index, max_mismatches: int, groups=DEFAULT_GROUPS,
                 short_groups=SHORT_GROUPS):
        self.index = index
        self.max_mismatches = max_mismatches
        self.family = KeyFamily.for_columns(index.columns, groups)
        self.short = KeyFamily.for_columns(index.columns, short_groups)
        self.both = self.family + self.short
        self.without = without_masks(self.both.locus_bits)
        self.guaranteed = self.family.guaranteed_table(max_mismatches)
        self.counters = BulkCounters()
        n = index.n_rows
        self._shape = (n, index.live, int(index.n_ids.sum()), len(index.escaped))
        eligible = index.start_counts[:n] == 0  # live and not escaped
        self.common = common_ids(index)
        self.keys = StoredKeys.build(index, self.family, eligible, self.common)
        low = eligible & (self.guaranteed[self.keys.row_masks] == 0)
        self.short_keys = StoredKeys.build(index, self.short, eligible, self.common)
        self.rows = RowKeys(self.keys.row_masks, self.short_keys.row_masks, low)
        self.segments = Segments(index, eligible, self.rows)

    def matches(self, index) -> bool:
        """Whether this was built from ``index`` in its current state (same rows, ids)."""
        return index is self.index and self._shape == (
            index.n_rows, index.live, int(index.n_ids.sum()), len(index.escaped))

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
            z = np.zeros(0, np.int64)
            return Comparisons(z, z, z, z, z, z)
        everyone = np.arange(n_queries)
        q1, r1, res1, query_masks = self._probe(queries, everyone, self.family, self.keys,
                                                min_matching_loci)
        low = self.guaranteed[query_masks] == 0
        short_masks = np.zeros(n_queries, np.int64)
        parts = [(q1, r1, res1)]
        before = self.counters.key_candidates
        subset = np.flatnonzero(low)
        if len(subset) and len(self.short.names):
            q, r, res, masks = self._probe(queries, subset, self.short, self.short_keys,
                                           min_matching_loci)
            parts.append((q, r, res))
            short_masks[subset] = masks
        self.counters.short_candidates += self.counters.key_candidates - before
        stats = np.zeros(1, np.int64)
        parts.append(self.segments.scan(
            index, queries, RowKeys(query_masks, short_masks, low), self.guaranteed, self.both,
            self.without, len(self.family.names), min_matching_loci, max_mismatches, stats))
        self.counters.scanned_pairs += int(stats[0])
        parts.append(self._escaped(queries, min_matching_loci, max_mismatches))
        pair_q = np.concatenate([p[0] for p in parts])
        rows = np.concatenate([p[1] for p in parts])
        results = np.concatenate([p[2] for p in parts])
        if len(pair_q) > len(q1):
            _, first = np.unique(pair_q * (index.n_rows + 1) + rows, return_index=True)
            pair_q, rows, results = pair_q[first], rows[first], results[first]
        return Comparisons(pair_q, rows, results[:, 0], results[:, 1], results[:, 2],
                           results[:, 3])

    def _probe(self, queries, subset, family, keys, min_matching_loci):
        """Hits of ``queries[subset]`` among the rows sharing a key of ``family`` in
        ``keys``, with query numbers in ``queries``; and the subset's keyable group masks."""
        index = self.index
        chosen = queries if len(subset) == len(queries) else np.ascontiguousarray(
            queries[subset])
        size = INITIAL_HITS
        stats = np.zeros(1, np.int64)
        while True:
            seen = np.full(index.n_rows, -1, np.int64)
            out_q, out_rows, out_results = buffers(size)
            masks = np.zeros(len(chosen), np.int64)
            stats[0] = 0
            found = probe_verify(
                index.alleles, index.codes, index.lut, self.common, chosen, family.cols,
                family.sizes, EXPANSION_CAP, keys.hashes, keys.rows, keys.directory,
                keys.dir_start, keys.dir_bits, min_matching_loci, self.max_mismatches, seen,
                out_q, out_rows, out_results, masks, stats)
            if found <= size:
                self.counters.key_candidates += int(stats[0])
                return subset[out_q[:found]], out_rows[:found], out_results[:found], masks
            size = 1 << int(found).bit_length()

    def _escaped(self, queries, min_matching_loci, max_mismatches):
        index = self.index
        if not index.escaped:
            return empty_parts()
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
        """Sizes for reports: groups, key entries, low-coverage rows, brute-force segments."""
        seg = self.segments
        return {
            "groups": [list(g) for g in self.family.names],
            "short_groups": [list(g) for g in self.short.names],
            "key_entries": int(len(self.keys.hashes)),
            "short_key_entries": int(len(self.short_keys.hashes)),
            "low_coverage_rows": int(self.rows.low.sum()),
            "segments": int(len(seg.seg_start)),
            "segment_rows": {format(int(m), "b"): int(n)
                             for m, n in zip(seg.seg_masks, seg.seg_rows)},
        }
