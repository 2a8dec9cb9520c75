"""The brute-force side of bulk DNA comparison: a reordered copy of the index in which each
query scans only the blocks whose pairs keys cannot guarantee.

Rows are ordered by the set of default groups they are keyable on (a *segment* per set,
BLOCK-aligned), then by the loci they hold and their short-group set, so that blocks are
homogeneous.  Per (query, segment) the default family's guarantee table drops whole
segments; per (query, block) the kernel drops blocks that cannot reach
``min_matching_loci`` shared fully designated loci and, for low-coverage queries, blocks
whose pairs both families guarantee (the groups *every* row of the block is keyable on:
fewer groups never guarantee more).  Per-block masks work for low-coverage queries because
the other rows' group sets follow their kit; low-coverage rows hold near-random locus
subsets, so their blocks share few groups and their pairs with other queries stay here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.dna._bulk_scan import residual_scan
from matcher.dna._query_plan import plan_queries
from matcher.dna.kernels import BLOCK, DEAD, TILE

#: Group sets held by fewer rows than this are scanned together in one segment.
SMALL_SEGMENT_ROWS = 4 * BLOCK
#: Hits one kernel call starts with room for (it is re-run with more when they overflow).
INITIAL_HITS = 1 << 14
_ALL = np.uint64(2**64 - 1)


@dataclass
class RowKeys:
    """Per profile: default groups keyable on (``keys``), short groups keyable on
    (``short``), whether it is low-coverage (``low``: its default groups do not guarantee
    its pairs even with a complete profile; a low-coverage query is also probed with the
    short groups)."""

    keys: np.ndarray
    short: np.ndarray
    low: np.ndarray


class Segments:
    """The reordered copy (``alleles``, ``start_counts``, ``row_of``) and per-block masks."""

    def __init__(self, index, eligible: np.ndarray, rows_keys: RowKeys):
        n = index.n_rows
        full = full_bits(index.alleles[:, 0], n)
        rows = np.flatnonzero(eligible)
        masks = rows_keys.keys[rows]
        # Group sets held by few rows share one segment under the intersection of their sets
        # (fewer groups never guarantees more pairs), so BLOCK padding stays small.
        present, counts = np.unique(masks, return_counts=True)
        small = present[counts < SMALL_SEGMENT_ROWS]
        merged = np.isin(masks, small)
        merged_mask = np.bitwise_and.reduce(small) if len(small) else 0
        segment_key = np.where(merged, -1, masks)
        # Within a segment: by exact default-group set, by the loci held (the
        # min_matching_loci and absent-locus skips, which the original order was tuned for), then
        # by short-group set (a block's guarantee is that of the groups all its rows share).
        order = np.lexsort((rows_keys.short[rows], full[rows], masks, segment_key))
        rows, segment_key = rows[order], segment_key[order]
        seg_masks, firsts, sizes = np.unique(segment_key, return_index=True, return_counts=True)
        seg_masks = np.where(seg_masks == -1, merged_mask, seg_masks)
        padded = -(-sizes // BLOCK) * BLOCK
        seg_start = np.concatenate([[0], np.cumsum(padded)])[:-1].astype(np.int64)
        total = max(int(padded.sum()), BLOCK)
        position = np.repeat(seg_start - firsts, sizes) + np.arange(len(rows))
        self.alleles = np.zeros((len(index.columns), 2, total), np.uint8)
        self.alleles[:, :, position] = index.alleles[:, :, rows]
        self.start_counts = np.full(total, DEAD, np.uint8)
        self.start_counts[position] = 0
        self.row_of = np.zeros(total, np.int64)
        self.row_of[position] = rows

        def per_block(values, fill, reduce):
            spread = np.full(total, fill, values.dtype)
            spread[position] = values[rows]
            return np.ascontiguousarray(reduce.reduce(spread.reshape(-1, BLOCK), axis=1))
        self.block_full = per_block(full, np.uint64(0), np.bitwise_or)
        self.block_loci = per_block(full_bits(index.alleles[:, 1], n), np.uint64(0),
                                    np.bitwise_or)
        if len(index.columns) > 64:  # bits cannot describe the blocks: never skip one
            self.block_full[:] = _ALL
            self.block_loci[:] = _ALL
        # padding rows are DEAD: they take the neutral element of the AND
        self.block_keys = per_block(rows_keys.keys, np.int64(-1), np.bitwise_and)
        self.block_short = per_block(rows_keys.short, np.int64(-1), np.bitwise_and)
        self.seg_masks = seg_masks.astype(np.int64)
        self.seg_start = seg_start
        self.seg_stop = seg_start + padded.astype(np.int64)
        self.seg_rows = sizes.astype(np.int64)

    def scan(self, index, queries, query_keys: RowKeys, guaranteed, family, without,
             short_shift, min_matching_loci, max_mismatches, stats):
        """(query, index row, results) of every hit among the pairs keys cannot guarantee;
        adds the rows filtered to ``stats[0]``."""
        need = guaranteed[query_keys.keys[None, :] & self.seg_masks[:, None]] == 0  # (S, Q)
        if not need.any():
            return empty_parts()
        query_full = full_bits(np.moveaxis(queries[:, :, 0], 0, 1), len(queries))
        if queries.shape[1] > 64:
            query_full[:] = _ALL
        seg_full = np.bitwise_or.reduceat(self.block_full, self.seg_start // BLOCK)
        counts = np.array([popcount(query_full & f) for f in seg_full])
        need &= counts >= min_matching_loci
        seg_of, query_of = np.nonzero(need)
        starts = np.searchsorted(seg_of, np.arange(len(self.seg_start) + 1)).astype(np.int64)
        cols, n_visit, lo_a, cnt_a, lo_b, cnt_b = plan_queries(index, queries)
        size = INITIAL_HITS
        scratch = np.empty(BLOCK, np.uint8)
        while True:
            out_q, out_rows, out_results = buffers(size)
            scanned = np.zeros(1, np.int64)
            found = residual_scan(
                self.alleles, self.start_counts, self.block_loci, self.block_full, index.codes,
                self.seg_start, self.seg_stop, starts, query_of.astype(np.int64), cols, n_visit,
                lo_a, cnt_a, lo_b, cnt_b, queries, query_full, min_matching_loci,
                max_mismatches, TILE, self.row_of, out_q, out_rows, out_results, scratch,
                scanned, self.block_keys, self.block_short, query_keys.keys,
                query_keys.short, query_keys.low.astype(np.uint8), family.locus_bits, without,
                short_shift)
            if found <= size:
                stats[0] += scanned[0]
                return out_q[:found], out_rows[:found], out_results[:found]
            size = 1 << int(found).bit_length()


def full_bits(side, n):
    """Per row, bit ``col`` set where ``side[col, row]`` (one allele side, (columns, rows))
    is not 0: side 0 gives the fully designated loci (a wildcard sorts first), side 1 the
    loci held at all."""
    bits = np.zeros(n, np.uint64)
    for col in range(min(side.shape[0], 64)):
        bits |= (side[col, :n] != 0).astype(np.uint64) << np.uint64(col)
    return bits


def popcount(x: np.ndarray) -> np.ndarray:
    return np.unpackbits(x.view(np.uint8).reshape(len(x), 8), axis=1).sum(axis=1)


def buffers(size):
    return np.empty(size, np.int64), np.empty(size, np.int64), np.empty((size + 1, 4), np.int64)


def empty_parts():
    return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4), np.int64)
