"""Mendelian inheritance over genotype arrays: duplicates, parent–child pairs, full siblings.

Genotypes are allele-index arrays of shape (people, loci, 2).  Every function works in place
on rows of a chunk's genotype array, so a relative is generated from the very alleles its
stored relative carries.  Loci are inherited independently (no linkage), which holds for the
kit loci: the few syntenic pairs (vWA and D12S391) are too few to matter for synthetic data.
"""

from __future__ import annotations

import numpy as np

from matcher.dna._synth_kits import LocusAlleles, draw_alleles


def transmitted(rng: np.random.Generator, parents: np.ndarray) -> np.ndarray:
    """One allele per locus passed on by each parent: shape (people, loci) from (people, loci, 2)."""
    pick = rng.integers(0, 2, size=parents.shape[:2])
    return np.take_along_axis(parents, pick[..., None], axis=2)[..., 0]


def make_duplicates(anchors: np.ndarray, targets: np.ndarray, genotypes: np.ndarray,
                    male: np.ndarray, y_alleles: np.ndarray) -> None:
    """The same person stored again: targets get the anchors' genotype, sex and Y haplotype."""
    genotypes[targets] = genotypes[anchors]
    male[targets] = male[anchors]
    y_alleles[targets] = y_alleles[anchors]


def make_parent_child(rng: np.random.Generator, anchors: np.ndarray, targets: np.ndarray,
                      genotypes: np.ndarray, male: np.ndarray, y_alleles: np.ndarray) -> None:
    """Targets become a parent or child of the anchors.

    Each target keeps one of its own (population-drawn) alleles per locus and receives one
    allele of the anchor, so the pair shares exactly one allele identical by descent at every
    locus.  Between two males the Y haplotype is shared too (father and son).
    """
    genotypes[targets, :, 0] = transmitted(rng, genotypes[anchors])
    same_line = male[anchors] & male[targets]
    y_alleles[targets[same_line]] = y_alleles[anchors[same_line]]


def make_full_siblings(rng: np.random.Generator, tables: tuple[LocusAlleles, ...],
                       anchors: np.ndarray, targets: np.ndarray, genotypes: np.ndarray,
                       male: np.ndarray, y_alleles: np.ndarray) -> None:
    """Anchors and targets become full siblings: both children of the same two new parents.

    The parents are drawn from the population and never stored; each child receives one
    random allele of each parent per locus.  Brothers share their father's Y haplotype.
    """
    mothers = draw_alleles(rng, tables, len(anchors))
    fathers = draw_alleles(rng, tables, len(anchors))
    for children in (anchors, targets):
        genotypes[children, :, 0] = transmitted(rng, mothers)
        genotypes[children, :, 1] = transmitted(rng, fathers)
    brothers = male[anchors] & male[targets]
    y_alleles[targets[brothers]] = y_alleles[anchors[brothers]]
