"""Writing a chunk of generated genotypes as JSONL-shaped records.

Clean loci are looked up in each locus's precomputed genotype strings, one numpy gather per
kit and locus; the rare special cells (off-ladder alleles, typing errors, mixtures) are then
rewritten one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.dna._synth_kits import (
    DYS391, DYS391_ALLELES, KITS, SYNTH_LOCI, LocusAlleles, allele_text,
)
from matcher.dna.loci import AMELOGENIN

#: Off-ladder alleles as genotyping software writes them; all are wildcards (spec section 2).
#: ``<`` and ``>`` take the lowest and highest integer allele of the locus's ladder.
OFF_LADDER_STYLES = ("OL", "<", ">")
#: Bounds of a valid repeat number N (spec section 2); a typing error never leaves them.
MIN_REPEATS, MAX_REPEATS = 2, 98

_COLUMN = {locus: column for column, locus in enumerate(SYNTH_LOCI)}
_AMELOGENIN_TEXT = np.array(["X,Y", "X,X", "X"], dtype=object)  # man, woman, woman written short
_DYS391_TEXT = np.array(DYS391_ALLELES + (None,), dtype=object)


@dataclass
class Chunk:
    """A chunk's genotypes and typing outcome; cell arrays are (rows, loci[, 2]) over SYNTH_LOCI.

    ``single`` cells are written with one allele, the one in slot ``kept_slot`` (a homozygote
    written short, or allele drop-out).  ``minor`` holds a mixture's second contributor
    (used where ``mixed``); ``shift`` is a typing error in base pairs per allele slot.
    """

    references: list[str]
    kinds: list[str]
    kit_index: np.ndarray
    kit_names: tuple[str, ...]
    genotypes: np.ndarray
    present: np.ndarray
    single: np.ndarray
    kept_slot: np.ndarray
    wildcard: np.ndarray
    microvariant: np.ndarray
    mixed: np.ndarray
    minor: np.ndarray
    shift: np.ndarray
    male: np.ndarray
    short_homozygote: np.ndarray
    y_allele: np.ndarray


def format_loci(chunk: Chunk, tables: tuple[LocusAlleles, ...], rng: np.random.Generator) -> list[dict]:
    """The ``loci`` dict of every row, loci in kit order, allele values as comma-joined text."""
    loci_of_row: list[dict] = [None] * len(chunk.references)  # type: ignore[list-item]
    for kit_number, kit in enumerate(chunk.kit_names):
        rows = np.flatnonzero(chunk.kit_index == kit_number)
        if len(rows) == 0:
            continue
        names = KITS[kit]
        columns = [_locus_column(chunk, tables, rows, name) for name in names]
        for row, values in zip(rows.tolist(), zip(*columns)):
            loci_of_row[row] = {name: value for name, value in zip(names, values) if value is not None}
    special = chunk.present & (chunk.wildcard.any(-1) | chunk.microvariant.any(-1)
                               | chunk.mixed | chunk.shift.any(-1))
    for row, column in np.argwhere(special).tolist():
        loci_of_row[row][SYNTH_LOCI[column]] = _special_text(chunk, tables[column], row, column, rng)
    return loci_of_row


def _locus_column(chunk: Chunk, tables: tuple[LocusAlleles, ...], rows: np.ndarray, name: str) -> list:
    """One locus's text for ``rows`` (None where not reported), by one gather."""
    if name == AMELOGENIN:
        male = chunk.male[rows]
        return _AMELOGENIN_TEXT[np.where(male, 0, 1 + chunk.short_homozygote[rows])].tolist()
    if name == DYS391:
        return _DYS391_TEXT[np.where(chunk.male[rows], chunk.y_allele[rows], len(DYS391_ALLELES))].tolist()
    column = _COLUMN[name]
    table = tables[column]
    k = len(table.alleles)
    first = chunk.genotypes[rows, column, 0].astype(np.int32)
    second = chunk.genotypes[rows, column, 1].astype(np.int32)
    low, high = np.minimum(first, second), np.maximum(first, second)
    kept = np.where(chunk.kept_slot[rows, column] == 1, second, first)
    index = np.where(chunk.single[rows, column], table.single_offset + kept, low * k + high)
    index = np.where(chunk.present[rows, column], index, table.absent_index)
    return table.genotypes[index].tolist()


def _special_text(chunk: Chunk, table: LocusAlleles, row: int, column: int,
                  rng: np.random.Generator) -> str:
    """Text of a cell with an off-ladder allele, a typing error or a mixture."""
    pair = chunk.genotypes[row, column]
    slots = [int(chunk.kept_slot[row, column])] if chunk.single[row, column] else [0, 1]
    values = [_allele_value(chunk, table, row, column, slot, int(pair[slot]), rng) for slot in slots]
    if chunk.mixed[row, column]:
        values += [(int(table.codes[i]), table.alleles[i]) for i in chunk.minor[row, column]]
        values = sorted(set(values))
    else:
        values.sort()
    return ",".join(text for _, text in values)


def _allele_value(chunk: Chunk, table: LocusAlleles, row: int, column: int, slot: int,
                  allele: int, rng: np.random.Generator) -> tuple[int, str]:
    """(sort key, text) of one allele slot; wildcards sort after every designated allele."""
    unit = table.repeat_unit
    code = int(table.codes[allele])
    if chunk.wildcard[row, column, slot]:
        style = OFF_LADDER_STYLES[rng.integers(len(OFF_LADDER_STYLES))]
        whole = [c // unit for c in table.codes.tolist()]
        text = {"OL": "OL", "<": f"<{min(whole)}", ">": f">{max(whole)}"}[style]
        return (1 << 30, text)
    if chunk.microvariant[row, column, slot]:
        return _off_ladder_microvariant(table, code, rng)
    shift = int(chunk.shift[row, column, slot])
    if shift:
        shifted = code + shift if MIN_REPEATS <= (code + shift) // unit <= MAX_REPEATS else code - shift
        return (shifted, allele_text(shifted, unit))
    return (code, table.alleles[allele])


def _off_ladder_microvariant(table: LocusAlleles, code: int, rng: np.random.Generator) -> tuple[int, str]:
    """A valid N.d (1 ≤ d ≤ R−1) beside the drawn allele that the ladder does not hold."""
    unit = table.repeat_unit
    whole = code // unit
    on_ladder = set(table.codes.tolist())
    for fraction in rng.permutation(np.arange(1, unit)).tolist():
        candidate = whole * unit + fraction
        if candidate not in on_ladder:
            return (candidate, allele_text(candidate, unit))
    return (code, allele_text(code, unit))

