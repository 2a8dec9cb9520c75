"""How strong a DNA hit is: random match probability, likelihood ratio, expected chance hits.

For every hit a search reports three figures (and ``rmp_loci``, the loci ``rmp`` is over):

- ``rmp``: the probability that a random unrelated person of the reference population has
  the same genotype at the loci counted below, by NRC II recommendation 4.10 (National
  Research Council, *The Evaluation of Forensic DNA Evidence*, 1996), which corrects the
  product rule for population substructure with the coancestry coefficient θ.  Per locus,
  for a homozygote ``p,p`` and a heterozygote ``p,q``::

      homozygote:   [2θ + (1−θ)p] [3θ + (1−θ)p] / [(1+θ)(1+2θ)]
      heterozygote: 2 [θ + (1−θ)p] [θ + (1−θ)q] / [(1+θ)(1+2θ)]

  and ``rmp`` is the product over the counted loci (loci are treated as independent).
  With θ = 0 these are the Hardy–Weinberg p² and 2pq.
- ``likelihood_ratio`` = 1 / ``rmp``: how many times more probable the shared genotype is if
  the two profiles come from one person than if they come from two unrelated people.
- ``expected_adventitious`` = profiles searched × ``rmp``: how many chance hits a search of a
  database that size is expected to give.  Near 1 or above, the hit is weak evidence by itself
  (a six-locus hit against millions of profiles); far below 1, it is strong.

Which loci count: the loci at which the query and the stored profile are fully designated
and have *identical* genotypes (both alleles EXACT in the used pairing, spec section 5).  A
locus that matched only through a microvariant-equivalent allele, a wildcard, or that holds
the one allowed mismatch of a NEAR hit contributes probability 1, as does a locus the
population table does not cover (FES, F13A1, F13B, CD4, GABA are not in norSTR).  Every
per-locus probability is at most 1, so leaving a locus out can only raise ``rmp``: the figure
never claims more than the identical loci show, which is the conservative choice a court
expects (the alternative, crediting an uncertain locus with a probability, would need a model
of typing error that the spec does not have).  At the counted loci the two genotypes are the
same; the stored profile's is the one used.

Allele frequencies come from one population table (``matcher.dna.frequencies``, setting
``statistics_population``, default norSTR Europe).  Rare and unseen alleles get at least the
NRC II minimum 5/2N, N the number of people behind the table (setting
``frequency_sample_size`` overrides it).  norSTR does not state N; its files already raise
every rare allele to 0.001, so for them the floor is that 0.001 (5/2N at N = 2,500).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from matcher.dna._query_plan import MAX_CODE
from matcher.dna.alleles import AlleleError, parse_allele
from matcher.dna.frequencies import DEFAULT_POPULATION, load_population, population_size
from matcher.dna.kernels import _CACHE
from matcher.dna.loci import LocusTable

#: NRC II (1996) recommendation 4.10: θ = 0.01 for a general population (0.03 for small,
#: isolated ones).
DEFAULT_THETA = 0.01
#: NRC II: an allele seen fewer than 5 times in a sample of N people gets frequency 5/2N.
MIN_ALLELE_COUNT = 5
#: norSTR's own floor ("frequencies below 0.001 were adjusted to 0.001"), used as the minimum
#: frequency of tables that do not state their sample size.
NORSTR_MINIMUM_FREQUENCY = 0.001
#: Significant digits of the figures in answers: enough for an examiner, and nothing of the
#: genotype beyond what the figure itself says.
ANSWER_DIGITS = 3


def frequency_floor(population: str = DEFAULT_POPULATION, sample_size: int = 0) -> float:
    """Minimum allele frequency: 5/2N with N = ``sample_size`` when positive, else the
    table's stated N, else (norSTR) ``NORSTR_MINIMUM_FREQUENCY``."""
    size = sample_size if sample_size > 0 else population_size(population)
    return MIN_ALLELE_COUNT / (2 * size) if size else NORSTR_MINIMUM_FREQUENCY


@lru_cache(maxsize=16)
def code_frequencies(population: str, loci: tuple[tuple[str, int], ...],
                     floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Allele frequency by (locus column, allele code), and which columns the table covers.

    ``loci`` are the compared loci in column order with their repeat units.  Returns
    ``(frequencies, covered)``: ``frequencies[column, code]`` is the table's frequency raised
    to ``floor`` (``floor`` for an allele the table does not list), read-only; a column the
    table does not cover is all 1 and ``covered`` False there.  Cached per table.
    """
    table = load_population(population)
    frequencies = np.full((len(loci), MAX_CODE + 2), floor, np.float64)
    covered = np.zeros(len(loci), bool)
    for column, (name, unit) in enumerate(loci):
        if name not in table:
            frequencies[column] = 1.0
            continue
        covered[column] = True
        alleles, values = table[name]
        for allele, value in zip(alleles, values):
            try:
                code = parse_allele(allele, unit)
            except AlleleError:  # a configured locus whose unit the table's designations break
                continue
            if code:
                frequencies[column, code] = max(value, floor)
    frequencies[:, 0] = 1.0  # code 0 is the wildcard: never counted, kept harmless
    frequencies.setflags(write=False)
    covered.setflags(write=False)
    return frequencies, covered


def genotype_match_probability(p, q, homozygote, theta: float):
    """NRC II 4.10 conditional match probability of genotypes with allele frequencies
    ``p``, ``q`` (arrays or floats; ``q`` is ignored where ``homozygote``)."""
    scale = (1.0 + theta) * (1.0 + 2.0 * theta)
    same = (2.0 * theta + (1.0 - theta) * p) * (3.0 * theta + (1.0 - theta) * p) / scale
    different = 2.0 * (theta + (1.0 - theta) * p) * (theta + (1.0 - theta) * q) / scale
    return np.where(homozygote, same, different)


def significant(value: float, digits: int = ANSWER_DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits (as JSON shows it)."""
    return float(f"{value:.{digits}g}")


class MatchStatistics:
    """The figures of one home's hits: one population table, θ and frequency floor.

    Cheap to keep: the per-code frequency grid is built once per table and shared, and the
    per-code homozygote and allele factors once per instance (28 x 892 floats each).
    """

    def __init__(self, table: LocusTable, population: str = DEFAULT_POPULATION,
                 theta: float = DEFAULT_THETA, sample_size: int = 0):
        self.population = population
        self.theta = float(theta)
        self.floor = frequency_floor(population, sample_size)
        loci = tuple((name, table.repeat_unit(name)) for name in table.compared)
        self.frequencies, self.covered = code_frequencies(population, loci, self.floor)
        theta, p = self.theta, self.frequencies
        self._covered = self.covered.astype(np.uint8)
        self._homozygote = np.ascontiguousarray(genotype_match_probability(p, p, True, theta))
        scale = (1.0 + theta) * (1.0 + 2.0 * theta)
        self._allele_term = (theta + (1.0 - theta) * p) * np.sqrt(2.0 / scale)

    @classmethod
    def from_settings(cls, settings, table: LocusTable) -> "MatchStatistics":
        """The statistics a home's ``DnaSettings`` ask for."""
        return cls(table, settings.statistics_population, settings.theta,
                   settings.frequency_sample_size)

    def random_match_probability(self, query_codes: np.ndarray,
                                 stored_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per compared pair: (rmp, number of loci counted) over the identical loci.

        ``query_codes`` and ``stored_codes`` are (pairs, columns, 2) sorted code pairs in
        the index's column order (0 = wildcard, (0, 0) = absent).
        """
        stored = np.ascontiguousarray(stored_codes, np.int16)
        rmp = np.empty(len(stored))
        counted = np.empty(len(stored), np.int64)
        _identical_loci_product(np.ascontiguousarray(query_codes, np.int16), stored,
                                self._covered, self._homozygote, self._allele_term, rmp, counted)
        return rmp, counted


@njit("void(int16[:, :, ::1], int16[:, :, ::1], uint8[::1], float64[:, ::1], float64[:, ::1],"
      " float64[::1], int64[::1])", nogil=True, cache=_CACHE)
def _identical_loci_product(query, stored, covered, homozygote, allele_term, rmp, counted):
    """Product of the per-locus match probabilities over the ``covered`` loci where the pairs
    are equal and fully designated: ``homozygote[column, code]``, or the ``allele_term`` of
    both alleles (a heterozygote's 2[θ+(1−θ)p][θ+(1−θ)q]/[(1+θ)(1+2θ)] split into two
    factors).  A numba loop: a few hits cost ~1 µs instead of ~20 µs of small numpy calls."""
    for pair in range(stored.shape[0]):
        product = 1.0
        loci = 0
        for column in range(stored.shape[1]):
            c = stored[pair, column, 0]
            d = stored[pair, column, 1]
            if c == 0 or c != query[pair, column, 0] or d != query[pair, column, 1]:
                continue
            if not covered[column]:
                continue
            if c == d:
                product *= homozygote[column, c]
            else:
                product *= allele_term[column, c] * allele_term[column, d]
            loci += 1
        rmp[pair] = product
        counted[pair] = loci


def hit_figures(rmp: float, loci: int, searched: int) -> dict:
    """The answer fields of one hit: ``rmp``, ``likelihood_ratio`` = 1/rmp and
    ``expected_adventitious`` = ``searched`` × rmp, each to ``ANSWER_DIGITS`` digits, and
    ``rmp_loci``, the number of loci ``rmp`` is taken over."""
    return {"rmp": significant(rmp), "likelihood_ratio": significant(1.0 / rmp),
            "expected_adventitious": significant(searched * rmp), "rmp_loci": int(loci)}
