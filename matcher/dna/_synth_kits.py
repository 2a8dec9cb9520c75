"""Typing kits, locus behaviour in degraded stains, and allele tables for the generator.

A *kit* is the locus set a laboratory's amplification kit reports; national databases hold a
mix of kits from different years.  An allele table turns a population's frequencies into the
arrays the generator draws from and the strings it writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from matcher.dna.frequencies import load_population
from matcher.dna.loci import AMELOGENIN, CODIS20, DEFAULT_TABLE, ESS12, ESS7

DYS391 = "DYS391"

#: Locus sets of the commercial kits found in European databases; each also reports
#: Amelogenin.  SGM Plus (UK NDNAD 1999–2014), NGM SElect (ESS-12 + 4, the common European
#: kit), GlobalFiler (CODIS-20 + SE33 + DYS391), PowerPlex Fusion (CODIS-20 + Penta D/E + DYS391).
KITS: dict[str, tuple[str, ...]] = {
    "sgm_plus": ("D3S1358", "vWA", "D16S539", "D2S1338", "D8S1179", "D21S11", "D18S51",
                 "D19S433", "TH01", "FGA", AMELOGENIN),
    "ess12": ESS12 + (AMELOGENIN,),
    "ngm_select": ESS12 + ("D16S539", "D2S1338", "D19S433", "SE33", AMELOGENIN),
    "codis20": CODIS20 + (AMELOGENIN,),
    "globalfiler": CODIS20 + ("SE33", DYS391, AMELOGENIN),
    "powerplex_fusion": CODIS20 + ("Penta D", "Penta E", DYS391, AMELOGENIN),
}

#: A European-looking database: legacy SGM Plus profiles, NGM SElect as the bulk of newer
#: uploads, some ESS-12-only kits and a few 24-locus kits.  Weights need not sum to 1.
DEFAULT_KIT_MIX: dict[str, float] = {
    "sgm_plus": 0.25, "ngm_select": 0.45, "ess12": 0.15, "globalfiler": 0.10,
    "powerplex_fusion": 0.05,
}

#: DYS391 is a Y-STR absent from the autosomal frequency tables; a fixed, European-like
#: distribution (allele 10 and 11 dominate) is enough for a stored-but-never-compared marker.
DYS391_ALLELES: tuple[str, ...] = ("9", "10", "11", "12")
DYS391_FREQUENCIES = np.array([0.05, 0.55, 0.38, 0.02])

#: Loci with long amplicons (high molecular weight) that degraded DNA loses first.
DEGRADATION_SENSITIVE_LOCI = frozenset(
    {"FGA", "D18S51", "D2S1338", "Penta E", "SE33", "CSF1PO", "D7S820", "D16S539", "D21S11"}
)
#: Relative chance that degradation removes a locus: long amplicons about 2.5x as likely as
#: short ones, the order of magnitude seen in degraded casework profiles.
LONG_LOCUS_DROP_WEIGHT = 0.9
SHORT_LOCUS_DROP_WEIGHT = 0.35

#: Every autosomal locus any kit reports, in one fixed column order.
SYNTH_LOCI: tuple[str, ...] = tuple(dict.fromkeys(
    locus for loci in KITS.values() for locus in loci if locus not in (AMELOGENIN, DYS391)
))
ESS7_COLUMNS = np.array([locus in ESS7 for locus in SYNTH_LOCI])
DROP_WEIGHTS = np.array([
    LONG_LOCUS_DROP_WEIGHT if locus in DEGRADATION_SENSITIVE_LOCI else SHORT_LOCUS_DROP_WEIGHT
    for locus in SYNTH_LOCI
])


def resolve_kit_mix(kit_mix: dict[str, float] | None) -> tuple[tuple[str, ...], np.ndarray]:
    """Kit names and their probabilities from a kit → weight mapping (None: the default)."""
    kit_mix = DEFAULT_KIT_MIX if kit_mix is None else kit_mix
    unknown = sorted(set(kit_mix) - set(KITS))
    if unknown:
        raise ValueError(f"unknown kit(s) {', '.join(unknown)}; expected some of {', '.join(KITS)}")
    names = tuple(kit_mix)
    weights = np.array([kit_mix[name] for name in names], dtype=np.float64)
    if not names or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError(f"kit_mix needs non-negative weights with a positive sum, got {kit_mix}")
    return names, weights / weights.sum()


def kit_columns(kit: str) -> np.ndarray:
    """Boolean mask over SYNTH_LOCI of the autosomal loci a kit reports."""
    return np.array([locus in KITS[kit] for locus in SYNTH_LOCI])


def allele_code(text: str, repeat_unit: int) -> int:
    """Integer code R*N + d of a designated allele ``N`` or ``N.d`` (spec section 2)."""
    whole, _, fraction = text.partition(".")
    return repeat_unit * int(whole) + (int(fraction) if fraction else 0)


def allele_text(code: int, repeat_unit: int) -> str:
    """The designation ``N`` or ``N.d`` of an allele code."""
    whole, fraction = divmod(code, repeat_unit)
    return f"{whole}.{fraction}" if fraction else str(whole)


@dataclass(frozen=True)
class LocusAlleles:
    """One locus's alleles in ascending code order, ready for drawing and writing.

    ``genotypes`` holds every string the generator writes for a clean locus: index
    ``lo * k + hi`` is ``"lo,hi"`` (lo ≤ hi), ``k * k + i`` is the single allele ``"i"``
    (a homozygote written short, or a heterozygote after drop-out) and ``k * k + k`` is None
    (locus not reported).
    """

    name: str
    repeat_unit: int
    alleles: tuple[str, ...]
    codes: np.ndarray
    cumulative: np.ndarray
    genotypes: np.ndarray

    @property
    def single_offset(self) -> int:
        return len(self.alleles) ** 2

    @property
    def absent_index(self) -> int:
        return len(self.alleles) ** 2 + len(self.alleles)


@lru_cache(maxsize=None)
def allele_tables(population: str) -> tuple[LocusAlleles, ...]:
    """Allele tables of SYNTH_LOCI for a population; ValueError when it lacks a kit locus."""
    frequencies = load_population(population)
    missing = [locus for locus in SYNTH_LOCI if locus not in frequencies]
    if missing:
        raise ValueError(f"population {population!r} has no frequencies for {', '.join(missing)}")
    tables = []
    for locus in SYNTH_LOCI:
        alleles, freqs = frequencies[locus]
        unit = DEFAULT_TABLE.repeat_unit(locus)
        order = np.argsort([allele_code(allele, unit) for allele in alleles], kind="stable")
        alleles = tuple(alleles[i] for i in order)
        k = len(alleles)
        genotypes = np.empty(k * k + k + 1, dtype=object)
        for lo in range(k):
            for hi in range(lo, k):
                genotypes[lo * k + hi] = f"{alleles[lo]},{alleles[hi]}"
            genotypes[k * k + lo] = alleles[lo]
        cumulative = np.cumsum(freqs[order])
        cumulative[-1] = 1.0
        codes = np.array([allele_code(allele, unit) for allele in alleles])
        for shared in (codes, cumulative, genotypes):  # cached: shared by every caller
            shared.setflags(write=False)
        tables.append(LocusAlleles(name=locus, repeat_unit=unit, alleles=alleles, codes=codes,
                                   cumulative=cumulative, genotypes=genotypes))
    return tuple(tables)


def draw_alleles(rng: np.random.Generator, tables: tuple[LocusAlleles, ...], count: int) -> np.ndarray:
    """``count`` unrelated genotypes under Hardy-Weinberg: allele indices, shape (count, loci, 2)."""
    uniform = rng.random((len(tables), count, 2))
    genotypes = np.empty((count, len(tables), 2), dtype=np.int16)
    for column, table in enumerate(tables):
        drawn = np.searchsorted(table.cumulative, uniform[column], side="right")
        # The last cumulative value is exactly 1.0 and draws are below it; the clamp only
        # guards against a table whose rounding left it short.
        genotypes[:, column, :] = np.minimum(drawn, len(table.alleles) - 1)
    return genotypes
