"""One chunk of a synthetic DNA database: who is stored, how they are related, how typed.

A chunk is generated as arrays (genotypes, kits, cell masks) and written as records at the
end.  Duplicates, relatives and stains of stored persons are paired inside one chunk, so
memory stays bounded by the chunk size whatever the database size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.dna._synth_family import make_duplicates, make_full_siblings, make_parent_child
from matcher.dna._synth_format import Chunk, format_loci
from matcher.dna._synth_kits import DYS391_FREQUENCIES, LocusAlleles, draw_alleles, kit_columns
from matcher.dna._synth_stains import (
    BELOW_MINIMUM_RANGE, MIN_DESIGNATED_LOCI, allele_dropout, mixture_cells, off_ladder_cells,
    person_presence, stain_presence, typing_errors,
)

#: Relations a record can have with another record of the same chunk (truth output).
NONE, DUPLICATE, PARENT_CHILD, SIBLING, SOURCE = range(5)
RELATION_NAMES = ("none", "duplicate", "parent_child", "sibling", "source")


@dataclass(frozen=True)
class SynthParameters:
    """What a generated database looks like; every fraction is a probability in [0, 1].

    See ``matcher.dna.synth.generate_database`` for the meaning of each field.
    """

    prefix: str = "NL"
    #: European national databases hold roughly 10–25 % crime-scene stains.
    stain_fraction: float = 0.2
    #: Persons sampled twice (new arrest, new reference) before the duplicate was noticed.
    duplicate_fraction: float = 0.01
    #: Relatives of stored persons: families share offending, so they are over-represented.
    relative_fraction: float = 0.02
    sibling_share: float = 0.5
    #: Reference profiles with a failed locus the laboratory never re-ran.
    partial_fraction: float = 0.05
    #: Stains whose donor is on file (the database's "hit rate" against its own persons).
    planted_stain_fraction: float = 0.3
    degraded_stain_fraction: float = 0.6
    #: Most mixtures are resolved or not uploaded; a few partly resolved ones get through.
    mixture_fraction: float = 0.03
    below_minimum_fraction: float = 0.0
    typing_error_fraction: float = 0.05
    #: About 1 in 2,000 alleles falls outside the allelic ladder and is called off-ladder.
    off_ladder_rate: float = 0.0005
    off_ladder_microvariant_rate: float = 0.0002
    #: Police DNA databases hold about four men for each woman.
    male_fraction: float = 0.8
    #: Laboratories differ in writing a homozygote as "13" or "13,13"; both must be read.
    short_homozygote_share: float = 0.5
    truth: bool = False

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if name not in ("prefix", "truth") and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")


def generate_chunk(rng: np.random.Generator, params: SynthParameters, tables: tuple[LocusAlleles, ...],
                   kits: tuple[tuple[str, ...], np.ndarray], first_number: int, size: int) -> list[dict]:
    """Records numbered ``first_number`` … ``first_number + size - 1``, in that order."""
    kit_names, kit_probabilities = kits
    stain = rng.random(size) < params.stain_fraction
    male = rng.random(size) < params.male_fraction
    genotypes = draw_alleles(rng, tables, size)
    y_allele = rng.choice(len(DYS391_FREQUENCIES), size=size, p=DYS391_FREQUENCIES)
    relation = np.full(size, NONE, dtype=np.int8)
    related = np.full(size, -1, dtype=np.int64)
    _relate_persons(rng, params, tables, stain, genotypes, male, y_allele, relation, related)
    _plant_stains(rng, params, stain, genotypes, male, y_allele, relation, related)

    kit_index = rng.choice(len(kit_names), size=size, p=kit_probabilities)
    in_kit = np.stack([kit_columns(kit) for kit in kit_names])[kit_index]
    wildcard = off_ladder_cells(rng, in_kit, ~stain, params.off_ladder_rate)
    microvariant = ((rng.random(wildcard.shape) < params.off_ladder_microvariant_rate)
                    & in_kit[..., None] & ~wildcard)
    minor = np.zeros_like(genotypes)
    mixed = np.zeros(in_kit.shape, dtype=bool)
    mixture_rows = np.flatnonzero(stain & (rng.random(size) < params.mixture_fraction))
    minor[mixture_rows] = draw_alleles(rng, tables, len(mixture_rows))
    mixed[mixture_rows] = mixture_cells(rng, genotypes[mixture_rows], minor[mixture_rows], in_kit[mixture_rows])

    below = stain & (rng.random(size) < params.below_minimum_fraction)
    degradation = np.where(stain & (rng.random(size) < params.degraded_stain_fraction), rng.random(size), 0.0)
    defect = wildcard.any(axis=-1) | mixed
    # A stain meant to be accepted but too defective to reach the minimum loses its defects.
    hopeless = stain & ~below & ((in_kit & ~defect).sum(axis=1) < MIN_DESIGNATED_LOCI)
    wildcard[hopeless] = False
    mixed[hopeless] = False
    defect[hopeless] = False

    present = np.zeros_like(in_kit)
    stains, persons = np.flatnonzero(stain), np.flatnonzero(~stain)
    required = np.where(below, rng.integers(BELOW_MINIMUM_RANGE[0], BELOW_MINIMUM_RANGE[1] + 1, size=size),
                        MIN_DESIGNATED_LOCI)
    present[stains] = stain_presence(rng, in_kit[stains], defect[stains], degradation[stains],
                                     required[stains], below[stains])
    partial = rng.random(len(persons)) < params.partial_fraction
    present[persons] = person_presence(rng, in_kit[persons], partial)

    dropped, kept_slot = allele_dropout(rng, genotypes, present & ~defect & stain[:, None], degradation)
    erroneous = np.flatnonzero((relation == SOURCE) & (rng.random(size) < params.typing_error_fraction))
    repeat_units = np.array([table.repeat_unit for table in tables])
    # The error sits at a locus the source's stored record reports cleanly too, so that it
    # shows in the comparison (a near or microvariant match) instead of hiding.
    comparable = present & ~defect
    eligible = comparable[erroneous] & ~dropped[erroneous] & comparable[related[erroneous]]
    shift = typing_errors(rng, in_kit.shape, erroneous, eligible, repeat_units)
    short_homozygote = rng.random(size) < params.short_homozygote_share
    # A homozygote is written as one allele only when both slots carry the same text.
    same_text = ((genotypes[..., 0] == genotypes[..., 1])
                 & ~(wildcard | microvariant | (shift != 0)).any(axis=-1))

    references = [f"{params.prefix}-{'S' if is_stain else 'P'}-{number:08d}"
                  for number, is_stain in zip(range(first_number, first_number + size), stain.tolist())]
    chunk = Chunk(
        references=references, kinds=["stain" if s else "person" for s in stain.tolist()],
        kit_index=kit_index, kit_names=kit_names, genotypes=genotypes, present=present,
        single=dropped | (same_text & short_homozygote[:, None]),
        kept_slot=np.where(dropped, kept_slot, 0).astype(np.int8), wildcard=wildcard,
        microvariant=microvariant, mixed=mixed, minor=minor, shift=shift, male=male,
        short_homozygote=short_homozygote.astype(np.int8), y_allele=y_allele,
    )
    loci = format_loci(chunk, tables, rng)
    records = [{"reference": reference, "kind": kind, "loci": profile}
               for reference, kind, profile in zip(references, chunk.kinds, loci)]
    if params.truth:
        _add_truth(records, references, relation, related, mixed & present, below, shift,
                   [kit_names[i] for i in kit_index.tolist()])
    return records


def _relate_persons(rng, params, tables, stain, genotypes, male, y_allele, relation, related) -> None:
    """Turn some person rows into duplicates, parents/children or full siblings of others."""
    persons = rng.permutation(np.flatnonzero(~stain))
    duplicates = rng.binomial(len(persons), params.duplicate_fraction)
    relatives = rng.binomial(len(persons), params.relative_fraction)
    pairs = min(duplicates + relatives, len(persons) // 2)
    duplicates = min(duplicates, pairs)
    anchors, targets = persons[:pairs], persons[pairs:2 * pairs]
    siblings = np.zeros(pairs, dtype=bool)
    siblings[duplicates:] = rng.random(pairs - duplicates) < params.sibling_share
    parent_child = np.arange(pairs) >= duplicates
    parent_child &= ~siblings
    make_full_siblings(rng, tables, anchors[siblings], targets[siblings], genotypes, male, y_allele)
    make_parent_child(rng, anchors[parent_child], targets[parent_child], genotypes, male, y_allele)
    make_duplicates(anchors[:duplicates], targets[:duplicates], genotypes, male, y_allele)
    relation[targets[:duplicates]] = DUPLICATE
    relation[targets[siblings]] = SIBLING
    relation[targets[parent_child]] = PARENT_CHILD
    related[targets] = anchors


def _plant_stains(rng, params, stain, genotypes, male, y_allele, relation, related) -> None:
    """Make some stains come from stored persons of the chunk (the source's DNA, retyped)."""
    stains, persons = np.flatnonzero(stain), np.flatnonzero(~stain)
    if len(persons) == 0:
        return
    planted = stains[rng.random(len(stains)) < params.planted_stain_fraction]
    donors = rng.choice(persons, size=len(planted))
    genotypes[planted] = genotypes[donors]
    male[planted] = male[donors]
    y_allele[planted] = y_allele[donors]
    relation[planted] = SOURCE
    related[planted] = donors


def _add_truth(records, references, relation, related, mixed, below, shift, kits) -> None:
    """Attach the generator's ground truth to each record under ``truth``."""
    has_mixture = mixed.any(axis=1).tolist()
    has_error = shift.any(axis=(1, 2)).tolist()
    for row, record in enumerate(records):
        truth: dict = {"relation": RELATION_NAMES[relation[row]], "kit": kits[row]}
        if related[row] >= 0:
            truth["of"] = references[related[row]]
        if has_mixture[row]:
            truth["mixture"] = True
        if below[row]:
            truth["below_minimum"] = True
        if has_error[row]:
            truth["typing_error"] = True
        record["truth"] = truth
