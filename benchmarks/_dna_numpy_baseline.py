"""The numpy baseline for the DNA benchmark: the same spec-5 rules over the same encoded
arrays, written as a careful numpy programmer would: whole-array uint8 operations per query
locus (no Python loop per stored record), the same two steps as the kernels (count
mismatching alleles of every profile with id-range checks, then apply the full rules to the
profiles within ``max_mismatches``), preallocated buffers and in-place ufuncs.  What it
cannot do is stop early per block of profiles, which is the point of the comparison."""

from __future__ import annotations

import numpy as np

from matcher.dna._query_plan import plan_queries
from matcher.dna.index import REMOVED, DnaIndex


class NumpyBaseline:
    """Buffers sized for one index; ``search`` answers one query."""

    def __init__(self, index: DnaIndex):
        self.index = index
        n = index.n_rows
        self.counts = np.empty(n, np.uint8)
        self.scratch = [np.empty(n, np.uint8) for _ in range(4)]
        self.masks = [np.empty(n, bool) for _ in range(3)]

    def _mismatch(self, ids, lo, cnt, out):
        """out = 1 where stored allele ids are outside the query allele's range and not 0."""
        u, wild = self.scratch[3], self.masks[0]
        np.subtract(ids, np.uint8(lo), out=u)        # wraps below lo, like the kernel
        np.greater_equal(u, np.uint8(cnt), out=self.masks[1])
        np.not_equal(ids, 0, out=wild)
        np.logical_and(self.masks[1], wild, out=self.masks[2])
        out[:] = self.masks[2]

    def search(self, query: np.ndarray, min_matching: int, max_mismatches: int):
        """Rows hit by one query (codes (columns, 2)) with (mismatches, matching, compared,
        quality) per row."""
        index = self.index
        n = index.n_rows
        cols, n_visit, lo_a, cnt_a, lo_b, cnt_b = plan_queries(index, query[None])
        counts = self.counts
        counts[:] = np.where(index.kinds[:n] == REMOVED, 128, 0)
        m_ac, m_bd, m_ad = self.scratch[:3]
        for j in range(int(n_visit[0])):
            col = cols[0, j]
            c, d = index.alleles[col, 0, :n], index.alleles[col, 1, :n]
            self._mismatch(c, lo_a[0, j], cnt_a[0, j], m_ac)
            self._mismatch(d, lo_b[0, j], cnt_b[0, j], m_bd)
            np.add(m_ac, m_bd, out=m_bd)              # straight pairing
            self._mismatch(d, lo_a[0, j], cnt_a[0, j], m_ad)
            self._mismatch(c, lo_b[0, j], cnt_b[0, j], m_ac)
            np.add(m_ad, m_ac, out=m_ad)              # crossed pairing
            np.minimum(m_bd, m_ad, out=m_bd)
            np.add(counts, m_bd, out=counts)
        rows = np.flatnonzero(counts <= max_mismatches)
        return (rows, *_full_rules(index, rows, query, min_matching, max_mismatches))


def _classes(u: np.ndarray, v: np.ndarray):
    """(mismatch, microvariant, wildcard) masks of code arrays u against v (0 = wildcard)."""
    wild = (u == 0) | (v == 0)
    diff = np.abs(u.astype(np.int32) - v)
    exact = ~wild & (diff == 0)
    micro = ~wild & (diff == 1)
    return ~wild & ~exact & ~micro, micro, wild


def _full_rules(index: DnaIndex, rows, query, min_matching, max_mismatches):
    """Spec-5 counts and quality of the candidate rows, vectorised over rows and loci."""
    present_q = query[:, 1] != 0
    cols = np.flatnonzero(present_q)
    stored = index.codes[cols[:, None, None], index.alleles[cols][:, :, rows]]  # (k, 2, r)
    a, b = query[cols, 0][:, None], query[cols, 1][:, None]
    c, d = stored[:, 0], stored[:, 1]
    present = d != 0
    scores = []
    for x, y, u, v in ((a, b, c, d), (a, b, d, c)):
        m1, u1, w1 = _classes(np.broadcast_to(x, u.shape), u)
        m2, u2, w2 = _classes(np.broadcast_to(y, v.shape), v)
        scores.append((m1.astype(np.int16) + m2) * 16 + (u1.astype(np.int16) + u2) * 4 + w1 + w2)
    used = np.where(present, np.minimum(*scores), 0)
    locus_mm = used // 16
    mismatches = locus_mm.sum(axis=0)
    matching = (present & (a != 0) & (c != 0) & (locus_mm == 0)).sum(axis=0)
    compared = present.sum(axis=0)
    micro = ((used // 4) % 4 > 0).any(axis=0)
    wild = (used % 4 > 0).any(axis=0)
    quality = np.where(mismatches > 0, 3, np.where(micro, 2, np.where(wild, 1, 0)))
    hit = (matching >= min_matching) & (mismatches <= max_mismatches)
    return mismatches, matching, compared, np.where(hit, quality, -1)
