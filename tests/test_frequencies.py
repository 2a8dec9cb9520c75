"""Population allele frequency tables: loading, locus mapping, and the reference figures.

The reference figures (average match probabilities, the NRC II 4.10 worked example) are the
ones in ``fixtures/str-frequencies/README.md``; matching them shows the tables are read,
mapped and normalised as their sources intend.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from matcher._fixtures import fixtures_path
from matcher.dna.frequencies import (
    POPULATIONS, frequency_locus, load_population, population_size,
)
from matcher.dna.loci import CODIS20, DEFAULT_TABLE, ESS7, ESS12, canonical_locus

SGM_PLUS = ("D3S1358", "vWA", "D16S539", "D2S1338", "D8S1179", "D21S11", "D18S51",
            "D19S433", "TH01", "FGA")


@pytest.mark.parametrize("population", POPULATIONS)
def test_every_population_loads_and_sums_to_one(population):
    table = load_population(population)
    assert len(table) >= 20
    for locus, (alleles, frequencies) in table.items():
        assert canonical_locus(locus) == locus
        assert all(isinstance(allele, str) for allele in alleles)
        assert len(set(alleles)) == len(alleles) == len(frequencies)
        assert frequencies.dtype == np.float64
        assert np.all(frequencies > 0)
        assert frequencies.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("population", POPULATIONS)
def test_alleles_are_valid_designations(population):
    """Every allele is N or N.d with 2 ≤ N ≤ 98 and 1 ≤ d ≤ R−1 (spec section 2)."""
    for locus, (alleles, _) in load_population(population).items():
        unit = DEFAULT_TABLE.repeat_unit(locus)
        for allele in alleles:
            whole, _, fraction = allele.partition(".")
            assert whole.isdigit() and 2 <= int(whole) <= 98, (population, locus, allele)
            assert fraction == "" or (len(fraction) == 1 and 1 <= int(fraction) <= unit - 1), (
                population, locus, allele)


def test_europe_covers_every_kit_locus():
    europe = load_population()
    assert set(ESS12) | set(CODIS20) | {"SE33", "Penta D", "Penta E"} <= set(europe)
    assert "9.3" in europe["TH01"][0]


def test_nist_maps_its_marker_spellings():
    cauc = load_population("nist-cauc")
    assert {"FES", "F13A1", "F13B", "Penta D", "Penta E", "SE33"} <= set(cauc)
    assert set(ESS12) | set(CODIS20) <= set(cauc)
    assert frequency_locus("FESFPS") == "FES"
    assert frequency_locus("Penta_D") == "Penta D"
    assert frequency_locus("F13A01") == "F13A1"
    assert frequency_locus("D2S1360") is None


def test_unknown_markers_are_skipped_and_the_rest_kept():
    europe = load_population("norstr-europe")
    assert "D2S1360" not in europe and "D3S1744" not in europe
    nist = load_population("nist-all")
    assert not {"LPL", "Penta C", "D6S1043"} & set(nist)


def test_population_sizes():
    assert population_size("norstr-europe") is None
    assert population_size("norstr-africa") is None
    assert [population_size(name) for name in ("nist-cauc", "nist-afam", "nist-hispanic",
                                               "nist-asian", "nist-all")] == [361, 342, 236, 97, 1036]


def test_unknown_population_names_the_choices():
    with pytest.raises(ValueError, match="unknown population 'mars'.*norstr-europe"):
        load_population("mars")
    with pytest.raises(ValueError, match="unknown population"):
        population_size("nist-martian")


def test_cached_tables_cannot_be_changed_through_a_result():
    first = load_population("nist-cauc")
    first.pop("TH01")
    assert "TH01" in load_population("nist-cauc")
    with pytest.raises(ValueError):
        load_population("nist-cauc")["vWA"][1][0] = 0.5
    assert load_population("nist-cauc")["vWA"][1] is load_population("nist-cauc")["vWA"][1]


def _average_match_probability(table, loci) -> float:
    """Σ over genotypes of P(genotype)² under Hardy-Weinberg: 2(Σp²)² − Σp⁴ per locus."""
    product = 1.0
    for locus in loci:
        p = table[locus][1]
        product *= 2 * (p ** 2).sum() ** 2 - (p ** 4).sum()
    return product


@pytest.mark.parametrize(("loci", "nist_cauc", "norstr_europe"), [
    (ESS7, 1.4e-9, 1.0e-9),
    (SGM_PLUS, 2.8e-13, 2.2e-13),
    (ESS12, 5.9e-16, 5.1e-16),
    (CODIS20, 1.8e-24, 1.6e-24),
])
def test_reference_average_match_probabilities(loci, nist_cauc, norstr_europe):
    # The README gives two significant figures.
    assert _average_match_probability(load_population("nist-cauc"), loci) == pytest.approx(nist_cauc, rel=0.04)
    assert _average_match_probability(load_population("norstr-europe"), loci) == pytest.approx(
        norstr_europe, rel=0.05)


def test_reference_worked_example_nrc_ii_4_10():
    """NIST Cauc, θ = 0.01, per-locus conditional match probabilities of the README example."""
    table = load_population("nist-cauc")
    theta = 0.01

    def frequency(locus, allele):
        alleles, frequencies = table[locus]
        return frequencies[alleles.index(allele)]

    def match_probability(locus, a, b):
        pa, pb = frequency(locus, a), frequency(locus, b)
        scale = (1 + theta) * (1 + 2 * theta)
        if a == b:
            return (2 * theta + (1 - theta) * pa) * (3 * theta + (1 - theta) * pa) / scale
        return 2 * (theta + (1 - theta) * pa) * (theta + (1 - theta) * pb) / scale

    expected = [("TH01", "6", "9.3", 0.16586), ("vWA", "16", "17", 0.11801),
                ("FGA", "21", "22", 0.07726), ("D8S1179", "13", "13", 0.11980),
                ("D21S11", "29", "30", 0.11823), ("D3S1358", "15", "16", 0.13370),
                ("D18S51", "14", "14", 0.02421)]
    values = [match_probability(locus, a, b) for locus, a, b, _ in expected]
    for value, (_, _, _, figure) in zip(values, expected):
        assert value == pytest.approx(figure, abs=6e-6)
    assert math.prod(values) == pytest.approx(6.93e-8, rel=1e-3)


def test_fixtures_path_finds_committed_data_and_names_missing_files():
    assert fixtures_path("str-frequencies", "norstr", "LICENSE.md").is_file()
    assert fixtures_path("str-frequencies").is_dir()
    with pytest.raises(FileNotFoundError, match="no-such-file.txt.*fixtures"):
        fixtures_path("str-frequencies", "no-such-file.txt")
