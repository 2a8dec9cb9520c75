"""How typing turns a genotype into a reported profile: lost loci, drop-out, mixtures, errors.

Pure functions over a chunk's boolean cell masks of shape (rows, loci) or (rows, loci, 2),
columns in ``SYNTH_LOCI`` order.  A cell is *designated* when reported with no wildcard and
no mixture (spec section 3): only designated cells count towards the acceptance rules.
"""

from __future__ import annotations

import numpy as np

from matcher.dna._synth_kits import DROP_WEIGHTS, ESS7_COLUMNS

#: Prüm annex: a profile needs at least 6 fully designated loci (spec section 4).
MIN_DESIGNATED_LOCI = 6
#: A stain deliberately below the minimum keeps this many designated loci, drawn uniformly
#: (low enough to be rejected, high enough to look like a real failed typing).
BELOW_MINIMUM_RANGE = (2, MIN_DESIGNATED_LOCI - 1)
#: Per-locus chance that a degraded stain loses one allele of a heterozygote, at full
#: degradation of a long locus; lower for short loci and milder degradation.
ALLELE_DROPOUT_SCALE = 0.3
#: Drop-out takes the larger (longer) allele more often, as degraded DNA does.
LARGER_ALLELE_DROPOUT_SHARE = 0.7
#: Chance that the minor contributor of a mixture shows at a locus (minor drop-out).
MINOR_CONTRIBUTOR_SHOW = 0.5
#: Share of typing errors that shift an allele by a whole repeat (a near match, one
#: mismatch); the rest shift it by one base pair (microvariant-equivalent).
REPEAT_SHIFT_SHARE = 0.5


def off_ladder_cells(rng: np.random.Generator, in_kit: np.ndarray, persons: np.ndarray,
                     rate: float) -> np.ndarray:
    """Alleles drawn at ``rate`` per reported allele, shape (rows, loci, 2).

    A person gets at most one such allele, so an off-ladder wildcard can cost it at most one
    ESS-7 locus and it still satisfies the acceptance rules.
    """
    cells = (rng.random(in_kit.shape + (2,)) < rate) & in_kit[..., None]
    person_cells = cells[persons]
    flat = person_cells.reshape(len(person_cells), in_kit.shape[1] * 2)
    first_only = np.cumsum(flat, axis=1) == 1
    cells[persons] = person_cells & first_only.reshape(person_cells.shape)
    return cells


def person_presence(rng: np.random.Generator, in_kit: np.ndarray, partial: np.ndarray) -> np.ndarray:
    """Reported loci of persons: partial rows lose one or two non-ESS-7 loci (failed locus)."""
    present = in_kit.copy()
    rows = np.flatnonzero(partial)
    if len(rows):
        eligible = in_kit[rows] & ~ESS7_COLUMNS
        keys = np.where(eligible, rng.random(eligible.shape), -1.0)
        lost = rng.integers(1, 3, size=len(rows))
        ranks = np.argsort(np.argsort(-keys, axis=1), axis=1)
        present[rows] &= ~((ranks < lost[:, None]) & eligible)
    return present


def stain_presence(rng: np.random.Generator, in_kit: np.ndarray, defect: np.ndarray,
                   degradation: np.ndarray, required: np.ndarray, below: np.ndarray) -> np.ndarray:
    """Reported loci of stains after degradation, shape (rows, loci).

    A locus is lost when its survival draw falls below ``degradation`` (0 = intact, 1 =
    heavily degraded) times its drop weight, so long loci go first.  Each row then keeps at
    least ``required`` designated loci (the most robust ones); rows flagged ``below`` keep
    exactly ``required`` designated loci (fewer than the minimum) and only defect cells beside.
    """
    survival = rng.random(in_kit.shape)
    robustness = survival / DROP_WEIGHTS
    survives = robustness >= degradation[:, None]
    candidates = in_kit & ~defect
    scores = np.where(candidates, robustness, -np.inf)
    ordered = -np.sort(-scores, axis=1)
    kth = ordered[np.arange(len(ordered)), np.minimum(required, scores.shape[1]) - 1]
    forced = candidates & (scores >= kth[:, None])
    present = in_kit & (survives | forced)
    present[below] = forced[below] | (defect[below] & in_kit[below] & survives[below])
    return present


def allele_dropout(rng: np.random.Generator, genotypes: np.ndarray, eligible: np.ndarray,
                   degradation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heterozygotes reported with one allele: (dropped cells, slot 0/1 of the allele kept)."""
    heterozygous = genotypes[..., 0] != genotypes[..., 1]
    chance = degradation[:, None] * DROP_WEIGHTS * ALLELE_DROPOUT_SCALE
    dropped = eligible & heterozygous & (rng.random(eligible.shape) < chance)
    slot_of_larger = (genotypes[..., 1] > genotypes[..., 0]).astype(np.int8)
    larger_lost = rng.random(eligible.shape) < LARGER_ALLELE_DROPOUT_SHARE
    kept_slot = np.where(larger_lost, 1 - slot_of_larger, slot_of_larger).astype(np.int8)
    return dropped, kept_slot


def mixture_cells(rng: np.random.Generator, genotypes: np.ndarray, minor: np.ndarray,
                  in_kit: np.ndarray) -> np.ndarray:
    """Cells where a minor contributor adds alleles, giving three or four distinct alleles."""
    shows = in_kit & (rng.random(in_kit.shape) < MINOR_CONTRIBUTOR_SHOW)
    alleles = np.sort(np.concatenate([genotypes, minor], axis=-1), axis=-1)
    distinct = 1 + np.count_nonzero(np.diff(alleles, axis=-1), axis=-1)
    return shows & (distinct > 2)


def typing_errors(rng: np.random.Generator, shape: tuple[int, int], rows: np.ndarray,
                  eligible: np.ndarray, repeat_units: np.ndarray) -> np.ndarray:
    """Base-pair shifts per allele slot, shape ``shape + (2,)``: one shifted allele in each of
    ``rows`` at a random cell where ``eligible`` (one mask row per entry of ``rows``) holds.

    The shift is ± one repeat unit or ± one base pair.
    """
    delta = np.zeros(shape + (2,), dtype=np.int16)
    possible = eligible.any(axis=1)
    rows, eligible = rows[possible], eligible[possible]
    if len(rows):
        column = np.argmax(np.where(eligible, rng.random(eligible.shape), -1.0), axis=1)
        slot = rng.integers(0, 2, size=len(rows))
        size = np.where(rng.random(len(rows)) < REPEAT_SHIFT_SHARE, repeat_units[column], 1)
        sign = np.where(rng.random(len(rows)) < 0.5, -1, 1)
        delta[rows, column, slot] = size * sign
    return delta
