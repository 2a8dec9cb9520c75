"""Familial search: sibling and parent–child kinship indices of stored profiles that miss.

A stain whose donor is not stored may point to a close relative who is.  For every stored
profile that is no hit the search computes two likelihood ratios, P(both genotypes | full
siblings, or parent and child) / P(both genotypes | unrelated), and lists the profiles where
either reaches the setting ``familial_threshold`` (default 10,000).  The list is a lead for
further work (Y-STRs, family trees), never an identification; it names references and
shared-locus counts only, never an allele.

Formulas.  Per locus, with identity-by-descent probabilities (k0, k1, k2) = (1/4, 1/2, 1/4)
for full siblings and (0, 1, 0) for parent–child, the index is ``k0 + k1·X1 + k2·X2``
(Evett & Weir, *Interpreting DNA Evidence*, 1998; Brenner, "Symbolic kinship program",
Genetics 145:535, 1997; as used in familial searching by Myers et al., Forensic Sci. Int.
Genet. 5:493, 2011).  X2 = 1/P(G2 | G1) for identical genotypes (else 0) and X1 =
P(G2 | one allele of G1 passed on) / P(G2 | G1), each probability by the Balding–Nichols
sampling formula (Forensic Sci. Int. 64:125, 1994; the basis of NRC II 4.10) with the θ,
frequencies and 5/2N floor of the match statistics (``matcher.dna.statistics``): an allele
seen m times among n drawn comes next with probability [mθ + (1−θ)p] / [1 + (n−1)θ].  With
θ = 0 this is the textbook table: parent–child 1/p_a (aa–aa), 1/2p_a (aa–ab),
(p_a+p_b)/4p_ap_b (ab–ab), 1/4p_a (ab–ac); sibling (1+p_a)²/4p_a², (1+p_a)/4p_a,
(1+p_a+p_b+2p_ap_b)/8p_ap_b, (1+2p_a)/8p_a, and 1/4 when nothing is shared.

Exclusions.  Parent and child share an allele at every locus unless a mutation or (in a
stain) a dropped-out allele intervened, so a locus sharing nothing gets the parent–child
index μ/A instead of 0 (Brenner's approximation for an apparent exclusion: μ the
per-generation mutation rate, setting ``familial_mutation_rate``; A the locus's power of
exclusion without the other parent).  μ = 0 restores the strict rule (index 0).

Loci used: fully designated in both profiles and covered by the population table (a
wildcard locus is not compared: factor 1).  Answers report ``kinship_loci`` (loci used),
``sharing_loci`` (those sharing at least one allele) and ``identical_loci``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from matcher.dna import _familial_kernel as kernel
from matcher.dna.frequencies import load_population
from matcher.dna.kernels import BLOCK, TILE
from matcher.dna.statistics import MatchStatistics, significant

#: Results one scan call can hold before it is retried with larger buffers.
_INITIAL_RESULTS = 1024
#: Share classes (``_familial_kernel``) that mean "same genotype".
_IDENTICAL_HETEROZYGOTE, _IDENTICAL_HOMOZYGOTE = 3, 4


def _log10_table(table: np.ndarray) -> np.ndarray:
    """log10 of an index table, with the NOT_COMPARED column appended: 0, a factor 1."""
    with np.errstate(divide="ignore"):  # a strict exclusion is log10(0) = -inf
        logs = np.log10(table)
    return np.ascontiguousarray(np.concatenate([logs, np.zeros(table.shape[:-1] + (1,))], axis=-1))


@lru_cache(maxsize=16)
def exclusion_power(population: str, loci: tuple[str, ...]) -> np.ndarray:
    """Per locus, the chance that a random person shares no allele with a random child:
    Σ_i p_i²(1−p_i)² + Σ_{i<j} 2p_ip_j(1−p_i−p_j)² (1 where the table lacks the locus)."""
    table = load_population(population)
    power = np.ones(len(loci))
    for column, name in enumerate(loci):
        if name in table:
            p = table[name][1]
            pair = np.add.outer(p, p)
            het = 2 * np.outer(p, p) * (1 - pair) ** 2
            power[column] = (p ** 2 * (1 - p) ** 2).sum() + np.triu(het, 1).sum()
    power.setflags(write=False)
    return power


def locus_indices(p_a, p_b, homozygous, theta: float, exclusion: float | np.ndarray = 0.0):
    """(sibling, parent–child) index tables, shape ``p_a.shape + (6,)``, indexed by share class
    (``_familial_kernel``) for query genotypes with allele frequencies ``p_a``, ``p_b``
    (``p_b`` unused where ``homozygous``).  ``exclusion`` is the parent–child index of a locus
    sharing nothing (μ/A, or 0)."""
    p_a, p_b = np.asarray(p_a, np.float64), np.asarray(p_b, np.float64)
    homozygous = np.asarray(homozygous, bool)
    r, s, u = 1.0 + theta, 1.0 + 2.0 * theta, 1.0 - theta
    once_a, once_b = theta + u * p_a, theta + u * p_b          # allele seen once of two
    twice_a, twice_b = 2 * theta + u * p_a, 2 * theta + u * p_b
    thrice_a = 3 * theta + u * p_a
    x1 = np.zeros(p_a.shape + (6,))
    x2 = np.zeros(p_a.shape + (6,))
    # heterozygous query a,b
    x1[..., 1] = s / (4 * once_a)                                # stored a,x
    x1[..., 2] = s / (4 * once_b)                                # stored b,x
    x1[..., 3] = s * (2 * theta + u * (p_a + p_b)) / (4 * once_a * once_b)
    x2[..., 3] = r * s / (2 * once_a * once_b)                   # identical a,b
    x1[..., 4] = s / (2 * twice_a)                               # stored a,a
    x1[..., 5] = s / (2 * twice_b)                               # stored b,b
    # homozygous query a,a: stored a,x is class 1, identical a,a class 4
    hom_x1 = np.zeros_like(x1)
    hom_x2 = np.zeros_like(x2)
    hom_x1[..., 1] = s / (2 * twice_a)
    hom_x1[..., 4] = s / thrice_a
    hom_x2[..., 4] = r * s / (twice_a * thrice_a)
    x1 = np.where(homozygous[..., None], hom_x1, x1)
    x2 = np.where(homozygous[..., None], hom_x2, x2)
    sibling = 0.25 + 0.5 * x1 + 0.25 * x2
    parent = x1.copy()
    parent[..., 0] = exclusion
    return sibling, parent


@dataclass(slots=True)
class FamilialResults:
    """Scan results: ``query[i]`` against index row ``row[i]`` with log10 indices
    ``log_sibling``, ``log_parent`` and ``counts`` (kinship, sharing, identical loci)."""

    query: np.ndarray
    row: np.ndarray
    log_sibling: np.ndarray
    log_parent: np.ndarray
    counts: np.ndarray


class KinshipSearch:
    """Familial scans of one home's index under its statistics settings."""

    def __init__(self, statistics: MatchStatistics, columns: tuple[str, ...],
                 mutation_rate: float):
        self.statistics = statistics
        power = exclusion_power(statistics.population, tuple(columns))
        self.exclusion = mutation_rate / power

    def tables(self, query_codes: np.ndarray):
        """Per query: visited columns, their count, log10 index tables and identical class."""
        codes = np.asarray(query_codes, np.int64)
        stats = self.statistics
        columns = np.arange(codes.shape[1])[None, :]
        usable = (codes[:, :, 0] != 0) & stats.covered[None, :]
        homozygous = codes[:, :, 0] == codes[:, :, 1]
        sibling, parent = locus_indices(
            stats.frequencies[columns, codes[:, :, 0]], stats.frequencies[columns, codes[:, :, 1]],
            homozygous, stats.theta, self.exclusion[None, :])
        order = np.argsort(~usable, axis=1, kind="stable")
        identical = np.where(homozygous, _IDENTICAL_HOMOZYGOTE, _IDENTICAL_HETEROZYGOTE)
        return (np.ascontiguousarray(order, np.int64), usable.sum(axis=1).astype(np.int64),
                _log10_table(sibling), _log10_table(parent),
                np.ascontiguousarray(identical, np.int64), homozygous)

    def scan(self, index, query_codes: np.ndarray, threshold: float) -> FamilialResults:
        """Every (query, stored row) with a sibling or parent–child index ≥ ``threshold``
        (hits included: the caller drops them)."""
        query_codes = np.ascontiguousarray(query_codes, np.int16)
        cols, n_visit, log_sibling, log_parent, identical, homozygous = self.tables(query_codes)
        log_threshold = float(np.log10(threshold)) if threshold > 0 else -np.inf
        column = np.arange(query_codes.shape[1])[None, :, None]
        ids = index.lut[column, query_codes.astype(np.int64)].astype(np.int64)
        ids = np.where(ids < 0, kernel.NO_ID, ids)
        ids[:, :, 1] = np.where(homozygous, kernel.NO_ID, ids[:, :, 1])
        ids = np.ascontiguousarray(ids, np.uint8)
        n_rows = -(-index.n_rows // BLOCK) * BLOCK
        size = _INITIAL_RESULTS
        while True:
            out_query, out_row = np.empty(size, np.int64), np.empty(size, np.int64)
            out_logs, out_counts = np.empty((size + 1, 2)), np.empty((size + 1, 3), np.int64)
            found = kernel.familial_scan(index.alleles, index.kinds, n_rows, cols, n_visit, ids,
                                         log_sibling, log_parent, identical, log_threshold, TILE,
                                         out_query, out_row, out_logs, out_counts)
            if found <= size:
                break
            size = 1 << int(found).bit_length()
        results = [out_query[:found], out_row[:found], out_logs[:found], out_counts[:found]]
        if index.escaped:  # profiles outside the id arrays: compare their codes directly
            rows = np.array(sorted(index.escaped), np.int64)
            pair_query = np.repeat(np.arange(len(query_codes), dtype=np.int64), len(rows))
            pair_rows = np.tile(rows, len(query_codes))
            q_codes = query_codes.astype(np.int64)
            q_codes[:, :, 1] = np.where(homozygous, kernel.NO_CODE, q_codes[:, :, 1])
            logs, counts = np.empty((len(pair_rows), 2)), np.empty((len(pair_rows), 3), np.int64)
            kernel.familial_pairs(cols, n_visit, np.ascontiguousarray(q_codes), pair_query,
                                  index.row_codes(pair_rows), log_sibling, log_parent,
                                  identical, logs, counts)
            keep = (logs.max(axis=1) >= log_threshold) & (counts[:, 0] > 0)
            extra = [pair_query[keep], pair_rows[keep], logs[keep], counts[keep]]
            results = [np.concatenate([a, b]) for a, b in zip(results, extra)]
        query, row, logs, counts = results
        return FamilialResults(query, row, logs[:, 0].copy(), logs[:, 1].copy(), counts)


def strongest_non_hits(results: FamilialResults, hit_query: np.ndarray, hit_row: np.ndarray,
                       most: int) -> dict[int, list[int]]:
    """Per query, the positions in ``results`` of its ``most`` strongest candidates (higher of
    the two indices, then index row) that are not among the hits (``hit_query``, ``hit_row``)."""
    hits = set(zip(hit_query.tolist(), hit_row.tolist()))
    best = np.maximum(results.log_sibling, results.log_parent)
    per_query: dict[int, list[int]] = {}
    for i in np.lexsort((results.row, -best)).tolist():
        kept = per_query.setdefault(int(results.query[i]), [])
        if len(kept) < most and (int(results.query[i]), int(results.row[i])) not in hits:
            kept.append(i)
    return per_query


def candidate_fields(results: FamilialResults, i: int) -> dict:
    """The answer fields of candidate ``i`` of ``results`` (indices to 3 significant digits)."""
    counts = results.counts[i]
    return {"sibling_index": significant(10.0 ** results.log_sibling[i]),
            "parent_child_index": significant(10.0 ** results.log_parent[i]),
            "kinship_loci": int(counts[0]), "sharing_loci": int(counts[1]),
            "identical_loci": int(counts[2])}
