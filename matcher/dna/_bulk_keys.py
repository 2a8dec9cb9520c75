"""Locus-group keys for bulk DNA comparison: which groups, which profile pairs they guarantee,
and the stored side's key tables.

Pigeonhole.  A hit has at most ``max_mismatches`` MISMATCH alleles, so at most that many
loci carry a mismatch.  A *group* is a fixed set of loci; a profile is *keyable* on a group
when it is fully designated at every locus of it.  When stored profile s and query q are
both keyable on a group and no locus of the group carries a mismatch, every locus of the
group is fully designated on both sides and has a pairing without MISMATCH, i.e. each
stored allele is equal to or one code step from its query allele.  The stored side is keyed
by its exact genotype of the group; the query side by every genotype it would match that
way, built from the allele ids that occur at the locus (the index's dictionary), so the
pair shares a key.  Groups may overlap: a pair is *guaranteed* when no set of
``max_mismatches`` loci meets every group both are keyable on (then some group is free of
mismatches and they share a key).  ``guaranteed_table`` answers that for every subset of
groups.  Pairs that are not guaranteed go to the brute-force scan (``_bulk_segments``);
pairs involving a low-coverage profile are also probed with the short groups
(``_bulk_groups.SHORT_GROUPS``), a second family whose guarantee counts only for them.

A query allele has at most three compatible ids (code - 1, code, code + 1); a group whose
expansion would exceed ``EXPANSION_CAP`` keys is treated as not keyable for that query, which
only moves pairs to the brute-force scan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.dna._bulk_groups import DEFAULT_GROUPS, SHORT_GROUPS
from matcher.dna._bulk_guarantee import guaranteed_subsets, without_masks
from matcher.dna._bulk_hash import stored_hashes

#: Most query keys one group may expand into (product over its loci of compatible
#: genotypes); beyond it the group counts as not keyable for that query.
EXPANSION_CAP = 32
#: An allele id held by fewer than this share of a locus's stored alleles is *rare*: a stored
#: profile with a rare allele is not keyable on the groups holding that locus (its pairs go
#: to the brute-force scan), so a query expands only into common ids.  Off-ladder
#: microvariants (~1 in 5,000 alleles) are what this keeps out of every query's expansion.
RARE_ALLELE_SHARE = 0.002
#: Groups of one family are bits of an int64 mask (both families together, in the scan).
MAX_GROUPS = 63
#: A family whose guarantee is tabulated over all its subsets (``guaranteed_table``).
MAX_TABLE_GROUPS = 16

__all__ = ["DEFAULT_GROUPS", "SHORT_GROUPS", "KeyFamily", "StoredKeys", "common_ids"]


@dataclass(frozen=True)
class KeyFamily:
    """Groups as index column numbers: ``cols[g, :sizes[g]]``; ``locus_bits[g]`` has bit
    ``col`` set for each of its columns."""

    names: tuple[tuple[str, ...], ...]
    cols: np.ndarray
    sizes: np.ndarray
    locus_bits: np.ndarray

    @classmethod
    def for_columns(cls, columns, groups=DEFAULT_GROUPS) -> "KeyFamily":
        """The groups whose loci are all compared columns (others are dropped)."""
        where = {name: i for i, name in enumerate(columns)}
        kept = tuple(tuple(g) for g in groups if g and all(n in where for n in g))
        if len(kept) > MAX_GROUPS:
            raise ValueError(f"at most {MAX_GROUPS} key groups, got {len(kept)}")
        width = max((len(g) for g in kept), default=1)
        cols = np.full((len(kept), width), -1, np.int64)
        bits = np.zeros(len(kept), np.uint64)
        for g, group in enumerate(kept):
            cols[g, : len(group)] = [where[n] for n in group]
            for name in group:
                if where[name] >= 64:
                    raise ValueError("key groups must use the first 64 compared loci")
                bits[g] |= np.uint64(1) << np.uint64(where[name])
        sizes = np.array([len(g) for g in kept], np.int64)
        return cls(kept, cols, sizes, bits)

    def guaranteed_table(self, max_mismatches: int) -> np.ndarray:
        """uint8 per subset of groups: 1 when no ``max_mismatches`` loci meet all of them."""
        if len(self.names) > MAX_TABLE_GROUPS:
            raise ValueError(f"a guarantee table covers at most {MAX_TABLE_GROUPS} groups")
        table = np.zeros(1 << len(self.names), np.uint8)
        guaranteed_subsets(self.locus_bits, without_masks(self.locus_bits), max_mismatches,
                           table)
        return table

    def __add__(self, other: "KeyFamily") -> "KeyFamily":
        """Both families' groups, ``self``'s first (bit g + len(self.names) for other's g)."""
        if len(self.names) + len(other.names) > MAX_GROUPS:
            raise ValueError(f"at most {MAX_GROUPS} key groups in all")
        width = max(self.cols.shape[1], other.cols.shape[1])
        pad = lambda c: np.pad(c, ((0, 0), (0, width - c.shape[1])), constant_values=-1)
        return KeyFamily(self.names + other.names,
                         np.ascontiguousarray(np.vstack([pad(self.cols), pad(other.cols)])),
                         np.concatenate([self.sizes, other.sizes]),
                         np.concatenate([self.locus_bits, other.locus_bits]))


@dataclass
class StoredKeys:
    """Key tables of the stored rows: per group, the row entries sorted by key hash, with
    a directory of ``2**dir_bits[g]`` buckets (by the hash's top bits) into them."""

    hashes: np.ndarray       # uint64, all groups' entries, each group's sorted
    rows: np.ndarray         # int64 index row of each entry
    directory: np.ndarray    # int64 absolute entry offsets, 2**bits + 1 per group
    dir_start: np.ndarray    # int64 where each group's directory begins
    dir_bits: np.ndarray     # int64
    row_masks: np.ndarray    # int64 per index row: groups it is keyable on

    @classmethod
    def build(cls, index, family: KeyFamily, eligible: np.ndarray,
              common: np.ndarray) -> "StoredKeys":
        """Keys of the index rows with ``eligible`` set (live, not escaped), on the groups
        where they hold only ``common`` alleles (see ``common_ids``)."""
        n = index.n_rows
        n_groups = len(family.names)
        hashes = np.zeros((n_groups, n), np.uint64)
        keyable = np.zeros((n_groups, n), np.uint8)
        if n:
            stored_hashes(index.alleles, eligible.astype(np.uint8), n, family.cols,
                                       family.sizes, common, hashes, keyable)
        row_masks = np.zeros(n, np.int64)
        parts_hash, parts_row, directories, dir_start, dir_bits = [], [], [], [], []
        entries = dir_len = 0
        for g in range(n_groups):
            rows = np.flatnonzero(keyable[g])
            row_masks[rows] |= np.int64(1) << np.int64(g)
            group_hash = hashes[g, rows]
            order = np.argsort(group_hash, kind="stable")
            group_hash, rows = group_hash[order], rows[order]
            bits = max(1, int(len(rows)).bit_length())
            buckets = (group_hash >> np.uint64(64 - bits)).astype(np.int64)
            offsets = np.zeros((1 << bits) + 1, np.int64)
            np.cumsum(np.bincount(buckets, minlength=1 << bits), out=offsets[1:])
            parts_hash.append(group_hash)
            parts_row.append(rows.astype(np.int64))
            directories.append(offsets + entries)
            dir_start.append(dir_len)
            dir_bits.append(bits)
            entries += len(rows)
            dir_len += len(offsets)
        cat = lambda parts, dtype: (np.concatenate(parts).astype(dtype) if parts
                                    else np.zeros(0, dtype))
        return cls(cat(parts_hash, np.uint64), cat(parts_row, np.int64),
                   cat(directories, np.int64), np.array(dir_start, np.int64),
                   np.array(dir_bits, np.int64), row_masks)


def common_ids(index) -> np.ndarray:
    """uint8 (columns, 256): 1 for the allele ids held by at least ``RARE_ALLELE_SHARE`` of
    the live stored alleles at their locus (id 0, the wildcard, is never common)."""
    hist = index.hist.astype(np.float64)
    real = hist[:, 1:].sum(axis=1, keepdims=True)
    common = (hist >= RARE_ALLELE_SHARE * real) & (hist > 0)
    common[:, 0] = False
    return np.ascontiguousarray(common.astype(np.uint8))
