"""The numpy baseline for the DNA benchmark: the same spec-5 rules over the same encoded
arrays, vectorised over all stored profiles (whole-array operations per query locus, no
Python loop per record), as a careful numpy programmer would write it.  It cannot stop
early per block, which is the point of the comparison."""

from __future__ import annotations

import numpy as np

from matcher.dna.index import REMOVED, DnaIndex


def _classes(u: int, v: np.ndarray):
    """(mismatch, microvariant, wildcard) masks of query code u against stored codes v."""
    if u == 0:
        wild = np.ones(v.shape, bool)
    else:
        wild = v == 0
    diff = np.abs(v.astype(np.int32) - u)
    exact = ~wild & (diff == 0)
    micro = ~wild & (diff == 1)
    return ~wild & ~exact & ~micro, micro, wild


def numpy_search(index: DnaIndex, query: np.ndarray, min_matching: int, max_mismatches: int):
    """Rows hit by one query (codes (columns, 2)), with (mismatches, matching, compared, quality)."""
    n = index.n_rows
    mismatches = np.zeros(n, np.int16)
    matching = np.zeros(n, np.int16)
    compared = np.zeros(n, np.int16)
    any_micro = np.zeros(n, bool)
    any_wild = np.zeros(n, bool)
    for col in np.flatnonzero((query != 0).any(axis=1)):
        a, b = int(query[col, 0]), int(query[col, 1])
        c = index.codes[col][index.alleles[col, 0, :n]]
        d = index.codes[col][index.alleles[col, 1, :n]]
        present = d != 0
        mac, uac, wac = _classes(a, c)
        mbd, ubd, wbd = _classes(b, d)
        mad, uad, wad = _classes(a, d)
        mbc, ubc, wbc = _classes(b, c)
        t1 = (mac.astype(np.int16) + mbd) * 16 + (uac.astype(np.int16) + ubd) * 4 + wac + wbd
        t2 = (mad.astype(np.int16) + mbc) * 16 + (uad.astype(np.int16) + ubc) * 4 + wad + wbc
        t = np.where(present, np.minimum(t1, t2), 0)
        locus_mm = t // 16
        mismatches += locus_mm
        any_micro |= (t // 4) % 4 > 0
        any_wild |= t % 4 > 0
        compared += present
        full = present & (c != 0) & (a != 0) & (b != 0)
        matching += full & (locus_mm == 0)
    hit = (matching >= min_matching) & (mismatches <= max_mismatches) & (index.kinds[:n] != REMOVED)
    quality = np.where(mismatches > 0, 3, np.where(any_micro, 2, np.where(any_wild, 1, 0)))
    rows = np.flatnonzero(hit)
    return rows, mismatches[rows], matching[rows], compared[rows], quality[rows]
