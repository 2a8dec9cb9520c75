"""One query profile derived from a stored person record: retyped stains and relatives.

Works on records as written (allele text, any locus spelling), so it also accepts a database
read back from JSONL.
"""

from __future__ import annotations

import numpy as np

from matcher.dna._synth_kits import (
    DEGRADATION_SENSITIVE_LOCI, DYS391, DYS391_ALLELES, DYS391_FREQUENCIES, LONG_LOCUS_DROP_WEIGHT,
    SHORT_LOCUS_DROP_WEIGHT, allele_code, allele_text,
)
from matcher.dna._synth_format import MAX_REPEATS, MIN_REPEATS
from matcher.dna._synth_stains import BELOW_MINIMUM_RANGE, MIN_DESIGNATED_LOCI, REPEAT_SHIFT_SHARE
from matcher.dna.frequencies import load_population
from matcher.dna.loci import AMELOGENIN, DEFAULT_TABLE, canonical_locus

#: Chance that a retyped stain of a stored person loses one allele of a heterozygous locus.
QUERY_ALLELE_DROPOUT = 0.15
#: Identity-by-descent probabilities of full siblings at a locus: 0, 1 or 2 shared alleles.
SIBLING_IBD = np.array([0.25, 0.5, 0.25])


def derived_query(rng: np.random.Generator, relation: str, stored: dict, population: str,
                  male_fraction: float) -> dict[str, str]:
    """The loci of one query related to a stored person record in the given way."""
    loci = {name: _alleles(value) for name, value in stored["loci"].items()}
    if relation == "exact":
        return {name: ",".join(alleles) for name, alleles in loci.items()}
    if relation == "dropout":
        return _retyped_with_dropout(rng, loci)
    if relation == "typing_error":
        return _with_typing_error(rng, loci)
    return _relative(rng, loci, population, sibling=relation == "sibling", male_fraction=male_fraction)


def cut_below_minimum(rng: np.random.Generator, loci: dict[str, str]) -> dict[str, str]:
    """Keep only 2–5 designated loci (plus undesignated ones): a query the rules reject."""
    designated = [name for name, value in loci.items() if _designated(name, _alleles(value))]
    keep = rng.integers(BELOW_MINIMUM_RANGE[0], BELOW_MINIMUM_RANGE[1] + 1)
    dropped = set(rng.permutation(designated)[keep:].tolist()) if len(designated) > keep else set()
    return {name: value for name, value in loci.items() if name not in dropped}


def _alleles(value) -> list[str]:
    parts = value.split(",") if isinstance(value, str) else list(value)
    return [part.strip() for part in parts if part.strip()]


def _unit(name: str) -> int:
    return DEFAULT_TABLE.repeat_unit(canonical_locus(name) or name)


def _code(text: str, unit: int) -> int | None:
    """Code of a designated allele, or None for a wildcard (spec section 2)."""
    whole, _, fraction = text.partition(".")
    if not (text.isascii() and whole.isdigit() and (fraction == "" or fraction.isdigit())):
        return None
    if not fraction and int(whole) in (0, 1, 99):
        return None
    return allele_code(text, unit)


def _compared(name: str) -> bool:
    return canonical_locus(name) not in (AMELOGENIN, DYS391)


def _designated(name: str, alleles: list[str]) -> bool:
    unit = _unit(name)
    return _compared(name) and 1 <= len(alleles) <= 2 and all(_code(a, unit) is not None for a in alleles)


def _retyped_with_dropout(rng: np.random.Generator, loci: dict[str, list[str]]) -> dict[str, str]:
    """Lose some loci (long ones first) and some alleles, keeping at least 6 designated loci."""
    designated = [name for name, alleles in loci.items() if _designated(name, alleles)]
    spare = len(designated) - MIN_DESIGNATED_LOCI
    lost: set[str] = set()
    if spare > 0:
        weights = np.array([LONG_LOCUS_DROP_WEIGHT if canonical_locus(n) in DEGRADATION_SENSITIVE_LOCI
                            else SHORT_LOCUS_DROP_WEIGHT for n in designated])
        lost = set(rng.choice(designated, size=rng.integers(0, spare + 1), replace=False,
                              p=weights / weights.sum()).tolist())
    result = {name: list(alleles) for name, alleles in loci.items() if name not in lost}
    heterozygous = [n for n in designated if n not in lost and len(set(result[n])) == 2]
    dropouts = [n for n in heterozygous if rng.random() < QUERY_ALLELE_DROPOUT]
    if not lost and not dropouts and heterozygous:
        dropouts = [heterozygous[rng.integers(len(heterozygous))]]
    for name in dropouts:
        result[name] = [result[name][rng.integers(2)]]
    return {name: ",".join(alleles) for name, alleles in result.items()}


def _with_typing_error(rng: np.random.Generator, loci: dict[str, list[str]]) -> dict[str, str]:
    """Shift one allele of one designated locus by ± one repeat or ± one base pair."""
    result = {name: list(alleles) for name, alleles in loci.items()}
    designated = [name for name, alleles in loci.items() if _designated(name, alleles)]
    if designated:
        name = designated[rng.integers(len(designated))]
        alleles = result[name] * 2 if len(result[name]) == 1 else result[name]
        unit = _unit(name)
        slot = int(rng.integers(2))
        step = (unit if rng.random() < REPEAT_SHIFT_SHARE else 1) * (1 if rng.random() < 0.5 else -1)
        code = allele_code(alleles[slot], unit)
        shifted = code + step if MIN_REPEATS <= (code + step) // unit <= MAX_REPEATS else code - step
        alleles[slot] = allele_text(shifted, unit)
        result[name] = sorted(alleles, key=lambda text: allele_code(text, unit))
    return {name: ",".join(alleles) for name, alleles in result.items()}


def _relative(rng: np.random.Generator, loci: dict[str, list[str]], population: str, *,
              sibling: bool, male_fraction: float) -> dict[str, str]:
    """A parent/child or full sibling of the stored person, at the loci it was typed at.

    Parent–child shares exactly one allele identical by descent per locus; siblings share
    0, 1 or 2 with probabilities 1/4, 1/2, 1/4.  Unshared alleles come from the population.
    """
    frequencies = load_population(population)
    stored_male = any("Y" in a.upper() for a in loci.get(AMELOGENIN, []))
    male = rng.random() < male_fraction
    result: dict[str, str] = {}
    for name, alleles in loci.items():
        locus = canonical_locus(name)
        if locus == AMELOGENIN:
            result[name] = "X,Y" if male else "X,X"
        elif locus == DYS391:
            if male:
                inherited = stored_male and alleles
                result[name] = alleles[0] if inherited else DYS391_ALLELES[
                    rng.choice(len(DYS391_ALLELES), p=DYS391_FREQUENCIES)]
        elif locus in frequencies:
            table_alleles, table_frequencies = frequencies[locus]
            unit = _unit(name)
            # The stored person's two alleles; a wildcard or a mixture hides which allele it
            # is, so an allele inherited from such a slot is drawn from the population.
            slots = alleles * 2 if len(alleles) == 1 else alleles if len(alleles) == 2 else ["*", "*"]
            shared = int(rng.choice(3, p=SIBLING_IBD)) if sibling else 1
            chosen = [slots[i] for i in rng.permutation(2)[:shared].tolist()]
            chosen += ["*"] * (2 - shared)
            chosen = [a if _code(a, unit) is not None
                      else table_alleles[rng.choice(len(table_alleles), p=table_frequencies)]
                      for a in chosen]
            result[name] = ",".join(sorted(chosen, key=lambda text: allele_code(text, unit)))
    return result
