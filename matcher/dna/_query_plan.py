"""Query planning for the DNA scan: which loci to visit, in which order, with which id ranges.

For each query allele the stored alleles it does not MISMATCH (equal code, or one base pair
away) have consecutive ids, so a range ``[lo, lo + count)`` describes them; a wildcard
allele is ``lo = 0, count = 255``.  Loci are visited so that a random stored profile is
most likely to disagree early: ascending share of stored alleles inside the query's ranges
(wildcards and absent loci included), estimated from the index's allele histogram.
"""

from __future__ import annotations

import numpy as np

#: Largest allele code: repeat unit (at most 9, see config) x 98 + 8.
MAX_CODE = 9 * 98 + 8


def plan_queries(index, query_codes: np.ndarray):
    """Per query: loci to visit, rarest first, with each allele's compatible id range."""
    n_cols = len(index.columns)
    codes = query_codes.astype(np.int64)
    cols = np.arange(n_cols)[None, :, None]
    ranges = []
    for shift in (-1, 0, 1):
        shifted = np.clip(codes + shift, 0, MAX_CODE + 1)
        ids = index.lut[cols, shifted].astype(np.int64)
        ranges.append(np.where((codes > 0) & (ids > 0), ids, -1))
    ranges = np.stack(ranges)                            # (3, Q, cols, 2)
    count = (ranges > 0).sum(axis=0)
    lo = np.where(count > 0, np.where(ranges > 0, ranges, 10**6).min(axis=0), 1)
    wild = codes == 0
    lo = np.where(wild, 0, lo)
    count = np.where(wild, 255, count)
    # Visit first the loci a random stored profile is least likely to agree with: the
    # share of stored alleles inside each query allele's range, wildcards included.
    cum = np.concatenate([np.zeros((n_cols, 1)), np.cumsum(index.hist, axis=1)], axis=1)
    total = np.maximum(cum[:, -1:], 1)[None, :, :]
    hi = np.minimum(lo + count, 256)
    mass = (cum[cols, hi] - cum[cols, lo] + np.where(wild, 0, index.hist[cols, 0])) / total
    present = (codes != 0).any(axis=2)
    score = np.where(present, mass.sum(axis=2), np.inf)
    order = np.argsort(score, axis=1, kind="stable")
    n_visit = present.sum(axis=1).astype(np.int64)
    take = lambda a: np.ascontiguousarray(np.take_along_axis(a, order, axis=1).astype(np.uint8))
    return (np.ascontiguousarray(order, np.int64), n_visit, take(lo[:, :, 0]),
            take(count[:, :, 0]), take(lo[:, :, 1]), take(count[:, :, 1]))
